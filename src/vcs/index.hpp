#pragma once
// The staging index: the full tree of the next commit plus a stat cache per file (size,
// mtime_ns, ctime_ns, inode, device, mode), as in git. Rewritten whole through AtomicFile under
// locks/index.lock, never edited in place.
//
// Grammar (docs/format.md "The index"): "CORALIX1" | u8 encoding | u64 raw size | encoded
// canonical JSON {"type":"index","version":1,"files":[FILE + "stat":{"size","mtime_ns",
// "ctime_ns","ino","dev"}]}, files sorted by path.

#include "coral/vcs/objects.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace coral::vcs {

class Repository;

struct StatInfo {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t ino = 0;
  std::uint64_t dev = 0;
  std::uint32_t mode = 0;  // 0644 or 0755 as coral stores it
  bool operator==(const StatInfo&) const = default;
};

// lstat of a regular file (a symlink is followed when it stays inside the worktree); nullopt
// when missing or not a regular file.
std::optional<StatInfo> stat_file(const std::filesystem::path& path);
// stat_file of a repository path, treating a path that would be read through a symlink leading
// out of the working tree (or a symlinked directory) as missing.
std::optional<StatInfo> stat_worktree_file(const std::filesystem::path& worktree, const std::string& repo_path);

struct IndexEntry {
  FileEntry file;
  std::optional<StatInfo> stat;  // unset: unknown, the file must be re-read to compare
  bool verified = false;         // stat taken by this process from the file it read or wrote (not saved)
};

class Index {
public:
  static Index load(const Repository& repo);   // an absent index is empty
  static Index from_tree(const Tree& tree);    // no stat cache
  // An empty index that inherits this one's clock, for rebuilding it entry by entry.
  Index successor() const;
  // Caller holds the index lock. Entries carried over from the loaded index whose file mtime is
  // not older than that index lose their stat cache ("racy" entries stay untrusted, as in git).
  void save(const Repository& repo);

  const std::vector<IndexEntry>& entries() const noexcept { return m_entries; }
  const IndexEntry* find(std::string_view path) const;
  void upsert(IndexEntry entry);
  bool remove(std::string_view path);
  Tree to_tree() const;

  // True when the cached stat proves the file unchanged: equal stat, and the file was not
  // modified in the same clock tick as the index was written ("racy git").
  bool stat_clean(const IndexEntry& entry, const StatInfo& current) const;

private:
  std::vector<IndexEntry> m_entries;  // sorted by path
  std::int64_t m_index_mtime_ns = 0;  // mtime of the index file when loaded
};

}  // namespace coral::vcs
