#include "value_dict.hpp"

#include "coral/core/error.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>

namespace coral::delta {
namespace {

constexpr std::size_t k_max_values = 256;
constexpr std::size_t k_prefix = 4096;  // elements checked before the whole chunk

std::uint64_t load(const std::byte* p, unsigned w) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, w);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v) >> (64 - 8 * w);
  return v;
}

void store(std::byte* p, std::uint64_t v, unsigned w) noexcept {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v << (64 - 8 * w));
  std::memcpy(p, &v, w);
}

// Open addressing over 1024 slots (load factor <= 1/4) mapping a value to a counter or an index.
class ValueTable {
public:
  // The slot of v, claimed for it when v is new; nullptr when v is new and the table already holds
  // k_max_values values.
  std::uint32_t* find_or_add(std::uint64_t v) noexcept {
    for (std::size_t i = hash(v);; i = (i + 1) & (k_slots - 1)) {
      if (m_used[i] && m_keys[i] == v) return &m_data[i];
      if (!m_used[i]) {
        if (m_size == k_max_values) return nullptr;
        m_used[i] = true, m_keys[i] = v, m_data[i] = 0, ++m_size;
        return &m_data[i];
      }
    }
  }
  template <class F>
  void for_each(F f) const {
    for (std::size_t i = 0; i < k_slots; ++i)
      if (m_used[i]) f(m_keys[i], m_data[i]);
  }

private:
  static constexpr std::size_t k_slots = 1024;
  static std::size_t hash(std::uint64_t v) noexcept { return (v * 0x9e3779b97f4a7c15ull) >> 54; }
  std::uint64_t m_keys[k_slots];
  std::uint32_t m_data[k_slots];
  bool m_used[k_slots] = {};
  std::size_t m_size = 0;
};

bool count_values(const std::byte* data, std::size_t begin, std::size_t end, unsigned w, ValueTable& t) noexcept {
  std::uint64_t last = 0;
  std::uint32_t* slot = nullptr;
  for (std::size_t i = begin; i < end; ++i) {
    const std::uint64_t v = load(data + i * w, w);
    if (slot == nullptr || v != last) {
      slot = t.find_or_add(v);
      if (slot == nullptr) return false;
      last = v;
    }
    ++*slot;
  }
  return true;
}

}  // namespace

std::optional<ValueDictionary> find_dictionary(const std::byte* data, std::size_t n, unsigned w) {
  auto table = std::make_unique<ValueTable>();
  const std::size_t prefix = std::min(n, k_prefix);
  if (!count_values(data, 0, prefix, w, *table) || !count_values(data, prefix, n, w, *table)) return std::nullopt;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> entries;
  table->for_each([&](std::uint64_t v, std::uint32_t count) { entries.emplace_back(v, count); });
  std::sort(entries.begin(), entries.end());
  ValueDictionary dict;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    dict.values.push_back(entries[k].first);
    dict.index_counts[k] = entries[k].second;
  }
  return dict;
}

void map_to_indexes(const std::byte* data, std::size_t n, unsigned w, const ValueDictionary& dict,
                    std::byte* indexes) {
  auto table = std::make_unique<ValueTable>();
  for (std::size_t k = 0; k < dict.values.size(); ++k) {
    std::uint32_t* slot = table->find_or_add(dict.values[k]);
    CORAL_ASSERT(slot != nullptr);
    *slot = static_cast<std::uint32_t>(k);
  }
  std::uint64_t last = 0;
  std::byte index{0};
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t v = load(data + i * w, w);
    if (i == 0 || v != last) {
      const std::uint32_t* slot = table->find_or_add(v);
      CORAL_ASSERT(slot != nullptr);
      index = static_cast<std::byte>(*slot);
      last = v;
    }
    indexes[i] = index;
  }
}

void expand_indexes(const std::byte* indexes, std::size_t n, unsigned w, std::span<const std::uint64_t> values,
                    std::byte* out) {
  const auto* idx = reinterpret_cast<const std::uint8_t*>(indexes);
  std::uint8_t top = 0;
  for (std::size_t i = 0; i < n; ++i) top = std::max(top, idx[i]);
  if (n != 0 && top >= values.size()) throw CorruptError("value dictionary index out of range");
  std::byte table[k_max_values][8] = {};
  for (std::size_t k = 0; k < values.size(); ++k) store(table[k], values[k], w);
  switch (w) {
    case 2: for (std::size_t i = 0; i < n; ++i) std::memcpy(out + 2 * i, table[idx[i]], 2); break;
    case 4: for (std::size_t i = 0; i < n; ++i) std::memcpy(out + 4 * i, table[idx[i]], 4); break;
    default: for (std::size_t i = 0; i < n; ++i) std::memcpy(out + 8 * i, table[idx[i]], 8); break;
  }
}

}  // namespace coral::delta
