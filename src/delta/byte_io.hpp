#pragma once
// Bounds-checked reading and appending of the small integers in chunk formats: bytes, LEB128
// varints (7 bits a byte, low group first, at most 10 bytes) and little-endian u32.

#include "coral/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace coral::delta {

inline void put_u8(std::vector<std::byte>& out, unsigned v) { out.push_back(static_cast<std::byte>(v)); }

inline void put_varint(std::vector<std::byte>& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

inline void put_bytes(std::vector<std::byte>& out, std::span<const std::byte> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// Reads a stored chunk front to back; every read past the end throws CorruptError.
class ByteReader {
public:
  explicit ByteReader(std::span<const std::byte> bytes) : m_bytes(bytes) {}

  std::size_t remaining() const noexcept { return m_bytes.size() - m_pos; }
  bool at_end() const noexcept { return m_pos == m_bytes.size(); }

  unsigned u8() {
    need(1);
    return std::to_integer<unsigned>(m_bytes[m_pos++]);
  }

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      const unsigned b = u8();
      v |= std::uint64_t{b & 0x7f} << shift;
      if ((b & 0x80) == 0) return v;
    }
    throw CorruptError("chunk has an overlong varint");
  }

  // A length that must fit in the rest of the input.
  std::size_t length() {
    const std::uint64_t v = varint();
    if (v > remaining()) throw CorruptError("chunk length " + std::to_string(v) + " runs past its end");
    return static_cast<std::size_t>(v);
  }

  std::span<const std::byte> bytes(std::size_t n) {
    need(n);
    auto s = m_bytes.subspan(m_pos, n);
    m_pos += n;
    return s;
  }

  std::uint32_t u32() {
    const auto b = bytes(4);
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint32_t>(b[static_cast<std::size_t>(i)]);
    return v;
  }

private:
  void need(std::size_t n) const {
    if (n > remaining()) throw CorruptError("chunk is truncated");
  }

  std::span<const std::byte> m_bytes;
  std::size_t m_pos = 0;
};

}  // namespace coral::delta
