#include "storage/lookup_table.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace coral::storage {
namespace {

constexpr std::string_view k_magic = "CORALLUT";
constexpr std::size_t k_header_size = 8 + 4 + 4 + 8;
constexpr std::size_t k_pack_name_size = 32;
constexpr std::size_t k_checksum_size = 16;

bool entry_less(const LookupEntry& a, const LookupEntry& b) noexcept {
  if (a.id != b.id) return a.id < b.id;
  return a.pack < b.pack;
}

template <typename T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

template <typename T>
T get_le(std::string_view bytes, std::size_t at) {
  T v = 0;
  for (std::size_t i = sizeof(T); i-- > 0;) v = static_cast<T>((v << 8) | static_cast<unsigned char>(bytes[at + i]));
  return v;
}

}  // namespace

bool LookupTable::has_pack(std::string_view name) const {
  return std::find(m_packs.begin(), m_packs.end(), name) != m_packs.end();
}

std::span<const LookupEntry> LookupTable::find(const core::ObjectId& id) const {
  const auto lo = std::lower_bound(m_entries.begin(), m_entries.end(), id,
                                   [](const LookupEntry& e, const core::ObjectId& key) { return e.id < key; });
  auto hi = lo;
  while (hi != m_entries.end() && hi->id == id) ++hi;
  return {m_entries.data() + (lo - m_entries.begin()), static_cast<std::size_t>(hi - lo)};
}

void LookupTable::add_pack(const std::string& name, std::span<const IndexRow> rows, const std::vector<bool>* keep) {
  CORAL_ASSERT(is_pack_name(name));
  CORAL_ASSERT(!keep || keep->size() == rows.size());
  if (has_pack(name)) return;
  const auto pack = static_cast<std::uint32_t>(m_packs.size());
  m_packs.push_back(name);
  const std::size_t old_size = m_entries.size();
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!keep || (*keep)[i]) m_entries.push_back({rows[i].id, pack, static_cast<std::uint32_t>(i)});
  // The new entries are sorted by id and carry the largest pack number: a merge keeps the order.
  std::inplace_merge(m_entries.begin(), m_entries.begin() + static_cast<std::ptrdiff_t>(old_size), m_entries.end(),
                     entry_less);
}

void LookupTable::remove_packs(const std::set<std::string>& names) {
  constexpr auto k_gone = static_cast<std::uint32_t>(-1);
  std::vector<std::uint32_t> renumber(m_packs.size(), k_gone);
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < m_packs.size(); ++i) {
    if (names.count(m_packs[i])) continue;
    renumber[i] = static_cast<std::uint32_t>(kept.size());
    kept.push_back(m_packs[i]);
  }
  std::vector<LookupEntry> entries;
  entries.reserve(m_entries.size());
  for (const LookupEntry& e : m_entries)
    if (renumber[e.pack] != k_gone) entries.push_back({e.id, renumber[e.pack], e.row});
  m_packs = std::move(kept);
  m_entries = std::move(entries);
}

std::string LookupTable::serialize() const {
  std::string out;
  out.reserve(k_header_size + m_packs.size() * k_pack_name_size + m_entries.size() * k_lookup_entry_size +
              k_checksum_size);
  out.append(k_magic);
  put_le<std::uint32_t>(out, k_lookup_version);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(m_packs.size()));
  put_le<std::uint64_t>(out, m_entries.size());
  for (const std::string& name : m_packs) out.append(pack_hex(name));
  for (const LookupEntry& e : m_entries) {
    out.append(reinterpret_cast<const char*>(e.id.bytes.data()), e.id.bytes.size());
    put_le<std::uint32_t>(out, e.pack);
    put_le<std::uint32_t>(out, e.row);
  }
  const core::ObjectId sum = core::hash_bytes(std::string_view(out));
  out.append(reinterpret_cast<const char*>(sum.bytes.data()), sum.bytes.size());
  return out;
}

ParsedLookup LookupTable::parse(std::string_view bytes, const std::filesystem::path& path) {
  auto damaged = [](std::string problem) { return ParsedLookup{std::nullopt, std::move(problem)}; };
  if (bytes.size() < k_header_size + k_checksum_size || bytes.substr(0, k_magic.size()) != k_magic)
    return damaged("bad magic or short header");
  const auto version = get_le<std::uint32_t>(bytes, 8);
  if (version != k_lookup_version)
    throw CorruptError(fmt::format("pack lookup table has unsupported version {}", version),
                       "file " + path.string(), "this repository was written by a newer coral; upgrade coral");
  const std::uint64_t pack_count = get_le<std::uint32_t>(bytes, 12);
  const auto entry_count = get_le<std::uint64_t>(bytes, 16);
  const std::uint64_t body = bytes.size() - k_header_size - k_checksum_size;
  if (pack_count * k_pack_name_size > body || entry_count > body / k_lookup_entry_size ||
      pack_count * k_pack_name_size + entry_count * k_lookup_entry_size != body)
    return damaged(
        fmt::format("size {} does not match {} packs and {} entries", bytes.size(), pack_count, entry_count));
  const std::string_view covered = bytes.substr(0, bytes.size() - k_checksum_size);
  const core::ObjectId sum = core::hash_bytes(covered);
  if (std::memcmp(sum.bytes.data(), bytes.data() + covered.size(), k_checksum_size) != 0)
    return damaged("checksum mismatch");

  LookupTable t;
  std::size_t at = k_header_size;
  for (std::uint64_t i = 0; i < pack_count; ++i, at += k_pack_name_size) {
    std::string name = "pack-" + std::string(bytes.substr(at, k_pack_name_size));
    if (!is_pack_name(name)) return damaged("bad pack name '" + name + "'");
    t.m_packs.push_back(std::move(name));
  }
  t.m_entries.resize(entry_count);
  for (LookupEntry& e : t.m_entries) {
    std::memcpy(e.id.bytes.data(), bytes.data() + at, 16);
    e.pack = get_le<std::uint32_t>(bytes, at + 16);
    e.row = get_le<std::uint32_t>(bytes, at + 20);
    at += k_lookup_entry_size;
    if (e.pack >= pack_count)
      return damaged(fmt::format("entry {} names pack {} of {}", e.id.hex(), e.pack, pack_count));
  }
  if (!std::is_sorted(t.m_entries.begin(), t.m_entries.end(), entry_less)) return damaged("entries not sorted");
  return {std::move(t), {}};
}

void write_lookup_file(const std::filesystem::path& path, const LookupTable& table) {
  core::fs::AtomicFile file(path);
  file.write(table.serialize());
  file.commit();
}

}  // namespace coral::storage
