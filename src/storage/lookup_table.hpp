#pragma once
// The pack lookup table, .coral/packs/lookup: object id -> (pack, row), over all packs, like
// git's multi-pack-index. A plain binary file, rewritten whole through AtomicFile under the
// exclusive lock .coral/locks/lookup.lock (read, merge, write). All integers little-endian:
//
//   lookup   = magic version pack_count entry_count pack_name{pack_count} entry{entry_count} checksum
//   magic    = "CORALLUT"                      8 bytes
//   version  = u32                             1
//   pack_count, entry_count = u32, u64
//   pack_name = 32 lowercase hex chars         the pack is "pack-<hex>.h5"; its position is its number
//   entry    = id[16] pack:u32 row:u32         24 bytes; sorted by (id, pack); row = the object's
//                                              row in the pack's sorted /index
//   checksum = XXH3-128 (big-endian, 16 bytes) of every byte before it
//
// An id may appear more than once (duplicates across packs are harmless: a crashed remove or two
// writers racing on one object); readers use the first entry that works.

#include "coral/core/object_id.hpp"
#include "storage/pack_format.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coral::storage {

inline constexpr std::uint32_t k_lookup_version = 1;
inline constexpr std::size_t k_lookup_entry_size = 24;

struct LookupEntry {
  core::ObjectId id;
  std::uint32_t pack = 0;  // position in LookupTable::packs()
  std::uint32_t row = 0;
};

struct ParsedLookup;

class LookupTable {
public:
  const std::vector<std::string>& packs() const noexcept { return m_packs; }
  const std::vector<LookupEntry>& entries() const noexcept { return m_entries; }
  bool has_pack(std::string_view name) const;
  // The entries for `id`, in pack-list order (empty when absent).
  std::span<const LookupEntry> find(const core::ObjectId& id) const;

  // Adds a pack whose sorted /index is `rows` (only the rows `keep` marks, when given; the others
  // stay unlisted). No-op when the pack is already listed.
  void add_pack(const std::string& name, std::span<const IndexRow> rows, const std::vector<bool>* keep = nullptr);
  // Drops packs and their entries; the remaining packs keep their order.
  void remove_packs(const std::set<std::string>& names);

  std::string serialize() const;

  // Parses a lookup file's bytes. Damage (bad magic, size, checksum, numbering) is reported in
  // ParsedLookup::problem; an unknown version throws CorruptError (a newer coral wrote it).
  static ParsedLookup parse(std::string_view bytes, const std::filesystem::path& path);

private:
  std::vector<std::string> m_packs;    // "pack-<hex>"
  std::vector<LookupEntry> m_entries;  // sorted by (id, pack)
};

struct ParsedLookup {
  std::optional<LookupTable> table;  // nullopt when damaged
  std::string problem;               // why it is damaged
};

// Writes the table through AtomicFile (temp, fsync, rename, fsync dir). Throws IoError.
void write_lookup_file(const std::filesystem::path& path, const LookupTable& table);

}  // namespace coral::storage
