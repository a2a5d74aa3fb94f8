#pragma once
// Every path under .coral/ is built here (like leveldb's filename.h). docs/format.md describes
// the same layout; keep the two in step.
//
//   .coral/config.toml                 format_version and repository settings
//   .coral/HEAD                        "ref: refs/heads/<name>\n" or "<commit id>\n"
//   .coral/refs/heads/<name>           "<commit id>\n"
//   .coral/refs/tags/<name>            "<commit id>\n" or "<tag object id>\n"
//   .coral/index                       the staging index (the next commit's full tree + stat cache)
//   .coral/objects/<2 hex>/<30 hex>    loose metadata objects (trees, commits, tags)
//   .coral/pruned                      ids of commits whose data prune dropped
//   .coral/packs/pack-<32 hex>.h5      immutable HDF5 pack files
//   .coral/packs/lookup                the pack lookup table (object id -> pack, row)
//   .coral/locks/{gc,refs,index,lookup}.lock   persistent flock()ed lock files, never deleted

#include "coral/core/object_id.hpp"

#include <filesystem>
#include <string>

namespace coral::storage {

class Layout {
public:
  explicit Layout(std::filesystem::path coral_dir) : m_dir(std::move(coral_dir)) {}

  const std::filesystem::path& coral_dir() const noexcept { return m_dir; }
  std::filesystem::path worktree() const { return m_dir.parent_path(); }
  std::filesystem::path config() const { return m_dir / "config.toml"; }
  std::filesystem::path head() const { return m_dir / "HEAD"; }
  std::filesystem::path refs_dir() const { return m_dir / "refs"; }
  std::filesystem::path ref(const std::string& full_name) const { return m_dir / full_name; }
  std::filesystem::path index() const { return m_dir / "index"; }
  std::filesystem::path objects_dir() const { return m_dir / "objects"; }
  std::filesystem::path pruned() const { return m_dir / "pruned"; }
  std::filesystem::path tmp_dir() const { return m_dir / "tmp"; }
  std::filesystem::path loose_object(const core::ObjectId& id) const;
  std::filesystem::path packs_dir() const { return m_dir / "packs"; }
  std::filesystem::path pack(const std::string& pack_name) const { return packs_dir() / (pack_name + ".h5"); }
  std::filesystem::path lookup() const { return packs_dir() / "lookup"; }
  std::filesystem::path locks_dir() const { return m_dir / "locks"; }
  // The similarity index (a cache, rebuildable from the objects).
  std::filesystem::path similarity_dir() const { return m_dir / "similarity"; }
  std::filesystem::path lock(const std::string& name) const { return locks_dir() / (name + ".lock"); }

private:
  std::filesystem::path m_dir;
};

}  // namespace coral::storage
