#include "materialize.hpp"

#include "coral/core/error.hpp"
#include "paths.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include "coral/core/fs.hpp"

#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;
namespace {

// At most this many files are open at once.
constexpr std::size_t k_files_per_round = 64;

// A temp file next to the final one, written at offsets, renamed over the final name by finish().
class TempOutput {
public:
  explicit TempOutput(const stdfs::path& final_path) : m_final(final_path) {
    m_temp = final_path.parent_path() / core::fs::make_checkout_temp_name();
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
  void write_at(std::uint64_t offset, std::span<const std::byte> data) {
    const std::byte* p = data.data();
    std::size_t n = data.size();
    while (n > 0) {
      const ssize_t w = ::pwrite(m_fd, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw_errno("cannot write", m_final.string(), errno);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      offset += static_cast<std::uint64_t>(w);
    }
  }
  void finish(std::uint32_t mode) {
    if (::fchmod(m_fd, mode) != 0) throw_errno("cannot chmod", m_temp.string(), errno);
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) throw_errno("cannot close", m_temp.string(), errno);
    if (::rename(m_temp.c_str(), m_final.c_str()) != 0) throw_errno("cannot write", m_final.string(), errno);
    m_done = true;
  }

private:
  stdfs::path m_final, m_temp;
  int m_fd = -1;
  bool m_done = false;
};

stdfs::path prepare_target(const stdfs::path& root, const FileEntry& entry) {
  const stdfs::path abs = worktree_path_for_write(root, entry.path);
  std::error_code ec;
  stdfs::create_directories(abs.parent_path(), ec);
  if (ec) throw_errno("cannot create directory", abs.parent_path().string(), ec.value());
  struct stat st {};
  if (::lstat(abs.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw ConflictError("cannot write '" + entry.path + "': a directory is in the way");
  return abs;
}

// Task `part` of a file: part 0 is the skeleton (or the whole raw file), part i+1 is tensor i.
void write_part(Repository& repo, const FileEntry& entry, std::size_t part, TempOutput& out) {
  auto streamed = [&](const core::ObjectId& id, std::uint64_t offset, std::uint64_t length, const std::string& what) {
    std::uint64_t written = 0;
    repo.objects().stream_data(id, [&](std::span<const std::byte> piece) {
      if (written + piece.size() > length) throw CorruptError(what + " of '" + entry.path + "' is longer than recorded");
      out.write_at(offset + written, piece);
      written += piece.size();
    });
    if (written != length) throw CorruptError(what + " of '" + entry.path + "' has the wrong size");
  };
  if (entry.format == core::FileFormat::raw) {
    streamed(entry.id, 0, entry.size, "content");
    return;
  }
  if (part > 0) {
    const TensorEntry& t = entry.tensors[part - 1];
    streamed(t.id, t.offset, t.length, "tensor '" + t.name + "'");
    return;
  }
  // The skeleton fills the gaps between tensors, in order.
  const std::vector<std::byte> skeleton = repo.objects().read_data(entry.id);
  std::uint64_t pos = 0, skel_pos = 0, tensor_bytes = 0;
  for (const auto& t : entry.tensors) {
    if (t.offset < pos || t.offset - pos > skeleton.size() - skel_pos)
      throw CorruptError("file '" + entry.path + "' has an inconsistent layout in the repository");
    out.write_at(pos, {skeleton.data() + skel_pos, t.offset - pos});
    skel_pos += t.offset - pos;
    pos = t.offset + t.length;
    tensor_bytes += t.length;
  }
  out.write_at(pos, {skeleton.data() + skel_pos, skeleton.size() - skel_pos});
  if (skeleton.size() + tensor_bytes != entry.size)
    throw CorruptError("file '" + entry.path + "' does not add up to its recorded size");
}

std::uint64_t part_bytes(const FileEntry& entry, std::size_t part) {
  if (entry.format == core::FileFormat::raw) return entry.size;
  return part == 0 ? 0 : entry.tensors[part - 1].length;
}

}  // namespace

std::vector<StatInfo> materialize_files(Repository& repo, const std::vector<const FileEntry*>& files,
                                        core::ThreadPool& pool, const core::ProgressFn& progress,
                                        const std::filesystem::path& root) {
  const stdfs::path& dir = root.empty() ? repo.worktree() : root;
  std::vector<StatInfo> stats(files.size());
  std::uint64_t total = 0;
  for (const auto* f : files) total += f->size;
  std::atomic<std::uint64_t> done{0};
  std::mutex progress_mutex;
  for (std::size_t first = 0; first < files.size(); first += k_files_per_round) {
    const std::size_t last = std::min(files.size(), first + k_files_per_round);
    std::vector<stdfs::path> targets;
    std::vector<std::unique_ptr<TempOutput>> outputs;
    std::vector<std::pair<std::size_t, std::size_t>> tasks;  // (file, part)
    for (std::size_t i = first; i < last; ++i) {
      targets.push_back(prepare_target(dir, *files[i]));
      outputs.push_back(std::make_unique<TempOutput>(targets.back()));
      const std::size_t parts = files[i]->format == core::FileFormat::raw ? 1 : files[i]->tensors.size() + 1;
      for (std::size_t p = 0; p < parts; ++p) tasks.emplace_back(i, p);
    }
    pool.parallel_for(tasks.size(), [&](std::size_t k) {
      const auto [i, part] = tasks[k];
      write_part(repo, *files[i], part, *outputs[i - first]);
      const std::uint64_t now = done += part_bytes(*files[i], part);
      if (progress) {
        std::lock_guard lock(progress_mutex);
        progress({"checking out", now, total});
      }
    });
    for (std::size_t i = first; i < last; ++i) {
      outputs[i - first]->finish(files[i]->mode);  // only now does the file appear under its name
      const auto st = stat_file(targets[i - first]);
      if (!st) throw IoError("file '" + files[i]->path + "' vanished after checkout");
      stats[i] = *st;
    }
  }
  return stats;
}

}  // namespace coral::vcs
