#include "scan.hpp"

#include "base_selection.hpp"
#include "chunk_encoder.hpp"
#include "coral/core/error.hpp"
#include "coral/delta/chunks.hpp"
#include "paths.hpp"
#include "similarity.hpp"

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace coral::vcs {
namespace {

// Objects up to this size are copied whole into a per-task buffer, hashed and encoded there;
// bigger ones are hashed in place and encoded chunk by chunk on all threads.
constexpr std::size_t k_copy_limit = 4 * delta::k_chunk_bytes;

[[noreturn]] void changed_while_reading(const std::string& path) {
  throw IoError("file '" + path + "' changed while it was being read", {}, "run the command again");
}

// One object of the file: the skeleton (or whole file) or a tensor.
struct Piece {
  std::span<const std::byte> bytes;
  core::DType dtype = core::DType::u8;
  Lineage lineage;               // same path (and tensor name) in the index
  core::ObjectId* id = nullptr;  // where the hash goes
  bool big = false;
  bool claimed = false;       // this piece stores the object (the first piece, in order, with its id)
  bool may_reencode = false;  // ... and re-encodes its previous version (the first, in order, to replace it)
  std::vector<core::ObjectId> chunk_ids;  // big objects: hash of each chunk, taken with the id
};

void release(const core::fs::MappedFile& map, std::span<const std::byte> bytes) {
  map.release(static_cast<std::size_t>(bytes.data() - map.bytes().data()), bytes.size());
}

// Stores the claimed object `p`, its raw chunks given by `chunk(i, out)` or held in private memory
// (`bytes`), as its base plan says: a delta against a stored base, or self-contained and then,
// for a reverse plan, the previous version re-encoded as a delta against it.
void store_planned(const StoreContext& ctx, const Piece& p, const BasePlan& plan, const ChunkJob::Fill& chunk,
                   std::span<const std::byte> bytes, core::ThreadPool* pool) {
  ChunkJob job;
  job.id = *p.id;
  job.raw_size = p.bytes.size();
  job.dtype = p.dtype;
  job.fill = chunk;
  job.bytes = bytes;
  job.chain_height = plan.kind == BasePlan::Kind::reverse ? plan.chain_height : 0;
  if (plan.kind == BasePlan::Kind::forward) {
    job.base_id = plan.source->info().id;
    job.base_fill = base_chunks(plan.source);
  }
  store_chunked(*ctx.writer, job, pool);
  if (plan.kind != BasePlan::Kind::reverse) return;
  ChunkJob older;
  older.id = plan.source->info().id;
  older.raw_size = p.bytes.size();
  older.dtype = p.dtype;
  older.fill = base_chunks(plan.source);
  older.base_id = *p.id;
  older.base_fill = chunk ? chunk : memory_chunks(bytes);
  older.replacement = true;
  store_chunked(*ctx.writer, older, pool);
}

// The plan for a claimed piece. Only the piece chosen to re-encode the previous version may do
// so, so that which new object an old one becomes a delta of never depends on thread timing.
BasePlan plan_for(const StoreContext& ctx, const Piece& p, std::span<const std::byte> raw,
                  const std::optional<Signature>& signature, const BaseSelector::PieceDone& done_with = {}) {
  if (!ctx.bases) return {};
  BasePlan plan = ctx.bases->choose(p.lineage, p.dtype, raw, signature, done_with);
  if (plan.kind == BasePlan::Kind::reverse && !p.may_reencode) return {};
  return plan;
}

// Stores a small claimed object from a private copy, checked against the id taken in place, so
// that what is stored is what was hashed even if the file changes.
void store_small(const core::fs::MappedFile* map, const StoreContext& ctx, Piece& p, const std::string& path) {
  thread_local std::vector<std::byte> copy;
  copy.assign(p.bytes.begin(), p.bytes.end());
  if (map) release(*map, p.bytes);
  if (core::hash_bytes(copy) != *p.id) changed_while_reading(path);
  std::optional<Signature> signature;
  if (ctx.bases) signature = tensor_signature(copy, p.dtype);
  store_planned(ctx, p, plan_for(ctx, p, copy, signature), {}, copy, nullptr);
  if (ctx.bases) ctx.bases->remember(*p.id, signature);
}

// Pass 1 of a big object: the id and the hash of every chunk, dropping pages as it goes.
void hash_big(const core::fs::MappedFile& map, Piece& p, bool with_chunks) {
  core::Hasher whole;
  const std::uint64_t n = delta::chunk_count(p.bytes.size(), delta::k_chunk_log2);
  if (with_chunks) p.chunk_ids.resize(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto part = p.bytes.subspan(static_cast<std::size_t>(i << delta::k_chunk_log2),
                                      delta::chunk_raw_size(p.bytes.size(), delta::k_chunk_log2, i));
    whole.update(part);
    if (with_chunks) p.chunk_ids[static_cast<std::size_t>(i)] = core::hash_bytes(part);
    release(map, part);
  }
  *p.id = whole.digest();
}

// The similarity signature of `size` bytes at `offset` of a file, read with pread; none when the
// file cannot be read (it only costs a delta base).
std::optional<Signature> sample_signature(const std::filesystem::path& abs, std::uint64_t offset, std::size_t size,
                                          core::DType dtype) {
  const int fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  bool ok = true;
  const std::size_t width = core::dtype_size(dtype);
  auto signature = tensor_signature(size / width, dtype, [&](std::uint64_t i, std::span<std::byte> out) {
    if (::pread(fd, out.data(), out.size(), static_cast<off_t>(offset + i * width)) != static_cast<ssize_t>(out.size()))
      ok = false;
  });
  ::close(fd);
  return ok ? signature : std::nullopt;
}

// Pass 2 of a big object: chunks copied, checked against pass 1 and encoded on every thread.
void store_big(const core::fs::MappedFile& map, const std::filesystem::path& abs, const StoreContext& ctx, Piece& p,
               core::ThreadPool& pool, const std::string& path) {
  std::optional<Signature> signature;
  if (ctx.bases) {
    // The sample is read with pread: touching scattered pages of the map would map whole
    // page-cache folios around each (hundreds of MB for a big tensor).
    signature = sample_signature(abs, static_cast<std::uint64_t>(p.bytes.data() - map.bytes().data()), p.bytes.size(),
                                 p.dtype);
  }
  const BasePlan plan =
      plan_for(ctx, p, p.bytes, signature, [&](std::span<const std::byte> piece) { release(map, piece); });
  store_planned(ctx, p, plan,
                [&](std::uint64_t i, std::span<std::byte> out) {
                  const auto part = p.bytes.subspan(static_cast<std::size_t>(i << delta::k_chunk_log2), out.size());
                  std::memcpy(out.data(), part.data(), out.size());
                  release(map, part);
                  if (core::hash_bytes(out) != p.chunk_ids[static_cast<std::size_t>(i)]) changed_while_reading(path);
                },
                {}, &pool);
  if (ctx.bases) ctx.bases->remember(*p.id, signature);
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

FileEntry hash_file(ParsedFile& file, core::ThreadPool& pool, const StoreContext& ctx) {
  FileEntry entry;
  entry.path = file.path;
  entry.mode = file.stat.mode;
  entry.size = file.map->size();
  entry.format = file.layout.format;
  const auto data = file.map->bytes();
  const auto& extents = file.layout.tensors;
  entry.tensors.resize(extents.size());

  // The skeleton is built in memory; a raw file is one object read from the map.
  std::string skeleton;
  std::vector<Piece> pieces;
  pieces.reserve(extents.size() + 1);
  Piece first;
  first.id = &entry.id;
  if (file.layout.format == core::FileFormat::raw) {
    first.bytes = data;
    if (ctx.previous && ctx.previous->format == core::FileFormat::raw) first.lineage.previous = ctx.previous->id;
  } else {
    skeleton = core::extract_skeleton(file.layout, data);
    first.bytes = {reinterpret_cast<const std::byte*>(skeleton.data()), skeleton.size()};
  }
  pieces.push_back(std::move(first));
  std::unordered_map<std::string_view, const TensorEntry*> before;
  if (ctx.previous)
    for (const auto& t : ctx.previous->tensors) before.emplace(t.name, &t);
  for (std::size_t i = 0; i < extents.size(); ++i) {
    const auto& x = extents[i];
    TensorEntry& t = entry.tensors[i];
    t.name = x.name;
    t.dtype = x.dtype;
    t.shape = x.shape;
    t.offset = x.offset;
    t.length = x.length;
    t.big_endian = x.big_endian;
    Piece& p = pieces.emplace_back();
    p.bytes = data.subspan(x.offset, x.length);
    p.dtype = x.dtype;
    p.id = &t.id;
    if (const auto it = before.find(t.name); it != before.end()) {
      p.lineage.previous = it->second->id;
      p.lineage.previous_dtype = it->second->dtype;
    }
  }
  for (auto& p : pieces) p.big = p.bytes.size() > k_copy_limit && p.bytes.data() != nullptr &&
                                 !(p.id == &entry.id && !skeleton.empty());

  std::vector<std::size_t> small, big;
  for (std::size_t i = 0; i < pieces.size(); ++i) (pieces[i].big ? big : small).push_back(i);
  const auto mapped = [&](const Piece& p) { return !(p.id == &entry.id && !skeleton.empty()); };
  // 1. Every id, hashed in place on the pool (big objects also chunk by chunk).
  pool.parallel_for(small.size(), [&](std::size_t k) {
    Piece& p = pieces[small[k]];
    *p.id = core::hash_bytes(p.bytes);
    if (mapped(p)) release(*file.map, p.bytes);  // step 3 maps what it stores again
  });
  pool.parallel_for(big.size(), [&](std::size_t k) { hash_big(*file.map, pieces[big[k]], ctx.writer != nullptr); });
  if (ctx.writer) {
    // 2. In piece order: which piece stores each new object, and which re-encodes each previous
    // version, so the result never depends on thread timing.
    std::unordered_set<core::ObjectId, core::ObjectIdHash> replaced;
    for (auto& p : pieces) {
      p.claimed = ctx.writer->claim(*p.id);
      p.may_reencode = p.claimed && !p.lineage.previous.is_zero() && replaced.insert(p.lineage.previous).second;
    }
    // 3. Small objects on the pool, one task each; then big ones, each on every thread.
    std::vector<std::size_t> to_store;
    for (std::size_t i : small)
      if (pieces[i].claimed) to_store.push_back(i);
    pool.parallel_for(to_store.size(), [&](std::size_t k) {
      Piece& p = pieces[to_store[k]];
      store_small(mapped(p) ? file.map.get() : nullptr, ctx, p, file.path);
    });
    for (std::size_t i : big)
      if (pieces[i].claimed) store_big(*file.map, file.abs, ctx, pieces[i], pool, file.path);
  }

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
