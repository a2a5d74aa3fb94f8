#pragma once
// A repository handle (ccache's Context): paths, config, the object database and locks for one
// invocation. Passed explicitly; no singletons.

#include "coral/core/config.hpp"
#include "coral/core/file_lock.hpp"
#include "coral/storage/layout.hpp"
#include "coral/vcs/object_db.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace coral::vcs {

inline constexpr int k_format_version = 1;

struct OpenOptions {
  std::filesystem::path start_dir = ".";  // -C; .coral is searched upward from here
  double lock_wait_seconds = -1;          // --lock-wait; < 0: config core.lock_wait
  int jobs = 0;                           // --jobs; 0: config core.jobs (0 = all cores)
  std::string verb = "coral";             // named in lock-holder messages
};

class Repository {
public:
  // Creates .coral/ in `dir` (created if missing). ConflictError if one exists there.
  static Repository init(const std::filesystem::path& dir, const OpenOptions& options = {});
  // Finds .coral/ in options.start_dir or a parent. NotFoundError("not a coral repository ...")
  // with a hint to run `coral init`; CorruptError for a newer format_version.
  static Repository open(const OpenOptions& options = {});
  // The .coral directory in `start_dir` or its nearest parent that has one; nullopt if none.
  static std::optional<std::filesystem::path> find(const std::filesystem::path& start_dir);

  Repository(Repository&&) noexcept;
  Repository& operator=(Repository&&) noexcept;
  ~Repository();

  const storage::Layout& layout() const noexcept;
  const std::filesystem::path& worktree() const noexcept;
  const core::Config& config() const noexcept;
  ObjectDb& objects();
  int jobs() const noexcept;          // resolved thread count (>= 1)
  double lock_wait() const noexcept;  // resolved seconds
  unsigned max_chain() const noexcept;  // delta.max_chain
  const std::string& verb() const noexcept;

  // Every write verb holds the gc lock shared for its whole run (gc takes it exclusive).
  core::FileLock lock_for_write();
  // gc and prune: the gc lock exclusive (waits for every writer to finish; writers then wait).
  core::FileLock lock_for_gc();
  // Exclusive lock on the staging index (held from reading the index to writing it back).
  core::FileLock lock_index();

private:
  struct Impl;
  explicit Repository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace coral::vcs
