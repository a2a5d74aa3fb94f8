#include "rans.hpp"

#include "byte_io.hpp"

#include "coral/core/error.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace coral::delta {
namespace {

constexpr std::uint32_t k_scale = 1u << k_rans_scale_bits;
constexpr std::uint32_t k_mask = k_scale - 1;
constexpr std::uint32_t k_low = 1u << 15;  // states live in [k_low, 2^31)
constexpr unsigned k_list_max = 31;        // up to this many symbols are listed, more use a bitmap

unsigned distinct_frequencies(const Frequencies& f) noexcept {
  unsigned n = 0;
  for (auto v : f) n += v != 0;
  return n;
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

namespace {

unsigned varint_bytes(std::uint64_t v) noexcept {
  unsigned b = 1;
  for (; v >= 0x80; v >>= 7) ++b;
  return b;
}

}  // namespace

std::size_t rans_estimate(const Histogram& counts) noexcept {
  const Frequencies f = normalize_frequencies(counts);
  std::uint64_t q16 = 0;
  for (unsigned s = 0; s < 256; ++s)
    if (counts[s] != 0) q16 += std::uint64_t{counts[s]} * ((k_rans_scale_bits << 16) - log2_q16(f[s]));
  const std::uint64_t word_bytes = q16 >> 19;
  return static_cast<std::size_t>(word_bytes + 2 + (k_rans_ways - 1) * varint_bytes(word_bytes / (2 * k_rans_ways))) +
         freq_table_bytes(f, distinct_frequencies(f)) + 4 * k_rans_ways;
}

namespace {

// Encoder tables, indexed by symbol. q = x / freq is computed as (x * rcp) >> 43 with
// rcp = ceil(2^43 / freq), exact for the x < 2^19 * freq <= 2^31 left after renormalisation:
// the error x * (rcp - 2^43 / freq) / 2^43 < freq / 2^24 <= 1 / freq never crosses an integer.
struct EncTables {
  std::uint64_t rcp[256];
  std::uint32_t x_max[256];  // renormalise x >= x_max = 2^19 * freq
  std::uint32_t cum[256];
  std::uint32_t cmpl[256];   // 4096 - freq
};
constexpr unsigned k_rcp_shift = 43;

// One encoding step of symbol s into a state and its own word stream (words[idx] is the stream's
// next free slot). Branch-free, as the renormalisations are unpredictable: the low word is always
// stored and kept (idx moves up) only when the state renormalises.
__attribute__((always_inline)) inline void rans_put(const EncTables& t, unsigned s, std::uint32_t& state,
                                                    std::uint16_t* words, std::size_t& idx) noexcept {
  std::uint32_t v = state;
  words[idx] = static_cast<std::uint16_t>(v);
  const std::uint32_t hi = v >> 16;
#if defined(__x86_64__) && defined(__GNUC__)
  // cmp sets CF = v < x_max; sbb $-1 adds 1 - CF.
  asm("cmpl %[x_max], %[v]\n\t"
      "cmovael %[hi], %[v]\n\t"
      "sbbq $-1, %[idx]"
      : [v] "+r"(v), [idx] "+r"(idx)
      : [hi] "r"(hi), [x_max] "rm"(t.x_max[s])
      : "cc");
#else
  const std::uint32_t r = v >= t.x_max[s];
  v = (v & (r - 1)) | (hi & (0u - r));
  idx += r;
#endif
  const auto q = static_cast<std::uint32_t>((std::uint64_t{v} * t.rcp[s]) >> k_rcp_shift);
  state = v + t.cum[s] + q * t.cmpl[s];
}

}  // namespace

void rans_encode(std::span<const std::byte> symbols, const Histogram& counts, std::vector<std::byte>& out) {
  const Frequencies f = normalize_frequencies(counts);
  EncTables t;
  std::uint32_t cum = 0;
  for (unsigned s = 0; s < 256; ++s) {
    t.rcp[s] = f[s] == 0 ? 0 : ((std::uint64_t{1} << k_rcp_shift) + f[s] - 1) / f[s];
    t.x_max[s] = ((k_low >> k_rans_scale_bits) << 16) * f[s];
    t.cum[s] = cum;
    t.cmpl[s] = k_scale - f[s];
    cum += f[s];
  }
  const std::size_t n = symbols.size();
  // Stream j gets the words of symbols j, j+8, ... (at most one a symbol) in the order they are
  // emitted, from the start of its own region, plus the one spare slot above its last word.
  static_assert(k_rans_ways == 8);
  const std::size_t cap = n / k_rans_ways + 2;
  thread_local std::vector<std::uint16_t> buffer;
  if (buffer.size() < k_rans_ways * cap) buffer.resize(k_rans_ways * cap);
  std::uint16_t* const w = buffer.data();
  std::size_t idx[k_rans_ways];
  std::uint32_t x[k_rans_ways];
  for (unsigned j = 0; j < k_rans_ways; ++j) idx[j] = j * cap, x[j] = k_low;
  const auto* in = reinterpret_cast<const std::uint8_t*>(symbols.data());
  const std::size_t full = n - n % k_rans_ways;
  for (std::size_t i = n; i > full; --i) {
    const unsigned j = (i - 1) % k_rans_ways;
    rans_put(t, in[i - 1], x[j], w, idx[j]);
  }
  {
    std::uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
    std::size_t i0 = idx[0], i1 = idx[1], i2 = idx[2], i3 = idx[3], i4 = idx[4], i5 = idx[5], i6 = idx[6], i7 = idx[7];
    for (const std::uint8_t* g = in + full; g != in;) {
      g -= k_rans_ways;
      rans_put(t, g[7], x7, w, i7), rans_put(t, g[6], x6, w, i6), rans_put(t, g[5], x5, w, i5);
      rans_put(t, g[4], x4, w, i4), rans_put(t, g[3], x3, w, i3), rans_put(t, g[2], x2, w, i2);
      rans_put(t, g[1], x1, w, i1), rans_put(t, g[0], x0, w, i0);
    }
    x[0] = x0, x[1] = x1, x[2] = x2, x[3] = x3, x[4] = x4, x[5] = x5, x[6] = x6, x[7] = x7;
    idx[0] = i0, idx[1] = i1, idx[2] = i2, idx[3] = i3, idx[4] = i4, idx[5] = i5, idx[6] = i6, idx[7] = i7;
  }

  write_freq_table(f, distinct_frequencies(f), out);
  for (auto s : x)
    for (int b = 0; b < 4; ++b) put_u8(out, (s >> (8 * b)) & 0xff);
  std::size_t total = 0;
  for (unsigned j = 0; j < k_rans_ways; ++j) {
    const std::size_t count = idx[j] - j * cap;
    if (j + 1 < k_rans_ways) put_varint(out, count);
    total += count;
  }
  std::size_t at = out.size();
  out.resize(at + 2 * total);
  for (unsigned j = 0; j < k_rans_ways; ++j) {
    const std::size_t count = idx[j] - j * cap;
    std::byte* o = out.data() + at;
    if constexpr (std::endian::native == std::endian::little) {
      if (count != 0) std::memcpy(o, w + j * cap, 2 * count);
    } else {
      for (std::size_t k = j * cap; k != idx[j]; ++k, o += 2) {
        o[0] = static_cast<std::byte>(w[k] & 0xff);
        o[1] = static_cast<std::byte>(w[k] >> 8);
      }
    }
    at += 2 * count;
  }
}

namespace {

// Decoding tables, indexed by slot: sym_bias = symbol | (slot - cum[symbol]) << 20, freq = freq[symbol].
struct DecTables {
  alignas(64) std::uint32_t sym_bias[k_scale];
  alignas(64) std::uint16_t freq[k_scale];
};

__attribute__((always_inline)) inline std::uint32_t load_u16(const std::uint8_t* p) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  } else {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8;
  }
}

// x < k_low ? (x << 16 | the word before words[idx], idx - 1) : x, with conditional moves (the
// renormalisations are unpredictable and GCC turns the portable form into branches). idx >= 1.
__attribute__((always_inline)) inline void renorm(std::uint32_t& x, const std::uint8_t* words, std::size_t& idx) noexcept {
  const std::uint32_t y = (x << 16) | load_u16(words + 2 * idx - 2);
#if defined(__x86_64__) && defined(__GNUC__)
  // cmp sets CF = x < k_low; sbb $0 subtracts CF.
  asm("cmpl %[low], %[x]\n\t"
      "cmovbl %[y], %[x]\n\t"
      "sbbq $0, %[idx]"
      : [x] "+r"(x), [idx] "+r"(idx)
      : [y] "r"(y), [low] "i"(k_low)
      : "cc");
#else
  const std::uint32_t r = x < k_low;
  x = (x & (r - 1)) | (y & (0u - r));
  idx -= r;
#endif
}

__attribute__((always_inline)) inline void dec_step(const DecTables& t, std::uint32_t& v, std::uint8_t* dst,
                                                    const std::uint8_t* words, std::size_t& idx) noexcept {
  const std::uint32_t slot = v & k_mask;
  const std::uint32_t e = t.sym_bias[slot];
  *dst = static_cast<std::uint8_t>(e);
  v = std::uint32_t{t.freq[slot]} * (v >> k_rans_scale_bits) + (e >> 20);
  renorm(v, words, idx);
}

// Decodes groups of k_rans_ways symbols while every stream has a word left for each group (a
// state reads at most one word a symbol). Stream j's unread words are [start[j], idx[j]), read
// from the top. Returns the number of symbols decoded; x and idx are updated.
std::size_t decode_groups(const DecTables& t, std::uint32_t* x, const std::uint8_t* words, std::size_t* idx,
                          const std::size_t* start, std::uint8_t* o, std::size_t n) noexcept {
  static_assert(k_rans_ways == 8);
  const std::size_t groups = n / k_rans_ways;
  std::size_t g = 0;
  while (g < groups) {
    std::size_t safe = groups - g;
    for (unsigned j = 0; j < k_rans_ways; ++j) safe = std::min(safe, idx[j] - start[j]);
    if (safe == 0) break;
    std::uint32_t s0 = x[0], s1 = x[1], s2 = x[2], s3 = x[3], s4 = x[4], s5 = x[5], s6 = x[6], s7 = x[7];
    std::size_t i0 = idx[0], i1 = idx[1], i2 = idx[2], i3 = idx[3], i4 = idx[4], i5 = idx[5], i6 = idx[6], i7 = idx[7];
    std::uint8_t* d = o + g * k_rans_ways;
    std::uint8_t* const d_end = d + safe * k_rans_ways;
    for (; d != d_end; d += k_rans_ways) {
      dec_step(t, s0, d, words, i0), dec_step(t, s1, d + 1, words, i1), dec_step(t, s2, d + 2, words, i2);
      dec_step(t, s3, d + 3, words, i3), dec_step(t, s4, d + 4, words, i4), dec_step(t, s5, d + 5, words, i5);
      dec_step(t, s6, d + 6, words, i6), dec_step(t, s7, d + 7, words, i7);
    }
    x[0] = s0, x[1] = s1, x[2] = s2, x[3] = s3, x[4] = s4, x[5] = s5, x[6] = s6, x[7] = s7;
    idx[0] = i0, idx[1] = i1, idx[2] = i2, idx[3] = i3, idx[4] = i4, idx[5] = i5, idx[6] = i6, idx[7] = i7;
    g += safe;
  }
  return g * k_rans_ways;
}

}  // namespace

void rans_decode(std::span<const std::byte> payload, std::span<std::byte> out) {
  ByteReader in(payload);
  const Frequencies f = read_freq_table(in);
  std::uint32_t x[k_rans_ways];
  for (auto& s : x) {
    s = in.u32();
    if (s < k_low || s >= (1u << 31)) throw CorruptError("rANS state out of range");
  }
  std::uint64_t counts[k_rans_ways];
  for (unsigned j = 0; j + 1 < k_rans_ways; ++j) counts[j] = in.varint();
  if (in.remaining() % 2 != 0) throw CorruptError("rANS word streams have an odd length");
  const auto rest = in.bytes(in.remaining());
  const auto* words = reinterpret_cast<const std::uint8_t*>(rest.data());
  // Stream j is the words [start[j], idx[j]) (in words from the start of the streams), read from the top.
  std::size_t start[k_rans_ways];
  std::size_t idx[k_rans_ways];
  {
    std::size_t at = 0;
    const std::size_t total = rest.size() / 2;
    for (unsigned j = 0; j + 1 < k_rans_ways; ++j) {
      if (counts[j] > total - at) throw CorruptError("rANS word streams run past the payload");
      start[j] = at;
      at += static_cast<std::size_t>(counts[j]);
      idx[j] = at;
    }
    start[k_rans_ways - 1] = at;
    idx[k_rans_ways - 1] = total;
  }
  auto* o = reinterpret_cast<std::uint8_t*>(out.data());
  const std::size_t n = out.size();

  unsigned only = 256;  // the symbol of a one-symbol table: it never changes a state
  for (unsigned s = 0; s < 256; ++s)
    if (f[s] == k_scale) only = s;
  if (only < 256) {
    if (n != 0) std::memset(o, static_cast<int>(only), n);
  } else {
    DecTables t;
    std::uint32_t cum = 0;
    for (unsigned s = 0; s < 256; ++s)
      for (std::uint32_t k = 0; k < f[s]; ++k, ++cum) {
        t.sym_bias[cum] = s | k << 20;
        t.freq[cum] = static_cast<std::uint16_t>(f[s]);
      }
    for (std::size_t i = decode_groups(t, x, words, idx, start, o, n); i < n; ++i) {
      const unsigned j = i % k_rans_ways;
      std::uint32_t& v = x[j];
      const std::uint32_t slot = v & k_mask;
      o[i] = static_cast<std::uint8_t>(t.sym_bias[slot]);
      v = std::uint32_t{t.freq[slot]} * (v >> k_rans_scale_bits) + (t.sym_bias[slot] >> 20);
      if (v < k_low) {
        if (idx[j] == start[j]) throw CorruptError("rANS word stream is truncated");
        --idx[j];
        v = (v << 16) | load_u16(words + 2 * idx[j]);
      }
    }
  }
  for (unsigned j = 0; j < k_rans_ways; ++j)
    if (idx[j] != start[j]) throw CorruptError("rANS word stream has words left over");
  for (auto s : x)
    if (s != k_low) throw CorruptError("rANS stream does not end in its initial state");
}

}  // namespace coral::delta
