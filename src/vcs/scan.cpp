#include "scan.hpp"

#include "coral/core/error.hpp"
#include "coral/delta/codec.hpp"
#include "paths.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace coral::vcs {
namespace {

// Bounds the tensor bytes being hashed and encoded at once, so that peak memory is about twice
// max(largest tensor, k_budget) whatever the thread count: a tensor at least as big as the budget
// runs alone (and zstd spreads it over all cores).
class ByteBudget {
public:
  explicit ByteBudget(std::uint64_t limit) : m_limit(limit) {}
  std::uint64_t acquire(std::uint64_t bytes) {
    bytes = std::min(bytes, m_limit);
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [&] { return m_used + bytes <= m_limit; });
    m_used += bytes;
    return bytes;
  }
  void release(std::uint64_t bytes) {
    {
      std::lock_guard lock(m_mutex);
      m_used -= bytes;
    }
    m_cv.notify_all();
  }

private:
  std::uint64_t m_limit, m_used = 0;
  std::mutex m_mutex;
  std::condition_variable m_cv;
};

constexpr std::uint64_t k_budget = 256ull << 20;

constexpr std::size_t k_piece = 4u << 20;
// Objects up to this size are copied whole into a reused per-thread buffer; bigger ones stream.
constexpr std::size_t k_copy_limit = 16u << 20;

// Hashes mapped bytes piece by piece; with `release`, drops each piece's pages afterwards.
core::ObjectId hash_mapped(const core::fs::MappedFile& map, std::span<const std::byte> bytes, bool release) {
  core::Hasher h;
  for (std::size_t off = 0; off < bytes.size(); off += k_piece) {
    const auto piece = bytes.subspan(off, std::min(k_piece, bytes.size() - off));
    h.update(piece);
    if (release) map.release(static_cast<std::size_t>(piece.data() - map.bytes().data()), piece.size());
  }
  return h.digest();
}

[[noreturn]] void changed_while_reading(const std::string& path) {
  throw IoError("file '" + path + "' changed while it was being read", {}, "run the command again");
}

// Hashes `bytes` (part of `map`) and, with a writer, stores them. What is stored must be exactly
// what was hashed even if the file changes underneath (timestamps may be too coarse to tell):
// small objects are hashed and encoded from one private copy; big ones are hashed in place, then
// (when new) streamed through private pieces into a second hash and the compressor, and stored
// only when the second hash equals the first.
core::ObjectId hash_and_store(const core::fs::MappedFile& map, std::span<const std::byte> bytes, core::DType dtype,
                              DataWriter* writer, const std::string& path) {
  if (!writer) return hash_mapped(map, bytes, true);
  thread_local std::vector<std::byte> copy;
  if (bytes.size() <= k_copy_limit) {
    copy.assign(bytes.begin(), bytes.end());
    map.release(static_cast<std::size_t>(bytes.data() - map.bytes().data()), bytes.size());
    const core::ObjectId id = core::hash_bytes(copy);
    writer->put(id, copy, dtype);
    return id;
  }
  // Pages stay mapped for the second pass, which drops them (at most about 2x the tensor in memory).
  const core::ObjectId id = hash_mapped(map, bytes, false);
  if (!writer->claim(id)) {
    map.release(static_cast<std::size_t>(bytes.data() - map.bytes().data()), bytes.size());
    return id;
  }
  core::Hasher again;
  delta::StreamCompressor compressor(bytes.size(), {.zstd_level = writer->zstd_level(), .threads = writer->threads()});
  for (std::size_t off = 0; off < bytes.size(); off += k_piece) {
    const auto piece = bytes.subspan(off, std::min(k_piece, bytes.size() - off));
    copy.assign(piece.begin(), piece.end());
    again.update(copy);
    compressor.feed(copy);
    map.release(static_cast<std::size_t>(piece.data() - map.bytes().data()), piece.size());
  }
  if (again.digest() != id) changed_while_reading(path);
  if (const auto zstd = compressor.finish()) {
    writer->put_encoded(id, static_cast<std::uint8_t>(delta::Encoding::zstd), *zstd, bytes.size());
    return id;
  }
  // Incompressible: store it raw, from a private copy that hashes to the id.
  std::vector<std::byte> whole(bytes.begin(), bytes.end());
  if (core::hash_bytes(whole) != id) changed_while_reading(path);
  writer->put_encoded(id, static_cast<std::uint8_t>(delta::Encoding::raw), whole, bytes.size());
  return id;
}

}  // namespace

ParsedFile parse_worktree_file(const std::filesystem::path& worktree, const std::string& repo_path) {
  ParsedFile f;
  f.path = repo_path;
  f.abs = worktree / repo_path;
  const auto& abs = f.abs;
  auto st = stat_worktree_file(worktree, repo_path);
  if (!st) throw NotFoundError("file '" + repo_path + "' not found");
  f.stat = *st;
  f.map = std::make_unique<core::fs::MappedFile>(abs);
  f.layout = core::parse_file_layout(repo_path, f.map->bytes());
  return f;
}

FileEntry hash_file(ParsedFile& file, core::ThreadPool& pool, DataWriter* writer) {
  FileEntry entry;
  entry.path = file.path;
  entry.mode = file.stat.mode;
  entry.size = file.map->size();
  entry.format = file.layout.format;
  const auto data = file.map->bytes();
  const auto& extents = file.layout.tensors;
  entry.tensors.resize(extents.size());

  ByteBudget budget(k_budget);
  // Task 0 is the skeleton (or the whole file for raw files); task i+1 is tensor i.
  pool.parallel_for(extents.size() + 1, [&](std::size_t task) {
    if (task == 0) {
      if (file.layout.format == core::FileFormat::raw) {
        entry.id = hash_and_store(*file.map, data, core::DType::u8, writer, file.path);
        return;
      }
      const std::string skel = core::extract_skeleton(file.layout, data);
      const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(skel.data()), skel.size());
      entry.id = core::hash_bytes(bytes);
      if (writer) writer->put(entry.id, bytes, core::DType::u8);
      return;
    }
    const auto& x = extents[task - 1];
    const auto bytes = data.subspan(x.offset, x.length);
    const std::uint64_t held = budget.acquire(x.length);
    TensorEntry& t = entry.tensors[task - 1];
    t.name = x.name;
    t.dtype = x.dtype;
    t.shape = x.shape;
    t.offset = x.offset;
    t.length = x.length;
    t.big_endian = x.big_endian;
    try {
      t.id = hash_and_store(*file.map, bytes, x.dtype, writer, file.path);
    } catch (...) {
      budget.release(held);
      throw;
    }
    budget.release(held);
  });

  const auto after = stat_file(file.abs);
  if (!after || after->size != file.stat.size || after->mtime_ns != file.stat.mtime_ns ||
      after->ctime_ns != file.stat.ctime_ns || after->ino != file.stat.ino)
    changed_while_reading(file.path);
  return entry;
}

std::span<const std::byte> extent_bytes(const ParsedFile& file, const TensorEntry& t) {
  return file.map->bytes().subspan(t.offset, t.length);
}

}  // namespace coral::vcs
