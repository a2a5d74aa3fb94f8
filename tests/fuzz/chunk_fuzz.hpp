#pragma once
// The input layout and the checks of fuzz_chunks, shared by the target (fuzz_chunks.cpp), the seed
// generator (make_chunk_seeds.cpp) and the regression replay
// (tests/unit/core/fuzz_regressions_test.cpp). See README.md.
//
// Input:
//   byte 0     element width: 1 << (byte & 3), so 0 -> 1, 1 -> 2, 2 -> 4, 3 -> 8 (bits 2-7 unused)
//   bytes 1-2  raw length of the chunk, u16 little-endian (so at most 65535 bytes)
//   bytes 3-   the stored chunk (u8 kind | payload, src/delta/chunks.cpp)
// An input shorter than 3 bytes has width 1, raw length 0 and an empty stored chunk.
// When the chunk uses a base (chunk_uses_base), the base is the first `raw length` bytes of
// fuzz_base(): a fixed pattern of float32-like words, the same on every run.
//
// Checks (check_chunk_input returns what broke, or an empty string):
//   1. decode_prefix(first 4 input bytes) returns or throws CorruptError;
//   2. chunk_uses_base(stored) returns or throws CorruptError;
//   3. decode_chunk(stored, base or {}, width, out) into exactly raw-length bytes returns or throws
//      CorruptError (sanitizers watch the reads and writes: every buffer is its own heap block);
//   4. when it decoded, for x = out: encode_chunk(x, {}, w) and encode_chunk(x, base, w) and
//      encode_chunk(x, x with every 7th byte flipped, w) each stay within x.size() +
//      k_max_chunk_overhead, report uses_base as chunk_uses_base does (never without a base), and
//      decode back to x without throwing; encoding x again without a base gives the same bytes.
// Any other exception (a std::logic_error from CORAL_ASSERT included) is a failure.

#include "coral/core/error.hpp"
#include "coral/delta/chunks.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <vector>

namespace coral::fuzz {

constexpr std::size_t k_chunk_header_bytes = 3;
constexpr std::size_t k_max_raw_length = 0xffff;

struct ChunkInput {
  unsigned width = 1;
  std::size_t raw_length = 0;
  std::span<const std::byte> stored;
};

inline ChunkInput parse_chunk_input(std::span<const std::byte> data) noexcept {
  ChunkInput in;
  if (data.size() < k_chunk_header_bytes) return in;
  in.width = 1u << (std::to_integer<unsigned>(data[0]) & 3);
  in.raw_length = std::to_integer<std::size_t>(data[1]) | std::to_integer<std::size_t>(data[2]) << 8;
  in.stored = data.subspan(k_chunk_header_bytes);
  return in;
}

inline std::array<std::byte, k_chunk_header_bytes> chunk_input_header(unsigned width, std::size_t raw_length) noexcept {
  const unsigned code = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
  return {static_cast<std::byte>(code), static_cast<std::byte>(raw_length & 0xff),
          static_cast<std::byte>((raw_length >> 8) & 0xff)};
}

// k_max_raw_length bytes (rounded up to whole words) of little-endian float32 words in about
// (-0.06, 0.06): word i is the i-th output of a xorshift64 scaled into that range, so the bytes
// look like trained weights (few sign/exponent bytes, noisy mantissa bytes).
inline std::span<const std::byte> fuzz_base() {
  static const std::vector<std::byte> base = [] {
    std::vector<std::byte> b((k_max_raw_length + 4) / 4 * 4);
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (std::size_t i = 0; i < b.size() / 4; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const float f = (static_cast<float>(x >> 40) / 16777216.0f - 0.5f) * 0.12f;
      std::uint32_t u;
      std::memcpy(&u, &f, 4);
      for (unsigned k = 0; k < 4; ++k) b[4 * i + k] = static_cast<std::byte>(u >> (8 * k));
    }
    return b;
  }();
  return base;
}

namespace detail {

// Property 4 for one base (empty or x.size() bytes). Returns what broke, or "".
inline std::string check_round_trip(const std::vector<std::byte>& x, const std::vector<std::byte>& base,
                                    unsigned width, const char* which) {
  const delta::EncodedChunk enc = delta::encode_chunk(x, base, width);
  const std::string where = std::string("re-encoding ") + which + " (" + std::to_string(x.size()) +
                            " bytes, width " + std::to_string(width) + ")";
  if (enc.bytes.size() > x.size() + delta::k_max_chunk_overhead)
    return where + ": " + std::to_string(enc.bytes.size()) + " stored bytes exceed the bound";
  if (base.empty() && enc.uses_base) return where + ": uses_base without a base";
  bool flagged = false;
  try {
    flagged = delta::chunk_uses_base(enc.bytes);
  } catch (const CorruptError& e) {
    return where + ": chunk_uses_base rejects the encoder's output: " + e.what();
  }
  if (flagged != enc.uses_base) return where + ": uses_base disagrees with chunk_uses_base";
  std::vector<std::byte> back(x.size());
  try {
    delta::decode_chunk(enc.bytes, enc.uses_base ? std::span<const std::byte>(base) : std::span<const std::byte>(),
                        width, back);
  } catch (const CorruptError& e) {
    return where + ": decode_chunk rejects the encoder's output (kind " +
           std::to_string(std::to_integer<unsigned>(enc.bytes.at(0))) + "): " + e.what();
  }
  if (back != x) {
    std::size_t i = 0;
    while (back[i] == x[i]) ++i;
    return where + ": decode(encode(x)) != x at byte " + std::to_string(i) + " (kind " +
           std::to_string(std::to_integer<unsigned>(enc.bytes.at(0))) + ")";
  }
  if (base.empty()) {
    const delta::EncodedChunk again = delta::encode_chunk(x, base, width);
    if (again.bytes != enc.bytes) return where + ": encoding is not deterministic";
  }
  return {};
}

inline std::string check(std::span<const std::byte> data) {
  // 1. The object prefix parser on the first bytes.
  try {
    (void)delta::decode_prefix(data.first(std::min<std::size_t>(data.size(), delta::k_prefix_bytes)));
  } catch (const CorruptError&) {
  }

  // 2. and 3. Decoding.
  const ChunkInput in = parse_chunk_input(data);
  // Own heap copies, exactly sized, so that ASan sees every read past the stored chunk.
  const std::vector<std::byte> stored(in.stored.begin(), in.stored.end());
  std::vector<std::byte> base;
  std::vector<std::byte> out(in.raw_length);
  try {
    if (delta::chunk_uses_base(stored)) base.assign(fuzz_base().begin(), fuzz_base().begin() + in.raw_length);
    delta::decode_chunk(stored, base, in.width, out);
  } catch (const CorruptError&) {
    return {};  // rejected: fine
  }

  // 4. Round trips of the decoded bytes, which may be any bytes at all.
  std::vector<std::byte> pattern(fuzz_base().begin(), fuzz_base().begin() + in.raw_length);
  if (auto e = check_round_trip(out, {}, in.width, "without a base"); !e.empty()) return e;
  if (auto e = check_round_trip(out, pattern, in.width, "against the pattern base"); !e.empty()) return e;
  std::vector<std::byte> near = out;
  for (std::size_t i = 0; i < near.size(); i += 7) near[i] ^= std::byte{0x01};
  if (auto e = check_round_trip(out, near, in.width, "against a nearby base"); !e.empty()) return e;
  return {};
}

}  // namespace detail

// Runs checks 1-4 on one input. Returns an empty string when they hold, else what broke.
inline std::string check_chunk_input(std::span<const std::byte> data) {
  try {
    return detail::check(data);
  } catch (const std::exception& e) {
    return std::string("unexpected exception: ") + e.what();
  } catch (...) {
    return "unexpected exception (not a std::exception)";
  }
}

}  // namespace coral::fuzz
