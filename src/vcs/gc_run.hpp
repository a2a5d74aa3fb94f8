#pragma once
// gc without taking the gc lock: for prune --gc, which holds it already (flock locks of one
// process on two descriptors would conflict).

#include "coral/vcs/maintenance.hpp"

namespace coral::vcs {

GcResult run_gc_locked(Repository& repo, const GcOptions& options, const core::ProgressFn& progress);

}  // namespace coral::vcs
