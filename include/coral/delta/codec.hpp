#pragma once
// Encodings of object bytes (DESIGN.md §5). delta knows dtypes and bytes, never files, commits or
// HDF5. Every encoding is lossless: decode(encode(x)) == x byte for byte.
//
// Encoding ids are stored in pack indexes (docs/format.md) and never change meaning:
//   0 raw   the bytes as they are
//   1 zstd  one zstd frame of the raw bytes
// Later encodings (planes, xor) get new ids.

#include "coral/core/dtype.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace coral::delta {

enum class Encoding : std::uint8_t { raw = 0, zstd = 1 };

const char* encoding_name(Encoding e) noexcept;
bool is_known_encoding(std::uint8_t value) noexcept;

struct Encoded {
  Encoding encoding = Encoding::raw;
  std::vector<std::byte> bytes;
};

struct EncodeOptions {
  int zstd_level = 1;
};

// Picks the smallest of the known encodings; never bigger than raw.
Encoded encode(std::span<const std::byte> raw, core::DType dtype, const EncodeOptions& options = {});

// Decodes into exactly raw_size bytes. Throws CorruptError when the stored bytes do not decode
// to raw_size bytes or the encoding is unknown.
std::vector<std::byte> decode(Encoding encoding, std::span<const std::byte> stored, std::uint64_t raw_size);

}  // namespace coral::delta
