#include "chunk_encoder.hpp"

#include "coral/delta/chunks.hpp"
#include "coral/delta/codec.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <cstring>

namespace coral::vcs {
namespace {

void store_u32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::byte>(v >> (8 * k)));
}

// Encodes chunk i of the job: its raw bytes (read into `raw` when the job fills), the base's
// bytes at the same place, then the codec.
delta::EncodedChunk encode_one(const ChunkJob& job, std::uint64_t i, unsigned width, const delta::ChunkEncodeOptions& o,
                               std::vector<std::byte>& raw) {
  thread_local std::vector<std::byte> base;
  const std::size_t n = delta::chunk_raw_size(job.raw_size, delta::k_chunk_log2, i);
  std::span<const std::byte> raw_bytes;
  if (job.fill) {
    raw.resize(n);
    job.fill(i, raw);
    raw_bytes = raw;
  } else {
    raw_bytes = job.bytes.subspan(static_cast<std::size_t>(i << delta::k_chunk_log2), n);
  }
  std::span<const std::byte> base_bytes;
  if (job.base_fill) {
    base.resize(n);
    job.base_fill(i, base);
    base_bytes = base;
  }
  return delta::encode_chunk(raw_bytes, base_bytes, width, o);
}

}  // namespace

ChunkJob::Fill memory_chunks(std::span<const std::byte> bytes) {
  return [bytes](std::uint64_t i, std::span<std::byte> out) {
    std::memcpy(out.data(), bytes.data() + (i << delta::k_chunk_log2), out.size());
  };
}

ChunkJob::Fill base_chunks(std::shared_ptr<const ChunkSource> source) {
  return [source = std::move(source)](std::uint64_t i, std::span<std::byte> out) {
    source->read_chunk(i, delta::k_chunk_log2, out);
  };
}

void store_chunked(DataWriter& writer, const ChunkJob& job, core::ThreadPool* pool) {
  const unsigned width = delta::plane_width(job.dtype);
  const delta::ChunkEncodeOptions options{.zstd_level = writer.zstd_level()};
  const std::uint64_t n = delta::chunk_count(job.raw_size, delta::k_chunk_log2);
  const bool has_base = static_cast<bool>(job.base_fill);
  const auto prefix = delta::encode_prefix(
      {.width = width, .chunk_log2 = delta::k_chunk_log2, .uses_base = has_base, .chain_height = job.chain_height});
  const auto put = [&](storage::ObjectInfo info, std::span<const std::byte> bytes) {
    const auto produce = [&](const storage::WriteBatch::PieceSink& sink) {
      sink(bytes);
      return info;
    };
    if (job.replacement) writer.put_replacement(job.id, job.raw_size, produce);
    else writer.put_encoded(info.id, info.encoding, bytes, info.raw_size, info.base);
  };
  storage::ObjectInfo info;
  info.id = job.id;
  info.raw_size = job.raw_size;

  if (n <= 1) {  // small: in memory, and raw when the container would not be smaller
    thread_local std::vector<std::byte> raw, stored;
    raw.clear();
    delta::EncodedChunk chunk;
    if (n == 1) chunk = encode_one(job, 0, width, options, raw);
    const std::span<const std::byte> raw_bytes = job.fill ? std::span<const std::byte>(raw) : job.bytes;
    const std::size_t container = prefix.size() + chunk.bytes.size() + 4 * static_cast<std::size_t>(n);
    if (container >= raw_bytes.size()) {
      info.encoding = static_cast<std::uint8_t>(delta::Encoding::raw);
      put(info, raw_bytes);
      return;
    }
    stored.assign(prefix.begin(), prefix.end());
    stored.insert(stored.end(), chunk.bytes.begin(), chunk.bytes.end());
    if (n == 1) store_u32(stored, static_cast<std::uint32_t>(chunk.bytes.size()));
    info.encoding = static_cast<std::uint8_t>(delta::Encoding::chunks);
    if (chunk.uses_base) info.base = job.base_id;
    put(info, stored);
    return;
  }

  // Big: chunks are encoded on the pool, at most `window` ahead of the one being appended, and
  // appended in order while the next ones encode.
  const std::size_t threads = pool ? pool->size() : 1;
  const std::uint64_t window = std::max<std::size_t>(4, 4 * threads);
  const auto encode = [&, width](std::uint64_t i) {
    thread_local std::vector<std::byte> raw;
    return encode_one(job, i, width, options, raw);
  };
  const auto produce = [&](const storage::WriteBatch::PieceSink& sink) {
    sink(prefix);
    std::vector<std::byte> table;
    table.reserve(static_cast<std::size_t>(4 * n));
    bool uses_base = false;
    std::deque<std::future<delta::EncodedChunk>> inflight;
    std::uint64_t next = 0;
    const auto launch = [&] {
      for (; next < n && inflight.size() < window; ++next) {
        if (pool) {
          inflight.push_back(pool->submit([&encode, i = next] { return encode(i); }));
        } else {
          std::promise<delta::EncodedChunk> done;
          done.set_value(encode(next));
          inflight.push_back(done.get_future());
        }
      }
    };
    try {
      launch();
      while (!inflight.empty()) {
        delta::EncodedChunk r = inflight.front().get();
        inflight.pop_front();
        launch();
        sink(r.bytes);
        store_u32(table, static_cast<std::uint32_t>(r.bytes.size()));
        uses_base = uses_base || r.uses_base;
      }
    } catch (...) {
      for (auto& f : inflight)  // the tasks use this frame's state (get() left the failed one invalid)
        if (f.valid()) f.wait();
      throw;
    }
    sink(table);
    info.encoding = static_cast<std::uint8_t>(delta::Encoding::chunks);
    if (uses_base) info.base = job.base_id;
    return info;
  };
  if (job.replacement) writer.put_replacement(job.id, job.raw_size, produce);
  else writer.put_stream(job.id, job.raw_size, produce);
}

}  // namespace coral::vcs
