#pragma once
// Writing a tracked file back into the working tree: skeleton pieces and tensors concatenated in
// offset order, every object decoded and verified against its id, written to a temp file in the
// target directory and renamed over the final name (a reader never sees a half-written file).

#include "coral/vcs/repository.hpp"
#include "index.hpp"

namespace coral::vcs {

// Writes `entry` at its path and returns the stat of the new file. Objects are decoded in pieces
// straight into the temp file (memory does not grow with tensor size) and verified against their
// ids; on any error the temp file is removed and the old file, if any, stays. The caller has
// checked that overwriting is allowed. Thread-safe for different entries.
StatInfo materialize_file(Repository& repo, const FileEntry& entry);

}  // namespace coral::vcs
