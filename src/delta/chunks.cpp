#include "coral/delta/chunks.hpp"

#include "byte_io.hpp"
#include "chunk_estimate.hpp"
#include "plane_coding.hpp"
#include "planes.hpp"
#include "scaled_ints.hpp"
#include "value_dict.hpp"
#include "zstd_block.hpp"

#include "coral/core/error.hpp"

#include <cstring>
#include <optional>
#include <string>

// Stored chunk: u8 kind | payload. With len = raw length, w = width, n = len / w, t = len % w:
//   0 raw         the len bytes
//   1 zstd        one zstd frame of the len bytes
//   2 planes      w plane records (plane_coding.hpp) of n bytes each, then the t tail bytes
//   3 xor planes  as 2, of the chunk XOR the base's bytes (the tail too)
//   4 dictionary  u8 k-1 | k values of w bytes (ascending as little-endian integers)
//                 | one plane record of the n index bytes | the t tail bytes
//   5 scaled ints (w = 4 only) u8 log2 B (5..13) | w plane records of m bytes: the byte planes of
//                 the m = ceil(n / B) float32 block scales | one plane record of the n q bytes (int8)
//                 | the t tail bytes. Element i = float(q[i]) * scale[i / B], one float32 multiply;
//                 every q byte is valid (-128..127).

namespace coral::delta {
namespace {

enum class ChunkKind : std::uint8_t { raw = 0, zstd = 1, planes = 2, xor_planes = 3, dictionary = 4, scaled_ints = 5 };

constexpr std::uint8_t k_prefix_version = 1;
constexpr std::size_t k_min_dict_elements = 64;
// zstd of the whole chunk is tried when its sampled estimate is within 5% of the best other one.
constexpr std::size_t k_zstd_margin_percent = 105;

bool valid_width(unsigned w) noexcept { return w == 1 || w == 2 || w == 4 || w == 8; }

std::vector<std::byte>& scratch(int which, std::size_t size) {
  thread_local std::vector<std::byte> buffers[2];
  auto& b = buffers[which];
  if (b.size() < size) b.resize(size);
  return b;
}

void encode_planes(std::span<const std::byte> data, unsigned w, int level, ChunkKind kind,
                   std::vector<std::byte>& out) {
  const std::size_t n = data.size() / w;
  put_u8(out, static_cast<unsigned>(kind));
  const std::byte* planes = data.data();
  if (w > 1) {
    auto& buf = scratch(1, n * w);
    split_planes(data.data(), n, w, buf.data());
    planes = buf.data();
  }
  for (unsigned p = 0; p < w; ++p) encode_plane({planes + p * n, n}, level, out);
  put_bytes(out, data.subspan(n * w));
}

void encode_dictionary(std::span<const std::byte> raw, unsigned w, const ValueDictionary& dict, int level,
                       std::vector<std::byte>& out) {
  const std::size_t n = raw.size() / w;
  put_u8(out, static_cast<unsigned>(ChunkKind::dictionary));
  put_u8(out, static_cast<unsigned>(dict.values.size() - 1));
  for (auto v : dict.values)
    for (unsigned b = 0; b < w; ++b) put_u8(out, (v >> (8 * b)) & 0xff);
  auto& indexes = scratch(1, n);
  map_to_indexes(raw.data(), n, w, dict, indexes.data());
  encode_plane({indexes.data(), n}, level, out);
  put_bytes(out, raw.subspan(n * w));
}

std::size_t estimate_dictionary(const ValueDictionary& dict, std::size_t n, unsigned w) noexcept {
  return 2 + dict.values.size() * w + estimate_plane(dict.index_counts, n);
}

void encode_scaled(std::span<const std::byte> raw, const ScaledInts& sc, const std::byte* q, int level,
                   std::vector<std::byte>& out) {
  const std::size_t n = raw.size() / 4, m = sc.scales.size();
  put_u8(out, static_cast<unsigned>(ChunkKind::scaled_ints));
  put_u8(out, sc.block_log2);
  std::vector<std::byte> scales(m * 4), planes(m * 4);
  for (std::size_t b = 0; b < m; ++b)
    for (unsigned i = 0; i < 4; ++i) scales[b * 4 + i] = static_cast<std::byte>(sc.scales[b] >> (8 * i));
  split_planes(scales.data(), m, 4, planes.data());
  for (unsigned p = 0; p < 4; ++p) encode_plane({planes.data() + p * m, m}, level, out);
  encode_plane({q, n}, level, out);
  put_bytes(out, raw.subspan(n * 4));
}

void decode_scaled(ByteReader& in, unsigned w, std::span<std::byte> out) {
  if (w != 4) throw CorruptError("scaled integer chunk with " + std::to_string(w) + "-byte elements");
  const std::size_t n = out.size() / 4;
  const unsigned block_log2 = in.u8();
  if (block_log2 < k_min_scaled_block_log2 || block_log2 > k_max_scaled_block_log2)
    throw CorruptError("scaled integer chunk has blocks of 2^" + std::to_string(block_log2));
  const std::size_t m = (n + (std::size_t{1} << block_log2) - 1) >> block_log2;
  std::vector<std::byte> planes(m * 4), bytes(m * 4);
  for (unsigned p = 0; p < 4; ++p) decode_plane(in, {planes.data() + p * m, m});
  merge_planes(planes.data(), m, 4, bytes.data());
  std::vector<std::uint32_t> scales(m);
  for (std::size_t b = 0; b < m; ++b)
    for (unsigned i = 0; i < 4; ++i) scales[b] |= std::to_integer<std::uint32_t>(bytes[b * 4 + i]) << (8 * i);
  auto& q = scratch(0, n);
  decode_plane(in, {q.data(), n});
  const auto tail = in.bytes(out.size() - n * 4);
  expand_scaled_ints(q.data(), n, block_log2, scales, out.data());
  if (!tail.empty()) std::memcpy(out.data() + n * 4, tail.data(), tail.size());
}

void decode_planes(ByteReader& in, unsigned w, std::span<std::byte> out) {
  const std::size_t n = out.size() / w;
  if (w == 1) {
    decode_plane(in, out);
    return;
  }
  auto& planes = scratch(0, n * w);
  for (unsigned p = 0; p < w; ++p) decode_plane(in, {planes.data() + p * n, n});
  const auto tail = in.bytes(out.size() - n * w);
  merge_planes(planes.data(), n, w, out.data());
  if (!tail.empty()) std::memcpy(out.data() + n * w, tail.data(), tail.size());
}

void decode_dictionary(ByteReader& in, unsigned w, std::span<std::byte> out) {
  if (w == 1) throw CorruptError("value dictionary chunk with 1-byte elements");
  const std::size_t n = out.size() / w;
  const std::size_t k = in.u8() + 1;
  const auto table = in.bytes(k * w);
  std::vector<std::uint64_t> values(k);
  for (std::size_t i = 0; i < k; ++i)
    for (unsigned b = 0; b < w; ++b) values[i] |= std::uint64_t{std::to_integer<std::uint8_t>(table[i * w + b])} << (8 * b);
  auto& indexes = scratch(0, n);
  decode_plane(in, {indexes.data(), n});
  expand_indexes(indexes.data(), n, w, values, out.data());
  const auto tail = in.bytes(out.size() - n * w);
  if (!tail.empty()) std::memcpy(out.data() + n * w, tail.data(), tail.size());
}

void store_raw(std::span<const std::byte> raw, std::vector<std::byte>& out) {
  out.resize(raw.size() + 1);
  out[0] = std::byte{static_cast<std::uint8_t>(ChunkKind::raw)};
  if (!raw.empty()) std::memcpy(out.data() + 1, raw.data(), raw.size());
}

ChunkKind read_kind(std::span<const std::byte> stored) {
  if (stored.empty()) throw CorruptError("chunk is empty");
  const unsigned kind = std::to_integer<unsigned>(stored[0]);
  if (kind > static_cast<unsigned>(ChunkKind::scaled_ints)) throw CorruptError("unknown chunk coding " + std::to_string(kind));
  return static_cast<ChunkKind>(kind);
}

}  // namespace

std::array<std::byte, k_prefix_bytes> encode_prefix(const ChunksHeader& h) {
  CORAL_ASSERT(valid_width(h.width) && h.chunk_log2 >= 10 && h.chunk_log2 <= 30 && h.chain_height <= k_max_chain_height);
  return {std::byte{k_prefix_version}, static_cast<std::byte>(h.width), static_cast<std::byte>(h.chunk_log2),
          static_cast<std::byte>((h.uses_base ? 1u : 0u) | (h.chain_height << 1))};
}

ChunksHeader decode_prefix(std::span<const std::byte> prefix) {
  if (prefix.size() < k_prefix_bytes) throw CorruptError("chunked object is shorter than its prefix");
  const unsigned version = std::to_integer<unsigned>(prefix[0]);
  if (version != k_prefix_version)
    throw CorruptError("chunked object has unknown version " + std::to_string(version));
  ChunksHeader h;
  h.width = std::to_integer<unsigned>(prefix[1]);
  h.chunk_log2 = std::to_integer<unsigned>(prefix[2]);
  const unsigned flags = std::to_integer<unsigned>(prefix[3]);
  if (!valid_width(h.width)) throw CorruptError("chunked object has element width " + std::to_string(h.width));
  if (h.chunk_log2 < 10 || h.chunk_log2 > 30)
    throw CorruptError("chunked object has chunk size 2^" + std::to_string(h.chunk_log2));
  h.uses_base = (flags & 1) != 0;
  h.chain_height = flags >> 1;
  return h;
}

std::uint64_t chunk_count(std::uint64_t raw_size, unsigned chunk_log2) noexcept {
  return (raw_size >> chunk_log2) + ((raw_size & ((std::uint64_t{1} << chunk_log2) - 1)) != 0);
}

std::size_t chunk_raw_size(std::uint64_t raw_size, unsigned chunk_log2, std::uint64_t i) noexcept {
  if (i >= chunk_count(raw_size, chunk_log2)) return 0;
  const std::uint64_t begin = i << chunk_log2;
  return static_cast<std::size_t>(std::min<std::uint64_t>(std::uint64_t{1} << chunk_log2, raw_size - begin));
}

unsigned plane_width(core::DType dtype) noexcept { return static_cast<unsigned>(core::dtype_size(dtype)); }

EncodedChunk encode_chunk(std::span<const std::byte> raw, std::span<const std::byte> base, unsigned width,
                          const ChunkEncodeOptions& options) {
  CORAL_ASSERT(valid_width(width));
  CORAL_ASSERT(base.empty() || base.size() == raw.size());
  const std::size_t n = raw.size() / width;
  const int level = options.zstd_level;
  EncodedChunk result;
  auto& out = result.bytes;
  if (raw.size() < 2) {
    store_raw(raw, out);
    return result;
  }

  // Estimate every coding from samples, then encode the best one (and zstd when it is close).
  std::size_t best = estimate_planes(raw, {}, n, width);
  ChunkKind kind = ChunkKind::planes;
  if (!base.empty()) {
    const std::size_t x = estimate_planes(raw, base, n, width);
    if (x < best) best = x, kind = ChunkKind::xor_planes;
  }
  // Scaled integers first: when they win, a value dictionary could save at most the scales
  // (n / 32 bytes) but costs two hash lookups per element, so it is not tried. (When they do not
  // win, as for a constant chunk, the dictionary is tried as usual.)
  std::optional<ScaledInts> scaled;
  if (width == 4 && n >= std::size_t{1} << k_min_scaled_block_log2)
    scaled = find_scaled_ints(raw.data(), n, scratch(1, n).data());
  if (scaled) {
    const std::size_t s = estimate_scaled_ints(*scaled, n);
    if (s < best) best = s, kind = ChunkKind::scaled_ints;
  }
  std::optional<ValueDictionary> dict;
  if (kind != ChunkKind::scaled_ints && width > 1 && n >= k_min_dict_elements) dict = find_dictionary(raw.data(), n, width);
  if (dict) {
    const std::size_t d = estimate_dictionary(*dict, n, width);
    if (d < best) best = d, kind = ChunkKind::dictionary;
  }
  const bool try_zstd = estimate_zstd(raw, level) * 100 < best * k_zstd_margin_percent;

  out.reserve(raw.size() + 1);
  if (kind == ChunkKind::scaled_ints) {
    encode_scaled(raw, *scaled, scratch(1, n).data(), level, out);
  } else if (kind == ChunkKind::dictionary) {
    encode_dictionary(raw, width, *dict, level, out);
  } else if (kind == ChunkKind::xor_planes) {
    auto& x = scratch(0, raw.size());
    std::memcpy(x.data(), raw.data(), raw.size());
    xor_bytes(x.data(), base.data(), raw.size());
    encode_planes({x.data(), raw.size()}, width, level, kind, out);
  } else {
    encode_planes(raw, width, level, kind, out);
  }
  if (try_zstd) {
    std::vector<std::byte> z{std::byte{static_cast<std::uint8_t>(ChunkKind::zstd)}};
    if (zstd_append(raw, level, std::min(out.size(), raw.size() + 1) - 2, z)) {
      out.swap(z);
      kind = ChunkKind::zstd;
    }
  }
  if (out.size() > raw.size()) {
    store_raw(raw, out);
    kind = ChunkKind::raw;
  }
  result.uses_base = kind == ChunkKind::xor_planes;
  return result;
}

bool chunk_uses_base(std::span<const std::byte> stored) { return read_kind(stored) == ChunkKind::xor_planes; }

void decode_chunk(std::span<const std::byte> stored, std::span<const std::byte> base, unsigned width,
                  std::span<std::byte> out) {
  if (!valid_width(width)) throw CorruptError("chunk has element width " + std::to_string(width));
  const ChunkKind kind = read_kind(stored);
  ByteReader in(stored.subspan(1));
  switch (kind) {
    case ChunkKind::raw:
      if (in.remaining() != out.size()) throw CorruptError("raw chunk has the wrong length");
      if (!out.empty()) std::memcpy(out.data(), stored.data() + 1, out.size());
      return;
    case ChunkKind::zstd: return zstd_decode_exact(stored.subspan(1), out);
    case ChunkKind::planes: decode_planes(in, width, out); break;
    case ChunkKind::xor_planes:
      if (base.size() != out.size()) throw CorruptError("chunk needs its base object's bytes");
      decode_planes(in, width, out);
      xor_bytes(out.data(), base.data(), out.size());
      break;
    case ChunkKind::dictionary: decode_dictionary(in, width, out); break;
    case ChunkKind::scaled_ints: decode_scaled(in, width, out); break;
  }
  if (!in.at_end()) throw CorruptError("chunk has bytes after its end");
}

}  // namespace coral::delta
