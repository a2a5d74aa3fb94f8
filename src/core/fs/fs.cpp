#include <algorithm>
#include "coral/core/fs.hpp"

#include "coral/core/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <random>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace coral::core::fs {
namespace {

constexpr std::string_view k_temp_marker = ".tmp-";

int open_or_throw(const stdfs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw NotFoundError("file '" + path.string() + "' not found");
    throw_errno("cannot open", path.string(), errno);
  }
  return fd;
}

}  // namespace

stdfs::path make_temp_path(const stdfs::path& final_path) {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(::getpid())};
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, "%.*s%d-%016llx", static_cast<int>(k_temp_marker.size()),
                k_temp_marker.data(), static_cast<int>(::getpid()),
                static_cast<unsigned long long>(rng()));
  stdfs::path p = final_path;
  p += suffix;
  return p;
}

std::uint64_t tree_bytes(const stdfs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (stdfs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    const auto size = it->file_size(fec);
    if (!fec) total += size;
  }
  return total;
}

namespace {

// "<pid>-<16 hex>" and nothing more.
bool is_pid_random(std::string_view s) noexcept {
  const std::size_t dash = s.find('-');
  if (dash == 0 || dash == std::string_view::npos || s.size() - dash - 1 != 16) return false;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto hex = [&](char c) { return digit(c) || (c >= 'a' && c <= 'f'); };
  return std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(dash), digit) &&
         std::all_of(s.begin() + static_cast<std::ptrdiff_t>(dash) + 1, s.end(), hex);
}

constexpr std::string_view k_checkout_prefix = ".coral-checkout-";

}  // namespace

bool is_temp_name(std::string_view filename) noexcept {
  const std::size_t at = filename.rfind(k_temp_marker);
  return at != std::string_view::npos && is_pid_random(filename.substr(at + k_temp_marker.size()));
}

std::string make_checkout_temp_name() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(::getpid())};
  char name[64];
  std::snprintf(name, sizeof name, "%s%d-%016llx", k_checkout_prefix.data(), static_cast<int>(::getpid()),
                static_cast<unsigned long long>(rng()));
  return name;
}

bool is_checkout_temp_name(std::string_view filename) noexcept {
  return filename.rfind(k_checkout_prefix, 0) == 0 && is_pid_random(filename.substr(k_checkout_prefix.size()));
}

void fsync_file(const stdfs::path& path) {
  const int fd = open_or_throw(path, O_RDONLY);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw_errno("cannot fsync", path.string(), err);
}

void fsync_dir(const stdfs::path& dir) {
  const int fd = open_or_throw(dir.empty() ? stdfs::path(".") : dir, O_RDONLY | O_DIRECTORY);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) throw_errno("cannot fsync directory", dir.string(), err);
}

void publish(const stdfs::path& temp, const stdfs::path& final_path) {
  fsync_file(temp);
  if (::rename(temp.c_str(), final_path.c_str()) != 0) throw_errno("cannot rename", temp.string(), errno);
  fsync_dir(final_path.parent_path());
}

void create_directories_durable(const stdfs::path& dir) {
  if (dir.empty() || stdfs::is_directory(dir)) return;
  create_directories_durable(dir.parent_path());
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("cannot create directory", dir.string(), errno);
  fsync_dir(dir.parent_path());
}

std::string read_file(const stdfs::path& path) {
  const int fd = open_or_throw(path, O_RDONLY);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw_errno("cannot read", path.string(), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_file_atomic(const stdfs::path& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

MappedFile::MappedFile(const stdfs::path& path) {
  const int fd = open_or_throw(path, O_RDONLY);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw_errno("cannot stat", path.string(), err);
  }
  m_size = static_cast<std::size_t>(st.st_size);
  if (m_size > 0) {
    void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw_errno("cannot map", path.string(), err);
    }
    ::madvise(p, m_size, MADV_SEQUENTIAL);
    m_data = static_cast<const std::byte*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (m_data) ::munmap(const_cast<std::byte*>(m_data), m_size);
}

void MappedFile::release(std::size_t offset, std::size_t len) const noexcept {
  if (!m_data || offset >= m_size) return;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t begin = (offset + page - 1) / page * page;
  const std::size_t end = std::min(m_size, offset + len) / page * page;
  if (end > begin) ::madvise(const_cast<std::byte*>(m_data) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace coral::core::fs
