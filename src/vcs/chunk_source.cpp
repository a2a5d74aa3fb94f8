#include "chunk_source.hpp"

#include "coral/core/error.hpp"
#include "coral/delta/chunks.hpp"
#include "coral/delta/codec.hpp"

#include <array>
#include <cstring>
#include <string>

namespace coral::vcs {
namespace {

// coral 0.1 wrote whole-object zstd frames; up to this size they are decoded once into memory to
// serve as a delta base or be read in chunks.
constexpr std::uint64_t k_whole_zstd_limit = 64ull << 20;

std::uint32_t load_u32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<std::uint32_t>(p[k]);
  return v;
}

[[noreturn]] void corrupt(const core::ObjectId& id, const std::string& what) {
  throw CorruptError("object " + id.hex() + " is corrupt: " + what, {}, "run 'coral fsck' to check the repository");
}

}  // namespace

ChunkSource::ChunkSource(storage::PackObject object)
  : m_object(std::move(object)), m_chunk_log2(delta::k_chunk_log2) {
  const auto& info = m_object.info();
  const auto enc = static_cast<delta::Encoding>(info.encoding);
  if (enc == delta::Encoding::raw) {
    if (info.stored_size != info.raw_size) corrupt(info.id, "raw object has the wrong size");
    return;
  }
  if (enc == delta::Encoding::zstd) return;
  if (enc != delta::Encoding::chunks)
    throw CorruptError("object " + info.id.hex() + " has unknown encoding " + std::to_string(info.encoding), {},
                       "this repository may have been written by a newer coral");
  if (info.stored_size < delta::k_prefix_bytes) corrupt(info.id, "chunked object too short");
  std::array<std::byte, delta::k_prefix_bytes> prefix{};
  m_object.read(0, prefix);
  delta::ChunksHeader header;
  try {
    header = delta::decode_prefix(prefix);
  } catch (const CorruptError& e) {
    corrupt(info.id, e.what());
  }
  m_chunk_log2 = header.chunk_log2;
  m_width = header.width;
  m_chain_height = header.chain_height;
  const std::uint64_t n = delta::chunk_count(info.raw_size, m_chunk_log2);
  if (n > (info.stored_size - delta::k_prefix_bytes) / 4) corrupt(info.id, "chunk table does not fit");
  std::vector<std::byte> table(static_cast<std::size_t>(n * 4));
  m_object.read(info.stored_size - table.size(), table);
  m_offsets.resize(static_cast<std::size_t>(n + 1));
  std::uint64_t at = delta::k_prefix_bytes;
  for (std::uint64_t i = 0; i < n; ++i) {
    m_offsets[i] = at;
    at += load_u32(table.data() + 4 * i);
  }
  m_offsets[n] = at;
  if (at != info.stored_size - table.size()) corrupt(info.id, "chunk sizes do not add up to the stored size");
}

std::shared_ptr<const ChunkSource> ChunkSource::open(const storage::Hdf5Store& store, const core::ObjectId& id) {
  // Open the chain from the top down, iteratively (bounded by k_max_depth).
  std::vector<std::shared_ptr<ChunkSource>> chain;
  core::ObjectId next = id;
  for (unsigned level = 0;; ++level) {
    auto object = store.open_object(next);
    if (!object) {
      if (level == 0) return nullptr;
      corrupt(chain.back()->info().id, "its delta base " + next.hex() + " is missing");
    }
    const auto& info = object->info();
    if (info.encoding == static_cast<std::uint8_t>(delta::Encoding::zstd) && info.raw_size > k_whole_zstd_limit) {
      if (level == 0) return nullptr;
      corrupt(chain.back()->info().id, "its delta base " + next.hex() + " cannot be read in chunks");
    }
    std::shared_ptr<ChunkSource> source(new ChunkSource(std::move(*object)));
    const core::ObjectId base = source->info().base;
    if (!chain.empty() && source->raw_size() != chain.back()->raw_size())
      corrupt(chain.back()->info().id, "its delta base " + next.hex() + " has a different size");
    chain.push_back(std::move(source));
    if (base.is_zero()) break;
    if (level + 1 >= k_max_depth) corrupt(id, "delta chain longer than " + std::to_string(k_max_depth));
    next = base;
  }
  for (std::size_t k = chain.size() - 1; k-- > 0;) {
    chain[k]->m_base = chain[k + 1];
    chain[k]->m_depth = chain[k + 1]->m_depth + 1;
  }
  return chain.front();
}

std::uint64_t ChunkSource::chunk_count() const noexcept { return delta::chunk_count(raw_size(), m_chunk_log2); }

std::size_t ChunkSource::chunk_size(std::uint64_t i) const noexcept {
  return delta::chunk_raw_size(raw_size(), m_chunk_log2, i);
}

const std::vector<std::byte>& ChunkSource::whole() const {
  std::call_once(m_whole_once, [&] {
    std::vector<std::byte> stored(static_cast<std::size_t>(info().stored_size));
    m_object.read(0, stored);
    try {
      m_whole = delta::decode(delta::Encoding::zstd, stored, raw_size());
    } catch (const CorruptError& e) {
      corrupt(info().id, e.what());
    }
  });
  return m_whole;
}

void ChunkSource::read_chunk(std::uint64_t i, std::span<std::byte> out) const { read_chunk(i, m_chunk_log2, out); }

void ChunkSource::read_chunk(std::uint64_t i, unsigned chunk_log2, std::span<std::byte> out) const {
  const std::uint64_t offset = i << chunk_log2;
  CORAL_ASSERT(offset <= raw_size() && out.size() == delta::chunk_raw_size(raw_size(), chunk_log2, i));
  const auto enc = static_cast<delta::Encoding>(info().encoding);
  if (enc == delta::Encoding::raw) {
    m_object.read(offset, out);
    return;
  }
  if (enc == delta::Encoding::zstd) {
    const auto& w = whole();
    std::memcpy(out.data(), w.data() + offset, out.size());
    return;
  }
  if (chunk_log2 != m_chunk_log2)
    corrupt(info().id, "it is a delta base for an object with another chunk size");
  const std::uint64_t begin = m_offsets[i], end = m_offsets[i + 1];
  if (end == begin) corrupt(info().id, "chunk " + std::to_string(i) + " is empty");
  // Buffers reused by this thread, one pair per depth: reading the base recurses one level down.
  thread_local std::array<std::vector<std::byte>, k_max_depth + 1> stored_buffers, base_buffers;
  auto& stored_buffer = stored_buffers[m_depth];
  auto& base = base_buffers[m_depth];
  if (stored_buffer.size() < end - begin) stored_buffer.resize(static_cast<std::size_t>(end - begin));
  const std::span<std::byte> stored(stored_buffer.data(), static_cast<std::size_t>(end - begin));
  m_object.read(begin, stored);
  std::span<const std::byte> base_bytes;
  try {
    if (delta::chunk_uses_base(stored)) {
      if (!m_base) corrupt(info().id, "chunk " + std::to_string(i) + " needs a delta base and the object has none");
      if (base.size() < out.size()) base.resize(out.size());
      base_bytes = std::span<const std::byte>(base.data(), out.size());
      m_base->read_chunk(i, chunk_log2, {base.data(), out.size()});
    }
    delta::decode_chunk(stored, base_bytes, m_width, out);
  } catch (const CorruptError& e) {
    if (std::string(e.what()).find(info().id.hex()) != std::string::npos) throw;
    corrupt(info().id, "chunk " + std::to_string(i) + ": " + e.what());
  }
}

}  // namespace coral::vcs
