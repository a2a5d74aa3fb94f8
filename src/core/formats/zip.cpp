// Zip archives (PKWARE APPNOTE.TXT 6.3), the parts coral reads. All integers little-endian.
//
//   archive  := { local_header data [descriptor] }  central_directory
//               [ zip64_eocd  zip64_locator ]  eocd  comment
//   eocd     := 0x06054b50 disk:u16 cd_disk:u16 entries_here:u16 entries:u16 cd_size:u32
//               cd_offset:u32 comment_len:u16                                        (22 bytes)
//               found by searching backwards from the end; the comment is <= 65535 bytes
//   zip64_locator := 0x07064b50 disk:u32 zip64_eocd_offset:u64 disks:u32           (20 bytes,
//               right before eocd; when present the zip64 record's values replace eocd's)
//   zip64_eocd := 0x06064b50 record_size:u64 made_by:u16 needed:u16 disk:u32 cd_disk:u32
//               entries_here:u64 entries:u64 cd_size:u64 cd_offset:u64                (56 bytes)
//   central_directory := entries * cd_entry, inside [cd_offset, cd_offset + cd_size)
//   cd_entry := 0x02014b50 made_by:u16 needed:u16 flags:u16 method:u16 time:u16 date:u16
//               crc32:u32 csize:u32 usize:u32 name_len:u16 extra_len:u16 comment_len:u16
//               disk_start:u16 internal_attr:u16 external_attr:u32 header_offset:u32   (46 bytes)
//               name[name_len] extra[extra_len] comment[comment_len]
//   extra    := { id:u16 size:u16 payload[size] }; id 0x0001 (zip64) holds, in this order and
//               only for the fields stored as 0xFFFFFFFF: usize:u64 csize:u64 header_offset:u64
//   local_header := 0x04034b50 needed:u16 flags:u16 method:u16 time:u16 date:u16 crc32:u32
//               csize:u32 usize:u32 name_len:u16 extra_len:u16                         (30 bytes)
//               name[name_len] extra[extra_len]; data follows
//
// Sizes come from the central directory (the local header's may be 0 when a descriptor follows
// the data, or 0xFFFFFFFF with zip64), but the data starts after the *local* name and extra
// fields, whose lengths can differ from the central directory's. Offsets are absolute: archives
// with bytes prepended (self-extracting) are not supported. Multi-disk archives are rejected.

#include "core/formats/zip.hpp"

#include "core/formats/parse_util.hpp"

#include <algorithm>

namespace coral::core::formats {
namespace {

constexpr std::uint32_t k_local_sig = 0x04034b50;
constexpr std::uint32_t k_central_sig = 0x02014b50;
constexpr std::uint32_t k_eocd_sig = 0x06054b50;
constexpr std::uint32_t k_zip64_locator_sig = 0x07064b50;
constexpr std::uint32_t k_zip64_eocd_sig = 0x06064b50;
constexpr std::uint64_t k_eocd_size = 22;
constexpr std::uint64_t k_zip64_locator_size = 20;
constexpr std::uint64_t k_zip64_eocd_size = 56;
constexpr std::uint64_t k_central_size = 46;
constexpr std::uint64_t k_local_size = 30;
constexpr std::uint64_t k_max_comment = 65535;

struct Directory {
  std::uint64_t entries = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

bool has_sig(std::span<const std::byte> data, std::uint64_t pos, std::uint32_t sig) {
  return in_range(pos, 4, data.size()) && load_le<std::uint32_t>(data, pos) == sig;
}

std::uint64_t find_eocd(std::string_view name, std::span<const std::byte> data) {
  const std::uint64_t size = data.size();
  if (size >= k_eocd_size) {
    const std::uint64_t last = size - k_eocd_size;
    const std::uint64_t lowest = last > k_max_comment ? last - k_max_comment : 0;
    for (std::uint64_t pos = last + 1; pos-- > lowest;) {
      if (has_sig(data, pos, k_eocd_sig) &&
          load_le<std::uint16_t>(data, pos + 20) <= size - pos - k_eocd_size)
        return pos;
    }
  }
  throw_invalid(name, "not a zip archive (no end of central directory record)");
}

Directory read_directory(std::string_view name, std::span<const std::byte> data) {
  const std::uint64_t eocd = find_eocd(name, data);
  Directory dir;
  std::uint64_t disk = load_le<std::uint16_t>(data, eocd + 4);
  std::uint64_t cd_disk = load_le<std::uint16_t>(data, eocd + 6);
  std::uint64_t entries_here = load_le<std::uint16_t>(data, eocd + 8);
  dir.entries = load_le<std::uint16_t>(data, eocd + 10);
  dir.size = load_le<std::uint32_t>(data, eocd + 12);
  dir.offset = load_le<std::uint32_t>(data, eocd + 16);
  std::uint64_t directory_end = eocd;  // the central directory ends before this

  if (eocd >= k_zip64_locator_size &&
      has_sig(data, eocd - k_zip64_locator_size, k_zip64_locator_sig)) {
    const std::uint64_t locator = eocd - k_zip64_locator_size;
    const auto record = load_le<std::uint64_t>(data, locator + 8);
    if (record > locator || locator - record < k_zip64_eocd_size ||
        !has_sig(data, record, k_zip64_eocd_sig))
      throw_invalid(name, "zip64 end of central directory record is missing or out of range");
    disk = load_le<std::uint32_t>(data, record + 16);
    cd_disk = load_le<std::uint32_t>(data, record + 20);
    entries_here = load_le<std::uint64_t>(data, record + 24);
    dir.entries = load_le<std::uint64_t>(data, record + 32);
    dir.size = load_le<std::uint64_t>(data, record + 40);
    dir.offset = load_le<std::uint64_t>(data, record + 48);
    directory_end = record;
  }
  if (disk != 0 || cd_disk != 0 || entries_here != dir.entries)
    throw_invalid(name, "multi-disk zip archives are not supported");
  if (!in_range(dir.offset, dir.size, directory_end))
    throw_invalid(name, "central directory (offset " + std::to_string(dir.offset) + ", " +
                            std::to_string(dir.size) + " bytes) is out of range");
  if (dir.entries > dir.size / k_central_size)
    throw_invalid(name, "central directory of " + std::to_string(dir.size) + " bytes cannot hold " +
                            std::to_string(dir.entries) + " entries");
  return dir;
}

// Applies a zip64 extra field (id 0x0001) to the fields stored as 0xFFFFFFFF.
void apply_extra(std::string_view where, std::span<const std::byte> extra, ZipMember& m) {
  std::uint64_t pos = 0;
  while (extra.size() - pos >= 4) {
    const auto id = load_le<std::uint16_t>(extra, pos);
    const std::uint64_t len = load_le<std::uint16_t>(extra, pos + 2);
    pos += 4;
    if (len > extra.size() - pos) throw_invalid(where, "extra field runs past its entry");
    if (id == 0x0001) {
      const auto field = extra.subspan(pos, len);
      std::uint64_t at = 0;
      for (std::uint64_t* value : {&m.uncompressed_size, &m.compressed_size, &m.header_offset}) {
        if (*value != 0xFFFFFFFF) continue;
        if (field.size() - at < 8) throw_invalid(where, "zip64 extra field is too short");
        *value = load_le<std::uint64_t>(field, at);
        at += 8;
      }
    }
    pos += len;
  }
}

// One central-directory entry at `pos` (inside the directory ending at `end`); advances `pos`.
ZipMember read_central_entry(std::string_view name, std::span<const std::byte> data,
                             std::uint64_t& pos, std::uint64_t end) {
  if (end - pos < k_central_size || !has_sig(data, pos, k_central_sig))
    throw_invalid(name, "bad central directory entry at offset " + std::to_string(pos));
  ZipMember m;
  m.central_offset = pos;
  m.flags = load_le<std::uint16_t>(data, pos + 8);
  m.method = load_le<std::uint16_t>(data, pos + 10);
  m.compressed_size = load_le<std::uint32_t>(data, pos + 20);
  m.uncompressed_size = load_le<std::uint32_t>(data, pos + 24);
  const std::uint64_t name_len = load_le<std::uint16_t>(data, pos + 28);
  const std::uint64_t extra_len = load_le<std::uint16_t>(data, pos + 30);
  const std::uint64_t comment_len = load_le<std::uint16_t>(data, pos + 32);
  m.header_offset = load_le<std::uint32_t>(data, pos + 42);
  const std::uint64_t variable = name_len + extra_len + comment_len;
  if (end - pos - k_central_size < variable)
    throw_invalid(name, "central directory entry at offset " + std::to_string(pos) +
                            " runs past the directory");
  m.name = std::string(as_chars(data.subspan(pos + k_central_size, name_len)));
  const std::string where = std::string(name) + ": member '" + printable(m.name) + "'";
  apply_extra(where, data.subspan(pos + k_central_size + name_len, extra_len), m);
  pos += k_central_size + variable;
  return m;
}

// Finds the member's data behind its local header.
void read_local_header(std::string_view name, std::span<const std::byte> data, ZipMember& m,
                       std::uint64_t directory_offset) {
  const std::string where = std::string(name) + ": member '" + printable(m.name) + "'";
  if (!in_range(m.header_offset, k_local_size, directory_offset) ||
      !has_sig(data, m.header_offset, k_local_sig))
    throw_invalid(where, "no local file header at offset " + std::to_string(m.header_offset));
  const std::uint64_t name_len = load_le<std::uint16_t>(data, m.header_offset + 26);
  const std::uint64_t extra_len = load_le<std::uint16_t>(data, m.header_offset + 28);
  const std::uint64_t name_at = m.header_offset + k_local_size;
  if (!in_range(name_at, name_len + extra_len, directory_offset))
    throw_invalid(where, "local file header runs into the central directory");
  if (as_chars(data.subspan(name_at, name_len)) != m.name)
    throw_invalid(where, "local file header names a different member");
  m.data_offset = name_at + name_len + extra_len;
  if (!in_range(m.data_offset, m.compressed_size, directory_offset))
    throw_invalid(where, "data (" + std::to_string(m.compressed_size) + " bytes at offset " +
                             std::to_string(m.data_offset) + ") runs past the member area");
}

}  // namespace

std::vector<ZipMember> read_zip_members(std::string_view name, std::span<const std::byte> data) {
  const Directory dir = read_directory(name, data);
  std::vector<ZipMember> members;
  members.reserve(dir.entries);
  std::uint64_t pos = dir.offset;
  const std::uint64_t end = dir.offset + dir.size;
  for (std::uint64_t i = 0; i < dir.entries; ++i) {
    members.push_back(read_central_entry(name, data, pos, end));
    read_local_header(name, data, members.back(), dir.offset);
  }

  std::vector<const ZipMember*> by_offset;
  for (const auto& m : members) by_offset.push_back(&m);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const ZipMember* a, const ZipMember* b) {
              return a->header_offset < b->header_offset;
            });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const ZipMember& prev = *by_offset[i - 1];
    if (by_offset[i]->header_offset < prev.data_offset + prev.compressed_size)
      throw_invalid(name, "members '" + printable(prev.name) + "' and '" +
                              printable(by_offset[i]->name) + "' overlap");
  }
  return members;
}

}  // namespace coral::core::formats
