#include "rans.hpp"

#include "byte_io.hpp"

#include "coral/core/error.hpp"

#include <cstdint>
#include <cstring>

namespace coral::delta {
namespace {

constexpr std::uint32_t k_scale = 1u << k_rans_scale_bits;
constexpr std::uint32_t k_mask = k_scale - 1;
constexpr std::uint32_t k_low = 1u << 15;  // states live in [k_low, 2^31)
constexpr unsigned k_list_max = 31;        // up to this many symbols are listed, more use a bitmap

// Encoder side of one symbol (ryg_rans rans_byte.h: division by a reciprocal, exact for x < 2^31).
struct EncSymbol {
  std::uint32_t x_max = 0;
  std::uint32_t rcp_freq = 0;
  std::uint32_t bias = 0;
  std::uint16_t cmpl_freq = 0;
  std::uint16_t rcp_shift = 0;
};

EncSymbol make_enc_symbol(std::uint32_t start, std::uint32_t freq) noexcept {
  EncSymbol s;
  s.x_max = ((k_low >> k_rans_scale_bits) << 16) * freq;
  s.cmpl_freq = static_cast<std::uint16_t>(k_scale - freq);
  if (freq < 2) {
    s.rcp_freq = ~0u;
    s.rcp_shift = 0;
    s.bias = start + k_scale - 1;
  } else {
    std::uint32_t shift = 0;
    while (freq > (1u << shift)) ++shift;
    s.rcp_freq = static_cast<std::uint32_t>(((std::uint64_t{1} << (shift + 31)) + freq - 1) / freq);
    s.rcp_shift = static_cast<std::uint16_t>(shift - 1);
    s.bias = start;
  }
  return s;
}

std::size_t freq_table_bytes(const Frequencies& f, unsigned distinct) noexcept {
  std::size_t bytes = 1 + (distinct <= k_list_max ? distinct : 32);
  unsigned seen = 0;
  for (auto v : f)
    if (v != 0 && ++seen < distinct) bytes += v - 1 < 128 ? 1 : 2;
  return bytes;
}

void write_freq_table(const Frequencies& f, unsigned distinct, std::vector<std::byte>& out) {
  put_u8(out, distinct - 1);
  if (distinct <= k_list_max) {
    for (unsigned s = 0; s < 256; ++s)
      if (f[s] != 0) put_u8(out, s);
  } else {
    std::uint8_t bitmap[32] = {};
    for (unsigned s = 0; s < 256; ++s)
      if (f[s] != 0) bitmap[s / 8] = static_cast<std::uint8_t>(bitmap[s / 8] | (1u << (s % 8)));
    for (auto b : bitmap) put_u8(out, b);
  }
  unsigned seen = 0;
  for (auto v : f)
    if (v != 0 && ++seen < distinct) put_varint(out, v - 1);
}

Frequencies read_freq_table(ByteReader& in) {
  const unsigned distinct = in.u8() + 1;
  if (distinct < 2) throw CorruptError("rANS table has fewer than 2 symbols");
  unsigned symbols[256];
  unsigned m = 0;
  if (distinct <= k_list_max) {
    for (unsigned k = 0; k < distinct; ++k) {
      symbols[k] = in.u8();
      if (k > 0 && symbols[k] <= symbols[k - 1]) throw CorruptError("rANS table symbols are not ascending");
    }
    m = distinct;
  } else {
    const auto bitmap = in.bytes(32);
    for (unsigned s = 0; s < 256; ++s)
      if ((std::to_integer<unsigned>(bitmap[s / 8]) >> (s % 8)) & 1) symbols[m++] = s;
    if (m != distinct) throw CorruptError("rANS table bitmap does not match its symbol count");
  }
  Frequencies f{};
  std::uint64_t sum = 0;
  for (unsigned k = 0; k + 1 < m; ++k) {
    const std::uint64_t v = in.varint() + 1;
    sum += v;
    if (v > k_scale || sum >= k_scale) throw CorruptError("rANS frequencies exceed 4096");
    f[symbols[k]] = static_cast<std::uint32_t>(v);
  }
  f[symbols[m - 1]] = static_cast<std::uint32_t>(k_scale - sum);
  return f;
}

}  // namespace

Frequencies normalize_frequencies(const Histogram& counts) noexcept {
  const std::uint64_t total = total_count(counts);
  Frequencies f{};
  std::uint32_t sum = 0;
  unsigned largest = 0;
  for (unsigned s = 0; s < 256; ++s) {
    if (counts[s] == 0) continue;
    f[s] = static_cast<std::uint32_t>(std::uint64_t{counts[s]} * k_scale / total);
    if (f[s] == 0) f[s] = 1;
    sum += f[s];
    if (counts[s] > counts[largest]) largest = s;
  }
  if (sum < k_scale) {
    f[largest] += k_scale - sum;
  } else {
    // Symbols bumped up to 1 overdraw the scale: take it back from the largest frequencies.
    while (sum > k_scale) {
      unsigned top = 0;
      for (unsigned s = 1; s < 256; ++s)
        if (f[s] > f[top]) top = s;
      const std::uint32_t take = std::min(sum - k_scale, f[top] / 8 + 1);
      f[top] -= take;
      sum -= take;
    }
  }
  return f;
}

std::size_t rans_estimate(const Histogram& counts) noexcept {
  const Frequencies f = normalize_frequencies(counts);
  std::uint64_t q16 = 0;
  for (unsigned s = 0; s < 256; ++s)
    if (counts[s] != 0) q16 += std::uint64_t{counts[s]} * ((k_rans_scale_bits << 16) - log2_q16(f[s]));
  return static_cast<std::size_t>((q16 >> 19) + 2) + freq_table_bytes(f, distinct_symbols(counts)) + 4 * k_rans_ways;
}

void rans_encode(std::span<const std::byte> symbols, const Histogram& counts, std::vector<std::byte>& out) {
  const Frequencies f = normalize_frequencies(counts);
  EncSymbol table[256];
  std::uint32_t cum = 0;
  for (unsigned s = 0; s < 256; ++s) {
    table[s] = make_enc_symbol(cum, f[s]);
    cum += f[s];
  }
  const std::size_t n = symbols.size();
  // Each symbol emits at most one word; words are written back to front.
  thread_local std::vector<std::uint16_t> words;
  if (words.size() < n + 1) words.resize(n + 1);
  std::uint16_t* const end = words.data() + words.size();
  std::uint16_t* w = end;
  std::uint32_t x[k_rans_ways];
  for (auto& s : x) s = k_low;
  const auto* in = reinterpret_cast<const std::uint8_t*>(symbols.data());
  auto put = [&](std::uint32_t& state, unsigned sym) {
    const EncSymbol& e = table[sym];
    std::uint32_t v = state;
    if (v >= e.x_max) {
      *--w = static_cast<std::uint16_t>(v);
      v >>= 16;
    }
    const std::uint32_t q = static_cast<std::uint32_t>((std::uint64_t{v} * e.rcp_freq) >> 32) >> e.rcp_shift;
    state = v + e.bias + q * e.cmpl_freq;
  };
  const std::size_t full = n - n % k_rans_ways;
  for (std::size_t i = n; i > full; --i) put(x[(i - 1) % k_rans_ways], in[i - 1]);
  for (std::size_t i = full; i > 0; i -= k_rans_ways)
    for (unsigned j = k_rans_ways; j > 0; --j) put(x[j - 1], in[i - k_rans_ways + j - 1]);

  write_freq_table(f, distinct_symbols(counts), out);
  for (auto s : x)
    for (int b = 0; b < 4; ++b) put_u8(out, (s >> (8 * b)) & 0xff);
  const std::size_t at = out.size();
  out.resize(at + 2 * static_cast<std::size_t>(end - w));
  std::byte* o = out.data() + at;
  for (; w != end; ++w, o += 2) {
    o[0] = static_cast<std::byte>(*w & 0xff);
    o[1] = static_cast<std::byte>(*w >> 8);
  }
}

void rans_decode(std::span<const std::byte> payload, std::span<std::byte> out) {
  ByteReader in(payload);
  const Frequencies f = read_freq_table(in);
  std::uint32_t table[k_scale];  // freq | (slot - cum) << 12 | symbol << 24
  std::uint32_t cum = 0;
  for (unsigned s = 0; s < 256; ++s)
    for (std::uint32_t k = 0; k < f[s]; ++k, ++cum) table[cum] = f[s] | (k << 12) | (s << 24);
  std::uint32_t x[k_rans_ways];
  for (auto& s : x) {
    s = in.u32();
    if (s < k_low || s >= (1u << 31)) throw CorruptError("rANS state out of range");
  }
  if (in.remaining() % 2 != 0) throw CorruptError("rANS word stream has an odd length");
  const auto words = in.bytes(in.remaining());
  const std::uint8_t* w = reinterpret_cast<const std::uint8_t*>(words.data());
  const std::uint8_t* const w_end = w + words.size();
  auto* o = reinterpret_cast<std::uint8_t*>(out.data());
  const std::size_t n = out.size();

  std::size_t i = 0;
  // Fast path: while a whole group can renormalise every state without running out of words,
  // decode it branch-free (states are locals so the byte stores cannot alias them).
  const std::size_t full = n - n % k_rans_ways;
  static_assert(k_rans_ways == 8);
  std::uint32_t s0 = x[0], s1 = x[1], s2 = x[2], s3 = x[3], s4 = x[4], s5 = x[5], s6 = x[6], s7 = x[7];
  const auto step = [&table, o](std::uint32_t& v, std::size_t at) __attribute__((always_inline)) {
    const std::uint32_t e = table[v & k_mask];
    o[at] = static_cast<std::uint8_t>(e >> 24);
    v = (e & 0xfff) * (v >> k_rans_scale_bits) + ((e >> 12) & 0xfff);
  };
  const auto renorm = [](std::uint32_t& v, const std::uint8_t*& p) __attribute__((always_inline)) {
    std::uint16_t word;
    std::memcpy(&word, p, 2);
    const bool r = v < k_low;
    v = r ? (v << 16) | word : v;
    p += r ? 2 : 0;
  };
  for (; i < full && w_end - w >= static_cast<std::ptrdiff_t>(2 * k_rans_ways); i += k_rans_ways) {
    step(s0, i), step(s1, i + 1), step(s2, i + 2), step(s3, i + 3);
    step(s4, i + 4), step(s5, i + 5), step(s6, i + 6), step(s7, i + 7);
    renorm(s0, w), renorm(s1, w), renorm(s2, w), renorm(s3, w);
    renorm(s4, w), renorm(s5, w), renorm(s6, w), renorm(s7, w);
  }
  x[0] = s0, x[1] = s1, x[2] = s2, x[3] = s3, x[4] = s4, x[5] = s5, x[6] = s6, x[7] = s7;
  for (; i < n; ++i) {
    std::uint32_t& v = x[i % k_rans_ways];
    const std::uint32_t e = table[v & k_mask];
    o[i] = static_cast<std::uint8_t>(e >> 24);
    v = (e & 0xfff) * (v >> k_rans_scale_bits) + ((e >> 12) & 0xfff);
    if (v < k_low) {
      if (w_end - w < 2) throw CorruptError("rANS word stream is truncated");
      v = (v << 16) | std::uint32_t{w[0]} | std::uint32_t{w[1]} << 8;
      w += 2;
    }
  }
  if (w != w_end) throw CorruptError("rANS word stream has bytes left over");
  for (auto s : x)
    if (s != k_low) throw CorruptError("rANS stream does not end in its initial state");
}

}  // namespace coral::delta
