#pragma once
// A checkpoint file seen as skeleton bytes + tensor extents (DESIGN.md §2).
//
// Parsers find the tensor extents; every byte not covered by an extent is skeleton (headers,
// metadata, padding, opaque members). The skeleton is stored as one object and each extent as a
// tensor object; checkout concatenates them back in offset order, so the round trip is
// byte-identical by construction.

#include "coral/core/dtype.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coral::core {

struct TensorExtent {
  std::string name;                  // unique within the file
  DType dtype = DType::u8;
  std::vector<std::uint64_t> shape;  // product(shape) * dtype_size(dtype) == length
  std::uint64_t offset = 0;          // absolute byte offset in the file
  std::uint64_t length = 0;
  bool big_endian = false;           // only .npy/.npz can say so
  bool operator==(const TensorExtent&) const = default;
};

enum class FileFormat { raw, safetensors, npy, npz };

std::string_view format_name(FileFormat f) noexcept;  // "raw", "safetensors", "npy", "npz"
std::optional<FileFormat> find_format(std::string_view name) noexcept;

struct FileLayout {
  FileFormat format = FileFormat::raw;
  // Sorted by offset, non-overlapping, all inside the file. Empty for raw files.
  std::vector<TensorExtent> tensors;
};

// Which format a file claims, by extension first, then by magic bytes at its start
// (`head` is the first bytes of the file; 8 are enough).
FileFormat detect_format(std::string_view filename, std::span<const std::byte> head) noexcept;

// Parses a whole file image. `name` is used in messages only. Throws InvalidInputError
// ("<name>: <fault>") when the file claims `format` but fails validation. Never trusts a length
// or offset it reads; never reads outside `data`.
FileLayout parse_layout(FileFormat format, std::string_view name, std::span<const std::byte> data);

// detect_format + parse_layout.
FileLayout parse_file_layout(std::string_view name, std::span<const std::byte> data);

// The skeleton: every byte of `data` outside the extents, in order.
std::string extract_skeleton(const FileLayout& layout, std::span<const std::byte> data);

// A checksum a format keeps over tensor bytes: an .npz member's CRC-32 covers the member, tensor
// data included, so a file put together from new tensor bytes (a merge) needs new checksums.
struct LayoutChecksum {
  std::uint64_t begin = 0, end = 0;              // the file bytes it covers
  std::vector<std::uint64_t> skeleton_offsets;   // its 4-byte little-endian copies in the skeleton
};
// The checksums covering tensor extents of a file given as its skeleton and layout (`size`
// bytes in all; the file is never assembled). Empty for formats without any. Throws
// InvalidInputError as parse_layout does when the skeleton does not describe a valid file.
std::vector<LayoutChecksum> layout_checksums(const FileLayout& layout, std::span<const std::byte> skeleton,
                                             std::uint64_t size);

// CRC-32 (ISO-HDLC, as zip and zlib): continue a running value by passing it as `crc`.
std::uint32_t crc32(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

}  // namespace coral::core
