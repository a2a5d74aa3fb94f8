#pragma once
// The pruned marker (docs/format.md "Pruned commits"): .coral/pruned lists the commits whose data
// `coral prune` dropped. Commits are content-addressed and cannot change, so the mark lives
// beside them; ObjectDb::read_commit sets Commit::pruned from it. Grammar:
//
//   pruned = "coral-pruned 1\n" (id "\n")*      ids: 32 lowercase hex digits, sorted, unique
//
// Written whole through AtomicFile, under the exclusive gc lock; a missing file lists nothing.

#include "coral/core/object_id.hpp"
#include "coral/storage/layout.hpp"

#include <set>

namespace coral::vcs {

// Throws CorruptError naming the file and line for anything but the grammar above.
std::set<core::ObjectId> read_pruned(const storage::Layout& layout);
void write_pruned(const storage::Layout& layout, const std::set<core::ObjectId>& ids);

}  // namespace coral::vcs
