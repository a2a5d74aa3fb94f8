#pragma once
// The pack file format (docs/format.md "Pack files"). A pack is an HDF5 file written once under a
// temp name, published by rename and never opened for writing again:
//
//   /                    attribute coral_pack_version: int32 scalar = 1
//   /data                uint8[n], chunked (chunks of at most 256 KiB), extendible, no filter:
//                        the encoded objects back to back
//   /index               compound[rows], contiguous, rows sorted by id, packed (57 bytes a row):
//                          offset  0  id        uint8[16]   object id (XXH3-128, big-endian)
//                          offset 16  offset    uint64 LE   start of the object in /data
//                          offset 24  length    uint64 LE   encoded (stored) size
//                          offset 32  raw_size  uint64 LE   decoded size
//                          offset 40  encoding  uint8       delta::Encoding value (opaque here)
//                          offset 41  base      uint8[16]   delta base id, all zero when none
//
// The file is named "pack-<hex>.h5", hex = XXH3-128 of the /index rows' bytes exactly as stored
// (rows sorted by id, 57 bytes each), so a reader can check the index against the name.

#include "coral/core/object_id.hpp"
#include "coral/storage/object_store.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coral::storage {

inline constexpr std::int32_t k_pack_version = 1;
inline constexpr std::size_t k_index_row_size = 57;
inline constexpr std::uint64_t k_pack_chunk_bytes = 256ull << 10;  // bounds the last chunk's slack
inline constexpr const char* k_pack_version_attribute = "coral_pack_version";
inline constexpr const char* k_pack_data_dataset = "data";
inline constexpr const char* k_pack_index_dataset = "index";

struct IndexRow {
  core::ObjectId id;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t raw_size = 0;
  std::uint8_t encoding = 0;
  core::ObjectId base;

  ObjectInfo info() const { return {id, encoding, base, raw_size, length}; }
};

// Rows <-> the packed little-endian bytes of /index.
std::vector<std::byte> serialize_rows(std::span<const IndexRow> rows);
std::vector<IndexRow> parse_rows(std::span<const std::byte> bytes);

// "pack-<hex of XXH3-128 of the serialized rows>".
std::string pack_name_for(std::span<const std::byte> serialized_rows);
// "pack-<32 hex>" for a file name "pack-<32 hex>.h5", nullopt for anything else (temps too).
std::optional<std::string> pack_name_of_file(std::string_view filename);
// The 32 hex digits of a pack name ("pack-<hex>").
std::string_view pack_hex(std::string_view pack_name);
bool is_pack_name(std::string_view name);

}  // namespace coral::storage
