#pragma once
// What a repository's roots keep alive (gc and prune): every commit reachable from a branch, a
// tag or HEAD, their trees and annotated tag objects, and the data objects named by the trees of
// commits that are not pruned and by the staging index. DESIGN.md §8.

#include "coral/core/dtype.hpp"
#include "coral/core/object_id.hpp"
#include "coral/vcs/repository.hpp"

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace coral::vcs {

struct Reachable {
  std::set<core::ObjectId> commits;   // pruned ones included
  std::set<core::ObjectId> metadata;  // loose objects to keep: those commits, their trees, tag objects
  // Data objects (skeletons, whole files, tensors) with the dtype a tree gives them (u8 for
  // skeletons and whole files unless some tensor has the same bytes; the first tensor dtype met
  // when trees disagree).
  std::unordered_map<core::ObjectId, core::DType, core::ObjectIdHash> data;
  // Why the walk is incomplete: a root, commit, tree or the index that could not be read. gc
  // deletes nothing while this is not empty.
  std::vector<std::string> errors;
};

// Never throws for damage: it is listed in `errors`.
Reachable find_reachable(Repository& repo);

}  // namespace coral::vcs
