#pragma once
// Kernel locks (flock) on persistent lock files under .coral/locks/. A lock is released when its
// holder exits or dies, so there are no stale locks. Local file systems only (not NFS).
//
// The holder writes "pid=<pid> host=<host> verb=<verb>" into the lock file so that a waiter that
// times out can name it in its LockedError.

#include <filesystem>
#include <string>

namespace coral::core {

enum class LockMode { shared, exclusive };

class FileLock {
public:
  // Waits at most wait_seconds (0 = try once), then throws LockedError naming the holder.
  // `what` names the lock in messages (e.g. "repository", "refs"); `verb` describes this holder.
  static FileLock acquire(const std::filesystem::path& path, LockMode mode, double wait_seconds,
                          const std::string& what, const std::string& verb);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  void release() noexcept;
  bool held() const noexcept { return m_fd >= 0; }

private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

}  // namespace coral::core
