#include "coral/core/file_lock.hpp"

#include "coral/core/error.hpp"
#include "coral/core/log.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace coral::core {
namespace {

constexpr std::size_t k_record_size = 256;

std::string read_holder(int fd) {
  char buf[k_record_size + 1] = {};
  const ssize_t n = ::pread(fd, buf, k_record_size, 0);
  if (n <= 0) return {};
  std::string s(buf, static_cast<std::size_t>(n));
  s = s.substr(0, s.find('\n'));
  return s;
}

// One fixed-size record at offset 0: concurrent shared holders overwrite it whole.
void write_holder(int fd, const std::string& verb) {
  char host[128] = {};
  ::gethostname(host, sizeof host - 1);
  std::string rec = "pid=" + std::to_string(::getpid()) + " host=" + host + " verb=" + verb + "\n";
  rec.resize(k_record_size, ' ');
  if (::pwrite(fd, rec.data(), rec.size(), 0) < 0)
    log().debug("cannot record lock holder: {}", std::strerror(errno));
}

std::string describe_holder(const std::string& rec) {
  // rec: "pid=N host=H verb=V"
  auto field = [&](const std::string& key) -> std::string {
    const auto p = rec.find(key + "=");
    if (p == std::string::npos) return {};
    const auto start = p + key.size() + 1;
    return rec.substr(start, rec.find(' ', start) - start);
  };
  const std::string pid = field("pid"), verb = field("verb");
  if (pid.empty()) return "another coral process";
  return "'coral " + verb + "' (pid " + pid + ")";
}

}  // namespace

FileLock FileLock::acquire(const std::filesystem::path& path, LockMode mode, double wait_seconds,
                           const std::string& what, const std::string& verb) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("cannot open lock file", path.string(), errno);
  const int op = (mode == LockMode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
  auto delay = std::chrono::milliseconds(1);
  bool logged = false;
  while (::flock(fd, op) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      throw_errno("cannot lock", path.string(), err);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const std::string holder = describe_holder(read_holder(fd));
      ::close(fd);
      throw LockedError(what + " is locked by " + holder, "lock file " + path.string(),
                        "wait for it to finish, or pass --lock-wait SECONDS");
    }
    if (!logged) {
      log().debug("waiting for {} lock {}", what, path.string());
      logged = true;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
  write_holder(fd, verb);
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() noexcept {
  if (m_fd >= 0) {
    ::flock(m_fd, LOCK_UN);
    ::close(m_fd);
    m_fd = -1;
  }
}

}  // namespace coral::core
