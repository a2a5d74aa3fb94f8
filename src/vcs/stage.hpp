#pragma once
// Internal entry points shared by verbs (commit -a stages through the same code as add), for
// callers that already hold the write and index locks.

#include "coral/vcs/operations.hpp"
#include "index.hpp"

namespace coral::vcs {

AddResult add_locked(Repository& repo, Index& index, const AddOptions& options, const core::ProgressFn& progress);

// Paths that differ between two trees (added, modified or deleted going from `from` to `to`),
// sorted by path.
std::vector<std::pair<std::string, Change>> tree_changes(const Tree& from, const Tree& to);

// The tree of a commit, or an empty tree for an unborn HEAD.
Tree head_tree(Repository& repo, const Head& head);

// Minutes east of UTC in the local time zone at time `t` (a commit's "tz").
std::int32_t local_tz_offset_minutes(std::int64_t t);

}  // namespace coral::vcs
