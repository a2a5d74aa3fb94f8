#pragma once
// Moving the working tree and the index from one tree to another (checkout, merge): which files
// change, whether local changes would be lost, then removing and writing them.
#include "coral/core/progress.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "index.hpp"

#include <string>
#include <vector>

namespace coral::vcs {

struct TreeSwitch {
  Index next;                               // the index after the switch (stats filled in by apply)
  std::vector<const FileEntry*> to_write;   // into the target tree, which must outlive this
  std::vector<std::string> to_remove;       // tracked files the target does not have
  std::vector<std::string> untracked_to_remove;  // --force: untracked files in the way
};

// Plans the move from `current` (HEAD's tree) to `target`. Without `force`, throws ConflictError
// ("VERB would overwrite local changes in ...") when a file that changes has staged or unstaged
// changes, or when untracked files are in the way. Writes nothing.
TreeSwitch plan_switch(Repository& repo, const Index& index, const Tree& current, const Tree& target, bool force,
                       core::ThreadPool& pool, const std::string& verb);

// Removes and writes the planned files, then saves the new index (the caller holds its lock).
CheckoutResult apply_switch(Repository& repo, TreeSwitch& plan, core::ThreadPool& pool,
                            const core::ProgressFn& progress);

}  // namespace coral::vcs
