#include "materialize.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "paths.hpp"

#include <cerrno>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;
namespace {

class TempOutput {
public:
  explicit TempOutput(const stdfs::path& final_path) : m_final(final_path) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char name[64];
    std::snprintf(name, sizeof name, ".coral-checkout-%d-%016llx", static_cast<int>(::getpid()),
                  static_cast<unsigned long long>(rng()));
    m_temp = final_path.parent_path() / name;
    m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (m_fd < 0) throw_errno("cannot create", m_temp.string(), errno);
  }
  ~TempOutput() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_done) {
      std::error_code ec;
      stdfs::remove(m_temp, ec);
    }
  }
  void write(const std::byte* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(m_fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw_errno("cannot write", m_final.string(), errno);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  void finish(std::uint32_t mode) {
    if (::fchmod(m_fd, mode) != 0) throw_errno("cannot chmod", m_temp.string(), errno);
    if (::close(m_fd) != 0) {
      m_fd = -1;
      throw_errno("cannot close", m_temp.string(), errno);
    }
    m_fd = -1;
    if (::rename(m_temp.c_str(), m_final.c_str()) != 0) throw_errno("cannot write", m_final.string(), errno);
    m_done = true;
  }

private:
  stdfs::path m_final, m_temp;
  int m_fd = -1;
  bool m_done = false;
};

}  // namespace

StatInfo materialize_file(Repository& repo, const FileEntry& entry) {
  const stdfs::path abs = worktree_path_for_write(repo.worktree(), entry.path);
  std::error_code ec;
  stdfs::create_directories(abs.parent_path(), ec);
  if (ec) throw_errno("cannot create directory", abs.parent_path().string(), ec.value());
  {
    struct stat st {};
    if (::lstat(abs.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      throw ConflictError("cannot write '" + entry.path + "': a directory is in the way");
  }
  TempOutput out(abs);
  std::uint64_t written = 0;
  const auto sink = [&](std::span<const std::byte> piece) {
    out.write(piece.data(), piece.size());
    written += piece.size();
  };
  if (entry.format == core::FileFormat::raw) {
    repo.objects().stream_data(entry.id, sink);
  } else {
    // The skeleton is small: hold it and interleave its pieces with the streamed tensors.
    const std::vector<std::byte> skeleton = repo.objects().read_data(entry.id);
    std::uint64_t pos = 0, skel_pos = 0;
    for (const auto& t : entry.tensors) {
      if (t.offset < pos || t.offset - pos > skeleton.size() - skel_pos)
        throw CorruptError("file '" + entry.path + "' has an inconsistent layout in the repository");
      sink({skeleton.data() + skel_pos, t.offset - pos});
      skel_pos += t.offset - pos;
      const std::uint64_t before = written;
      repo.objects().stream_data(t.id, sink);
      if (written - before != t.length)
        throw CorruptError("tensor '" + t.name + "' of '" + entry.path + "' has the wrong size");
      pos = t.offset + t.length;
    }
    sink({skeleton.data() + skel_pos, skeleton.size() - skel_pos});
  }
  if (written != entry.size) throw CorruptError("file '" + entry.path + "' does not add up to its recorded size");
  out.finish(entry.mode);  // only now does the file appear under its name
  auto st = stat_file(abs);
  if (!st) throw IoError("file '" + entry.path + "' vanished after checkout");
  return *st;
}

}  // namespace coral::vcs
