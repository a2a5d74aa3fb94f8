#pragma once
// Encodings of object bytes (DESIGN.md §5). delta knows dtypes and bytes, never files, commits or
// HDF5. Every encoding is lossless: decode(encode(x)) == x byte for byte.
//
// Encoding ids are stored in pack indexes (docs/format.md) and never change meaning:
//   0 raw     the bytes as they are
//   1 zstd    one zstd frame of the raw bytes (metadata objects; data objects of coral 0.1)
//   2 chunks  independent chunks, each raw / zstd / byte planes / XOR planes / value dictionary,
//             optionally against a base object (chunks.hpp)

#include "coral/core/dtype.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace coral::delta {

enum class Encoding : std::uint8_t { raw = 0, zstd = 1, chunks = 2 };

const char* encoding_name(Encoding e) noexcept;
bool is_known_encoding(std::uint8_t value) noexcept;

struct Encoded {
  Encoding encoding = Encoding::raw;
  std::vector<std::byte> bytes;
};

struct EncodeOptions {
  int zstd_level = 1;
  int threads = 1;  // zstd workers for inputs of 8 MiB and more (the output depends only on the input)
};

// Picks the smaller of raw and zstd (for metadata objects); never bigger than raw.
Encoded encode(std::span<const std::byte> raw, core::DType dtype, const EncodeOptions& options = {});

// Decodes in pieces of at most a few MiB handed to `sink` in order, so memory does not grow with
// the object. Same errors as decode(); the sink may have seen a prefix when it throws.
using ByteSink = std::function<void(std::span<const std::byte>)>;
void decode_stream(Encoding encoding, std::span<const std::byte> stored, std::uint64_t raw_size, const ByteSink& sink);

// The same, fed with the stored bytes piece by piece: feed() any number of times, then finish()
// (which throws CorruptError unless exactly raw_size bytes came out of a complete encoding).
class StreamDecoder {
public:
  StreamDecoder(Encoding encoding, std::uint64_t raw_size, ByteSink sink);
  ~StreamDecoder();
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;
  void feed(std::span<const std::byte> stored);
  void finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Decodes into exactly raw_size bytes. Throws CorruptError when the stored bytes do not decode
// to raw_size bytes or the encoding is unknown.
std::vector<std::byte> decode(Encoding encoding, std::span<const std::byte> stored, std::uint64_t raw_size);

}  // namespace coral::delta
