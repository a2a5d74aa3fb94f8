#include "coral/core/object_id.hpp"

#include <xxhash.h>
#include <xxh_x86dispatch.h>  // routes XXH3 calls to the AVX2 entry points (TOOLCHAIN.md §1)

namespace coral::core {
namespace {

ObjectId from_hash(XXH128_hash_t h) noexcept {
  ObjectId id;
  for (int i = 0; i < 8; ++i) {
    id.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(h.high64 >> (56 - 8 * i));
    id.bytes[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(h.low64 >> (56 - 8 * i));
  }
  return id;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string ObjectId::hex() const {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string s(32, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    s[2 * i] = k_digits[bytes[i] >> 4];
    s[2 * i + 1] = k_digits[bytes[i] & 15];
  }
  return s;
}

std::optional<ObjectId> ObjectId::from_hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  ObjectId id;
  for (std::size_t i = 0; i < 16; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return id;
}

bool ObjectId::is_zero() const noexcept {
  for (auto b : bytes)
    if (b) return false;
  return true;
}

ObjectId hash_bytes(std::span<const std::byte> data) noexcept {
  return from_hash(XXH3_128bits(data.data(), data.size()));
}

ObjectId hash_bytes(std::string_view data) noexcept {
  return from_hash(XXH3_128bits(data.data(), data.size()));
}

struct Hasher::State {
  XXH3_state_t* state = XXH3_createState();
  ~State() { XXH3_freeState(state); }
};

Hasher::Hasher() : m_state(std::make_unique<State>()) { XXH3_128bits_reset(m_state->state); }
Hasher::~Hasher() = default;

void Hasher::update(std::span<const std::byte> data) noexcept {
  XXH3_128bits_update(m_state->state, data.data(), data.size());
}

ObjectId Hasher::digest() const noexcept { return from_hash(XXH3_128bits_digest(m_state->state)); }

}  // namespace coral::core
