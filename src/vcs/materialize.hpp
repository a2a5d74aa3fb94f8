#pragma once
// Writing a tracked file back into the working tree: skeleton pieces and tensors concatenated in
// offset order, every object decoded and verified against its id, written to a temp file in the
// target directory and renamed over the final name (a reader never sees a half-written file).

#include "coral/core/thread_pool.hpp"
#include "coral/vcs/repository.hpp"
#include "index.hpp"

namespace coral::vcs {

// Writes `entry` at its path and returns the stat of the new file. The caller has checked that
// overwriting is allowed. Throws CorruptError when an object is missing or does not verify.
StatInfo materialize_file(Repository& repo, const FileEntry& entry, core::ThreadPool& pool);

}  // namespace coral::vcs
