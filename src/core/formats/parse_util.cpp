#include "core/formats/parse_util.hpp"

#include <cstdio>

namespace coral::core::formats {

void throw_invalid(std::string_view name, std::string_view fault) {
  std::string message;
  message.reserve(name.size() + fault.size() + 2);
  message.append(name).append(": ").append(fault);
  throw InvalidInputError(message);
}

std::string printable(std::string_view s, std::size_t max_len) {
  std::string out;
  std::size_t shown = 0;
  for (const char c : s) {
    if (shown == max_len) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
    ++shown;
  }
  return out;
}

std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<std::uint64_t> byte_size(const std::vector<std::uint64_t>& shape,
                                       std::uint64_t item_size) noexcept {
  // A zero dimension makes the product 0 whatever the others are; check it first so that
  // (0, 2**40, 2**40) is an empty array rather than an overflow.
  for (const auto d : shape)
    if (d == 0) return 0;
  std::optional<std::uint64_t> n = item_size;
  for (const auto d : shape) {
    n = checked_mul(*n, d);
    if (!n) return std::nullopt;
  }
  return n;
}

std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  out += ")";
  return out;
}

}  // namespace coral::core::formats
