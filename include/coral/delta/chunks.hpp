#pragma once
// The chunked tensor encoding (Encoding::chunks, id 2; docs/format.md "Chunked objects").
//
// An object's raw bytes are cut into chunks of 2^chunk_log2 bytes (the last one shorter). Each
// chunk is encoded on its own, so chunks encode and decode on several threads, memory does not
// grow with the tensor, and a reader can decode chunk i without the others. A chunk may be coded
// against the same byte range of a base object of the same size (XOR delta): the base id lives in
// the pack index, not here.
//
// Stored object:  prefix | chunk 0 | chunk 1 | ... | chunk n-1 | trailer
//   prefix   4 bytes: u8 version (1), u8 element width w (1, 2, 4 or 8), u8 chunk_log2,
//            u8 flags: bit 0 = encoded with a base offered (informational; the pack index row's
//            base says whether it has one); bits 1-7 = chain height: how many older versions decode
//            through this object (written on self-contained objects, 0 elsewhere)
//   trailer  n x u32 little-endian: stored size of each chunk; n = ceil(raw_size / 2^chunk_log2)
// The trailer comes last so that a writer can stream chunks out before it knows their sizes.
//
// delta knows dtypes and bytes, never files, commits or HDF5.

#include "coral/core/dtype.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace coral::delta {

constexpr unsigned k_chunk_log2 = 22;  // 4 MiB
constexpr std::size_t k_chunk_bytes = std::size_t{1} << k_chunk_log2;
constexpr std::size_t k_prefix_bytes = 4;
// Upper bound of what encode_chunk adds to a chunk's raw size (it falls back to a raw chunk).
constexpr std::size_t k_max_chunk_overhead = 16;

constexpr unsigned k_max_chain_height = 127;

struct ChunksHeader {
  unsigned width = 1;                 // element width of the byte planes: 1, 2, 4 or 8
  unsigned chunk_log2 = k_chunk_log2;
  bool uses_base = false;
  unsigned chain_height = 0;          // 0..k_max_chain_height
};

std::array<std::byte, k_prefix_bytes> encode_prefix(const ChunksHeader& h);
// Throws CorruptError for an unknown version, a width not in {1,2,4,8}, or chunk_log2 outside [10, 30].
ChunksHeader decode_prefix(std::span<const std::byte> prefix);
std::uint64_t chunk_count(std::uint64_t raw_size, unsigned chunk_log2) noexcept;
// Raw length of chunk i.
std::size_t chunk_raw_size(std::uint64_t raw_size, unsigned chunk_log2, std::uint64_t i) noexcept;

// The element width used for byte planes of a dtype (its size; 1 for opaque bytes).
unsigned plane_width(core::DType dtype) noexcept;

struct ChunkEncodeOptions {
  int zstd_level = 1;
};

struct EncodedChunk {
  std::vector<std::byte> bytes;
  bool uses_base = false;
};

// Encodes one chunk; the smallest of the chunk codings wins. `base` is empty or exactly as long as
// `raw` (the base object's bytes at the same offset); the result uses it only when that is smaller.
// Never longer than raw.size() + k_max_chunk_overhead. Deterministic: the same input gives the same
// bytes on every machine and thread count.
EncodedChunk encode_chunk(std::span<const std::byte> raw, std::span<const std::byte> base, unsigned width,
                          const ChunkEncodeOptions& options = {});

// True when decoding this stored chunk needs the base's bytes. Throws CorruptError when malformed.
bool chunk_uses_base(std::span<const std::byte> stored);

// Decodes one stored chunk into `out` (exactly its raw length). `base` must be the base object's
// bytes at the same offset (same length as out) when chunk_uses_base(stored), else may be empty.
// Throws CorruptError on any malformed input; never reads or writes out of bounds.
void decode_chunk(std::span<const std::byte> stored, std::span<const std::byte> base, unsigned width,
                  std::span<std::byte> out);

}  // namespace coral::delta
