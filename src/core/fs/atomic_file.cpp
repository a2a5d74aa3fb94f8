#include "coral/core/fs.hpp"

#include "coral/core/error.hpp"
#include "coral/core/log.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace coral::core::fs {

AtomicFile::AtomicFile(stdfs::path final_path)
  : m_final(std::move(final_path)), m_temp(make_temp_path(m_final)) {
  m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (m_fd < 0) throw_errno("cannot create", m_temp.string(), errno);
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_committed) {
    std::error_code ec;
    stdfs::remove(m_temp, ec);
    if (ec) log().debug("cannot remove temp file {}: {}", m_temp.string(), ec.message());
  }
}

void AtomicFile::write(std::span<const std::byte> data) {
  const std::byte* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(m_fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write", m_temp.string(), errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::write(std::string_view data) {
  write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()), data.size()));
}

void AtomicFile::commit() {
  if (::fsync(m_fd) != 0) throw_errno("cannot fsync", m_temp.string(), errno);
  if (::close(m_fd) != 0) {
    m_fd = -1;
    throw_errno("cannot close", m_temp.string(), errno);
  }
  m_fd = -1;
  if (::rename(m_temp.c_str(), m_final.c_str()) != 0) throw_errno("cannot rename", m_temp.string(), errno);
  m_committed = true;
  fsync_dir(m_final.parent_path());
}

}  // namespace coral::core::fs
