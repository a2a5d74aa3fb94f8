#include "storage/pack_format.hpp"

#include "coral/core/error.hpp"

#include <algorithm>
#include <cstring>

namespace coral::storage {
namespace {

constexpr std::string_view k_prefix = "pack-";
constexpr std::string_view k_suffix = ".h5";

void put_u64(std::byte* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint64_t get_u64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
  return v;
}

}  // namespace

std::vector<std::byte> serialize_rows(std::span<const IndexRow> rows) {
  std::vector<std::byte> out(rows.size() * k_index_row_size);
  std::byte* p = out.data();
  for (const IndexRow& r : rows) {
    std::memcpy(p, r.id.bytes.data(), 16);
    put_u64(p + 16, r.offset);
    put_u64(p + 24, r.length);
    put_u64(p + 32, r.raw_size);
    p[40] = static_cast<std::byte>(r.encoding);
    std::memcpy(p + 41, r.base.bytes.data(), 16);
    p += k_index_row_size;
  }
  return out;
}

std::vector<IndexRow> parse_rows(std::span<const std::byte> bytes) {
  CORAL_ASSERT(bytes.size() % k_index_row_size == 0);
  std::vector<IndexRow> rows(bytes.size() / k_index_row_size);
  const std::byte* p = bytes.data();
  for (IndexRow& r : rows) {
    std::memcpy(r.id.bytes.data(), p, 16);
    r.offset = get_u64(p + 16);
    r.length = get_u64(p + 24);
    r.raw_size = get_u64(p + 32);
    r.encoding = static_cast<std::uint8_t>(p[40]);
    std::memcpy(r.base.bytes.data(), p + 41, 16);
    p += k_index_row_size;
  }
  return rows;
}

std::string pack_name_for(std::span<const std::byte> serialized_rows) {
  return std::string(k_prefix) + core::hash_bytes(serialized_rows).hex();
}

bool is_pack_name(std::string_view name) {
  return name.size() == k_prefix.size() + 32 && name.substr(0, k_prefix.size()) == k_prefix &&
         core::ObjectId::from_hex(name.substr(k_prefix.size())).has_value();
}

std::optional<std::string> pack_name_of_file(std::string_view filename) {
  if (filename.size() <= k_suffix.size() || !filename.ends_with(k_suffix)) return std::nullopt;
  const std::string_view name = filename.substr(0, filename.size() - k_suffix.size());
  if (!is_pack_name(name)) return std::nullopt;
  return std::string(name);
}

std::string_view pack_hex(std::string_view pack_name) {
  CORAL_ASSERT(is_pack_name(pack_name));
  return pack_name.substr(k_prefix.size());
}

}  // namespace coral::storage
