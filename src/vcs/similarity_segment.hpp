#pragma once
// Segment files of the similarity index: immutable open-addressing hash tables from LSH band keys
// to entries {object id, signature}. Private to similarity_*.cpp.
//
// Grammar (format version 1; all integers little-endian):
//   segment := header record[record_count] slot[slot_count]
//   header  := (64 bytes)
//     magic        8 bytes  "CORALSIM"
//     version      u32      1
//     header_size  u32      64
//     bands        u32      20   (k_lsh_bands)
//     band_bits    u32      12   (k_lsh_band_bits)
//     record_count u64
//     slot_count   u64      a power of two >= 16
//     checksum     16 bytes XXH3-128 of every byte after the header (ObjectId byte order)
//     reserved     8 bytes  zero
//   record  := id (16 bytes, ObjectId byte order) | bits u64 | elements u64 | dtype u8 | 7 zero bytes
//              (40 bytes; dtype: 1 F64, 2 F32, 3 F16, 4 BF16, 5 F8_E4M3, 6 F8_E5M2); sorted by id
//   slot    := record u32 (record index + 1; 0 = empty) | tag u32 | bits u64   (16 bytes; bits: the
//              record's signature, so that lookups rank entries without reading their records)
// The file size is exactly 64 + 40 * record_count + 16 * slot_count. Each record is entered once per
// band b, under key = band_key(dtype, elements, b, lsh_band(bits, b)): home slot key & (slot_count
// - 1), linear probing, tag = key >> 32; an entry that would land k_max_probes (64) or more slots
// past its home is left out (lookups stop there). A file is named "<hex of its checksum>.seg".

#include "similarity.hpp"

#include "coral/core/fs.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace coral::vcs::similarity {

struct Record {
  core::ObjectId id;
  Signature sig;
};

inline constexpr std::size_t k_header_size = 64;
inline constexpr std::size_t k_record_size = 40;
inline constexpr std::size_t k_slot_size = 16;
// Slots read per band and segment at most: a hot bucket cannot make a lookup slow.
inline constexpr std::size_t k_max_probes = 64;

// splitmix64's output function of x + golden ratio: the index's fixed 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The on-disk dtype code (1..6), or 0 for dtypes the index does not hold.
std::uint8_t dtype_code(core::DType t) noexcept;
std::uint64_t band_key(const Signature& s, std::size_t band) noexcept;

// An encoded segment and its file name.
struct EncodedSegment {
  std::string name;
  std::vector<std::byte> bytes;
};
// Sorts by id, drops duplicates of (id, dtype, elements) and entries of unsupported dtypes.
EncodedSegment encode_segment(std::vector<Record> records);

// A mapped, verified segment. open() throws NotFoundError when the file vanished, CorruptError
// when it fails its checks, IoError when it cannot be read.
class Segment {
public:
  static std::unique_ptr<Segment> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const noexcept { return m_path; }
  std::uint64_t record_count() const noexcept { return m_records; }
  Record record(std::uint64_t i) const noexcept;
  std::vector<Record> records() const;

  // Calls visit(record index, signature bits) for each slot under `key` whose tag matches (the
  // caller checks the record), reading at most k_max_probes slots. Returns the slots read.
  std::uint64_t probe(std::uint64_t key, const std::function<void(std::uint64_t, std::uint64_t)>& visit) const;

private:
  Segment(std::filesystem::path path, std::unique_ptr<core::fs::MappedFile> file);
  std::filesystem::path m_path;
  std::unique_ptr<core::fs::MappedFile> m_file;
  const std::byte* m_record_base = nullptr;
  const std::byte* m_slot_base = nullptr;
  std::uint64_t m_records = 0;
  std::uint64_t m_slot_mask = 0;
};

// "*.seg" files in dir (not temp files), sorted by name; empty if dir does not exist.
std::vector<std::filesystem::path> list_segments(const std::filesystem::path& dir);

}  // namespace coral::vcs::similarity
