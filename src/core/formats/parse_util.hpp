#pragma once
// Small helpers shared by the checkpoint-format parsers: bounds-checked little-endian reads,
// overflow-checked arithmetic and the InvalidInputError they all throw.

#include "coral/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coral::core::formats {

// Throws InvalidInputError("<name>: <fault>").
[[noreturn]] void throw_invalid(std::string_view name, std::string_view fault);

// `s` made printable for a one-line message: control and non-ASCII bytes become \xNN, and a long
// string is cut to `max_len` characters followed by "...".
std::string printable(std::string_view s, std::size_t max_len = 80);

// a * b and a + b, or nullopt on overflow.
std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) noexcept;
std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) noexcept;

// product(shape) * item_size, or nullopt on overflow.
std::optional<std::uint64_t> byte_size(const std::vector<std::uint64_t>& shape,
                                       std::uint64_t item_size) noexcept;

// "(3, 4)" / "(5,)" / "()", as numpy prints shapes.
std::string shape_string(const std::vector<std::uint64_t>& shape);

// True when [offset, offset + length) lies inside a buffer of `size` bytes (no overflow).
inline bool in_range(std::uint64_t offset, std::uint64_t length, std::uint64_t size) noexcept {
  return offset <= size && length <= size - offset;
}

// Unsigned little-endian integer of N bytes at `offset`; the caller checked the range.
template <typename T>
T load_le(std::span<const std::byte> data, std::size_t offset) noexcept {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<T>(data[offset + i]) << (8 * i));
  return v;
}

inline std::string_view as_chars(std::span<const std::byte> data) noexcept {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

}  // namespace coral::core::formats
