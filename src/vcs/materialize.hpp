#pragma once
// Writing tracked files back into the working tree: skeleton pieces and tensors at their offsets,
// every object decoded in pieces and verified against its id, written to a temp file in the
// target directory and renamed over the final name only when all of it verified (a reader never
// sees a half-written or wrong file).

#include "coral/core/progress.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/repository.hpp"
#include "index.hpp"

#include <vector>

namespace coral::vcs {

// Writes the files and returns their new stats, by index. The skeleton and every tensor of every
// file are separate tasks on the pool, each writing its own byte range with pwrite, so one big
// file uses every core; memory does not grow with tensor size. The caller has checked that
// overwriting is allowed. Throws CorruptError when an object is missing or does not verify; files
// already renamed stay, the others keep their old content. `root` replaces the working tree as
// the directory written into (merge's soup evaluates candidates in a scratch directory).
std::vector<StatInfo> materialize_files(Repository& repo, const std::vector<const FileEntry*>& files,
                                        core::ThreadPool& pool, const core::ProgressFn& progress,
                                        const std::filesystem::path& root = {});

}  // namespace coral::vcs
