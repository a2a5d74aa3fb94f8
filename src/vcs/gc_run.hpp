#pragma once
// gc without taking the gc lock: for prune --gc, which holds it already (flock locks of one
// process on two descriptors would conflict).

#include "coral/vcs/maintenance.hpp"
#include "gc_plan.hpp"
#include "reachability.hpp"

#include <vector>

namespace coral::vcs {

// gc's view of a repository, shared by gc and stats: what the roots keep alive, the plan over
// every pack record, and the loose metadata objects nothing reaches. Throws nothing for damage
// (reach.errors, plan.missing): the caller decides.
struct GcSurvey {
  Reachable reach;
  GcPlanned plan;
  std::vector<core::ObjectId> dead_metadata;
  std::uint64_t metadata_bytes = 0, dead_metadata_bytes = 0;
};
GcSurvey survey_for_gc(Repository& repo, bool repack);

GcResult run_gc_locked(Repository& repo, const GcOptions& options, const core::ProgressFn& progress);

}  // namespace coral::vcs
