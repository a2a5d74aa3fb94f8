#include "chunk_encoder.hpp"

#include "coral/delta/chunks.hpp"
#include "coral/delta/codec.hpp"

#include <algorithm>
#include <cstring>

namespace coral::vcs {
namespace {

void store_u32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::byte>(v >> (8 * k)));
}

// Encodes chunk i of the job: its raw bytes, the base's bytes at the same place, then the codec.
delta::EncodedChunk encode_one(const ChunkJob& job, std::uint64_t i, unsigned width, const delta::ChunkEncodeOptions& o) {
  thread_local std::vector<std::byte> raw, base;
  const std::size_t n = delta::chunk_raw_size(job.raw_size, delta::k_chunk_log2, i);
  raw.resize(n);
  job.fill(i, raw);
  std::span<const std::byte> base_bytes;
  if (job.base) {
    base.resize(n);
    job.base->read_chunk(i, delta::k_chunk_log2, base);
    base_bytes = base;
  }
  return delta::encode_chunk(raw, base_bytes, width, o);
}

}  // namespace

void store_chunked(DataWriter& writer, const ChunkJob& job, core::ThreadPool* pool) {
  const unsigned width = delta::plane_width(job.dtype);
  const delta::ChunkEncodeOptions options{.zstd_level = writer.zstd_level()};
  const std::uint64_t n = delta::chunk_count(job.raw_size, delta::k_chunk_log2);
  const auto prefix = delta::encode_prefix({.width = width, .chunk_log2 = delta::k_chunk_log2, .uses_base = job.base != nullptr});

  if (n <= 1) {  // small: in memory, and raw when the container would not be smaller
    std::vector<std::byte> raw(static_cast<std::size_t>(job.raw_size));
    if (n == 1) job.fill(0, raw);
    delta::EncodedChunk chunk;
    if (n == 1) {
      std::span<const std::byte> base_bytes;
      std::vector<std::byte> base;
      if (job.base) {
        base.resize(raw.size());
        job.base->read_chunk(0, delta::k_chunk_log2, base);
        base_bytes = base;
      }
      chunk = delta::encode_chunk(raw, base_bytes, width, options);
    }
    const std::size_t container = prefix.size() + chunk.bytes.size() + 4 * static_cast<std::size_t>(n);
    if (container >= raw.size()) {
      writer.put_encoded(job.id, static_cast<std::uint8_t>(delta::Encoding::raw), raw, job.raw_size);
      return;
    }
    std::vector<std::byte> stored(prefix.begin(), prefix.end());
    stored.insert(stored.end(), chunk.bytes.begin(), chunk.bytes.end());
    if (n == 1) store_u32(stored, static_cast<std::uint32_t>(chunk.bytes.size()));
    writer.put_encoded(job.id, static_cast<std::uint8_t>(delta::Encoding::chunks), stored, job.raw_size,
                       chunk.uses_base ? job.base->info().id : core::ObjectId{});
    return;
  }

  // Big: encode windows of chunks on the pool, append them in order.
  const std::size_t threads = pool ? pool->size() : 1;
  const std::uint64_t window = std::max<std::size_t>(2, 2 * threads);
  writer.put_stream(job.id, job.raw_size, [&](const storage::WriteBatch::PieceSink& sink) {
    sink(prefix);
    std::vector<std::byte> table;
    table.reserve(static_cast<std::size_t>(4 * n));
    bool uses_base = false;
    std::vector<delta::EncodedChunk> results;
    for (std::uint64_t first = 0; first < n; first += window) {
      const std::size_t count = static_cast<std::size_t>(std::min(window, n - first));
      results.assign(count, {});
      const auto task = [&](std::size_t k) { results[k] = encode_one(job, first + k, width, options); };
      if (pool) pool->parallel_for(count, task);
      else for (std::size_t k = 0; k < count; ++k) task(k);
      for (auto& r : results) {
        sink(r.bytes);
        store_u32(table, static_cast<std::uint32_t>(r.bytes.size()));
        uses_base = uses_base || r.uses_base;
        r.bytes = {};
      }
    }
    sink(table);
    storage::ObjectInfo info;
    info.id = job.id;
    info.encoding = static_cast<std::uint8_t>(delta::Encoding::chunks);
    info.raw_size = job.raw_size;
    if (uses_base) info.base = job.base->info().id;
    return info;
  });
}

}  // namespace coral::vcs
