#pragma once
// A validating reader for the directory of a zip archive (grammar in zip.cpp). It reads no
// member data; .npz (and later PyTorch zip checkpoints) find their tensors in the members.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coral::core::formats {

struct ZipMember {
  std::string name;                    // as stored, bytes (UTF-8 or CP437)
  std::uint16_t flags = 0;             // general purpose bit flags; bit 0: encrypted
  std::uint16_t method = 0;            // 0 stored, 8 deflated, ...
  std::uint64_t compressed_size = 0;   // bytes of member data in the file
  std::uint64_t uncompressed_size = 0;
  std::uint64_t header_offset = 0;     // local file header
  std::uint64_t data_offset = 0;       // first byte of member data
  std::uint64_t central_offset = 0;    // its central directory entry
};

inline constexpr std::uint16_t k_zip_stored = 0;
inline constexpr std::uint16_t k_zip_flag_encrypted = 1;
inline constexpr std::uint16_t k_zip_flag_descriptor = 8;  // sizes and CRC-32 follow the data
// Where the CRC-32 sits: in the local header, the central directory entry and the descriptor.
inline constexpr std::uint64_t k_zip_local_crc = 14;
inline constexpr std::uint64_t k_zip_central_crc = 16;
inline constexpr std::uint32_t k_zip_descriptor_sig = 0x08074b50;

// Reads the central directory and every member's local header, in central-directory order.
// Guarantees for each member: header and data lie inside `data` and before the central
// directory, and no two members' [header_offset, data end) ranges overlap. Throws
// InvalidInputError("<name>: <fault>").
std::vector<ZipMember> read_zip_members(std::string_view name, std::span<const std::byte> data);

}  // namespace coral::core::formats
