#pragma once
// Reading a working-tree file into a FileEntry: parse its layout (skeleton + tensor extents),
// hash every piece, and (when a DataWriter is given) store the pieces that are new.

#include "coral/core/file_layout.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/object_db.hpp"
#include "index.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace coral::vcs {

// A file mapped and validated, not yet hashed (pass 1 of add: validate everything first).
struct ParsedFile {
  std::string path;  // repository path
  std::filesystem::path abs;
  StatInfo stat;
  std::unique_ptr<core::fs::MappedFile> map;
  core::FileLayout layout;
};

// Throws InvalidInputError (exit 7) when the file claims a format and fails validation,
// NotFoundError when it vanished.
ParsedFile parse_worktree_file(const std::filesystem::path& worktree, const std::string& repo_path);

class BaseSelector;

// What a file being stored may be delta-encoded against.
struct StoreContext {
  DataWriter* writer = nullptr;          // null: hash only
  BaseSelector* bases = nullptr;         // null: no deltas
  const FileEntry* previous = nullptr;   // the index's entry for the same path, if any
};

// Hashes (and stores, when ctx.writer is set) the skeleton and tensors on the pool. Objects up
// to a few chunks are read into private buffers, one per task; bigger ones are hashed in place
// and then encoded chunk by chunk on every thread. Throws IoError when the file changed while it
// was being read.
FileEntry hash_file(ParsedFile& file, core::ThreadPool& pool, const StoreContext& ctx = {});

// Reads one extent's bytes from a parsed file (diff of the working tree).
std::span<const std::byte> extent_bytes(const ParsedFile& file, const TensorEntry& t);

}  // namespace coral::vcs
