#pragma once
// Merge bases (git's merge-base): the best common ancestors of several commits, i.e. the common
// ancestors that are not ancestors of another common ancestor. A criss-cross history has several;
// merge() uses the first of the list, which is ordered newest commit time first, then by id.
#include "coral/core/object_id.hpp"
#include "coral/vcs/object_db.hpp"

#include <span>
#include <vector>

namespace coral::vcs {

// The best common ancestors of all `heads` (a commit counts as its own ancestor), ordered as
// above; empty when the histories are unrelated.
std::vector<core::ObjectId> merge_bases(const ObjectDb& db, std::span<const core::ObjectId> heads);

// Is `ancestor` reachable from `descendant` (or equal to it)?
bool is_ancestor(const ObjectDb& db, const core::ObjectId& ancestor, const core::ObjectId& descendant);

}  // namespace coral::vcs
