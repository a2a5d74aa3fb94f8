#pragma once
// Object ids: XXH3-128 of an object's raw (decoded) bytes, written as 32 lowercase hex digits.
// XXH3 is not collision resistant against an attacker; coral's trust model (docs/format.md)
// assumes inputs are not adversarial.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace coral::core {

struct ObjectId {
  std::array<std::uint8_t, 16> bytes{};  // big-endian: high 64 bits first

  std::string hex() const;
  // Parses exactly 32 hex digits; nullopt otherwise.
  static std::optional<ObjectId> from_hex(std::string_view hex);
  bool is_zero() const noexcept;
  auto operator<=>(const ObjectId&) const = default;
};

// XXH3-128 of a buffer (AVX2 dispatch where the CPU has it).
ObjectId hash_bytes(std::span<const std::byte> data) noexcept;
ObjectId hash_bytes(std::string_view data) noexcept;

// Streaming XXH3-128: update() any number of times, then digest().
class Hasher {
public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(std::span<const std::byte> data) noexcept;
  ObjectId digest() const noexcept;

private:
  struct State;
  std::unique_ptr<State> m_state;
};

struct ObjectIdHash {
  std::size_t operator()(const ObjectId& id) const noexcept {
    std::size_t h = 0;
    for (int i = 0; i < 8; ++i) h = (h << 8) | id.bytes[static_cast<std::size_t>(i)];
    return h;
  }
};

}  // namespace coral::core
