#pragma once
// Checksums that a file's skeleton keeps over its own tensors (an .npz member's CRC-32,
// core::layout_checksums): two sides that changed different tensors of one .npz differ in those
// checksums only, and a file merged tensor by tensor needs them recomputed.
#include "coral/core/object_id.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/object_db.hpp"
#include "coral/vcs/objects.hpp"

#include <map>
#include <string>

namespace coral::vcs {

// The skeleton's id, or for a format with checksums the hash of the skeleton with them zeroed:
// equal keys mean equal layouts whatever the tensors hold. Caches by skeleton id.
class LayoutKeys {
public:
  explicit LayoutKeys(const ObjectDb& db) : m_db(db) {}
  core::ObjectId key(const FileEntry& file);
  // A safetensors file's "__metadata__" as canonical JSON, "" when it has none.
  std::string metadata(const FileEntry& file);

private:
  const ObjectDb& m_db;
  std::map<core::ObjectId, core::ObjectId> m_keys;
  std::map<core::ObjectId, std::string> m_metadata;
};

// The file's skeleton with its checksums computed from the file's tensors (read from `db`),
// stored through `writer` when new; returns its id (the same id when nothing changed).
core::ObjectId refresh_checksums(const ObjectDb& db, DataWriter& writer, const FileEntry& file,
                                 core::ThreadPool& pool);

}  // namespace coral::vcs
