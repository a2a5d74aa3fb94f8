#include "rans.hpp"

#include "byte_io.hpp"

#include "coral/core/error.hpp"

#include <bit>
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

std::size_t rans_estimate(const Histogram& counts) noexcept {
  const Frequencies f = normalize_frequencies(counts);
  std::uint64_t q16 = 0;
  for (unsigned s = 0; s < 256; ++s)
    if (counts[s] != 0) q16 += std::uint64_t{counts[s]} * ((k_rans_scale_bits << 16) - log2_q16(f[s]));
  return static_cast<std::size_t>((q16 >> 19) + 2) + freq_table_bytes(f, distinct_frequencies(f)) + 4 * k_rans_ways;
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
  // Each symbol emits at most one word; words are written back to front. The slot below the
  // next word is always written (and kept only when the state renormalises), so one spare slot.
  thread_local std::vector<std::uint16_t> words;
  if (words.size() < n + 1) words.resize(n + 1);
  std::uint16_t* const end = words.data() + words.size();
  std::uint16_t* w = end;
  const auto* in = reinterpret_cast<const std::uint8_t*>(symbols.data());
  // Branch-free, as the renormalisations are unpredictable: the low word is always stored below
  // the next word and kept (p moves down) only when the state renormalises.
  const auto put = [&table](std::uint32_t& state, unsigned sym, std::uint16_t*& p) __attribute__((always_inline)) {
    const EncSymbol& e = table[sym];
    std::uint32_t v = state;
    p[-1] = static_cast<std::uint16_t>(v);
    const std::uint32_t hi = v >> 16;
#if defined(__x86_64__) && defined(__GNUC__)
    std::uint16_t* const below = p - 1;
    asm("cmpl %[x_max], %[v]\n\t"
        "cmovael %[hi], %[v]\n\t"
        "cmovaeq %[below], %[p]"
        : [v] "+r"(v), [p] "+r"(p)
        : [hi] "r"(hi), [below] "r"(below), [x_max] "rm"(e.x_max)
        : "cc");
#else
    const std::uint32_t r = v >= e.x_max;
    v = (v & (r - 1)) | (hi & (0u - r));
    p -= r;
#endif
    const std::uint32_t q = static_cast<std::uint32_t>((std::uint64_t{v} * e.rcp_freq) >> 32) >> e.rcp_shift;
    state = v + e.bias + q * e.cmpl_freq;
  };
  static_assert(k_rans_ways == 8);
  std::uint32_t x[k_rans_ways];
  for (auto& s : x) s = k_low;
  const std::size_t full = n - n % k_rans_ways;
  for (std::size_t i = n; i > full; --i) put(x[(i - 1) % k_rans_ways], in[i - 1], w);
  std::uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
  for (std::size_t i = full; i > 0; i -= k_rans_ways) {
    const std::uint8_t* g = in + i - k_rans_ways;
    put(x7, g[7], w), put(x6, g[6], w), put(x5, g[5], w), put(x4, g[4], w);
    put(x3, g[3], w), put(x2, g[2], w), put(x1, g[1], w), put(x0, g[0], w);
  }
  x[0] = x0, x[1] = x1, x[2] = x2, x[3] = x3, x[4] = x4, x[5] = x5, x[6] = x6, x[7] = x7;

  write_freq_table(f, distinct_frequencies(f), out);
  for (auto s : x)
    for (int b = 0; b < 4; ++b) put_u8(out, (s >> (8 * b)) & 0xff);
  const std::size_t at = out.size();
  const std::size_t count = static_cast<std::size_t>(end - w);
  out.resize(at + 2 * count);
  std::byte* o = out.data() + at;
  if constexpr (std::endian::native == std::endian::little) {
    if (count != 0) std::memcpy(o, w, 2 * count);
  } else {
    for (; w != end; ++w, o += 2) {
      o[0] = static_cast<std::byte>(*w & 0xff);
      o[1] = static_cast<std::byte>(*w >> 8);
    }
  }
}

namespace {

// Decoding tables, indexed by slot: sym_bias = symbol | (slot - cum[symbol]) << 20, freq = freq[symbol].
struct DecTables {
  alignas(64) std::uint32_t sym_bias[k_scale];
  alignas(64) std::uint16_t freq[k_scale];
};

__attribute__((always_inline)) inline std::uint32_t load_u16(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8;
}

// x < k_low ? (x << 16 | next word, advance) : x, with conditional moves: the renormalisations
// are unpredictable and GCC turns the portable form into branches.
__attribute__((always_inline)) inline void renorm(std::uint32_t& x, const std::uint8_t*& p) noexcept {
  const std::uint32_t y = (x << 16) | load_u16(p);
#if defined(__x86_64__) && defined(__GNUC__)
  const std::uint8_t* const next = p + 2;
  asm("cmpl %[low], %[x]\n\t"
      "cmovbl %[y], %[x]\n\t"
      "cmovbq %[next], %[p]"
      : [x] "+r"(x), [p] "+r"(p)
      : [y] "r"(y), [next] "r"(next), [low] "i"(k_low)
      : "cc");
#else
  const std::uint32_t r = x < k_low;
  x = (x & (r - 1)) | (y & (0u - r));
  p += 2 * r;
#endif
}

// Decodes groups of k_rans_ways symbols while a group can renormalise every state without
// running out of words. Returns the number of symbols decoded; x and w are updated.
std::size_t decode_groups_scalar(const DecTables& t, std::uint32_t* x, const std::uint8_t*& w,
                                 const std::uint8_t* w_end, std::uint8_t* o, std::size_t n) noexcept {
  static_assert(k_rans_ways == 8);
  std::uint32_t s0 = x[0], s1 = x[1], s2 = x[2], s3 = x[3], s4 = x[4], s5 = x[5], s6 = x[6], s7 = x[7];
  const std::uint8_t* p = w;
  const std::size_t full = n - n % k_rans_ways;
  std::size_t i = 0;
  // Branch-free: a renormalisation happens for a few symbols in ten on the planes this codes,
  // unpredictably, so the next word is always loaded and selected with a conditional move.
  const auto step = [&t](std::uint32_t& v, std::uint8_t* dst, const std::uint8_t*& q) __attribute__((always_inline)) {
    const std::uint32_t slot = v & k_mask;
    const std::uint32_t e = t.sym_bias[slot];
    *dst = static_cast<std::uint8_t>(e);
    v = std::uint32_t{t.freq[slot]} * (v >> k_rans_scale_bits) + (e >> 20);
    renorm(v, q);
  };
  for (; i < full && w_end - p >= static_cast<std::ptrdiff_t>(2 * k_rans_ways); i += k_rans_ways) {
    std::uint8_t* g = o + i;
    step(s0, g, p), step(s1, g + 1, p), step(s2, g + 2, p), step(s3, g + 3, p);
    step(s4, g + 4, p), step(s5, g + 5, p), step(s6, g + 6, p), step(s7, g + 7, p);
  }
  x[0] = s0, x[1] = s1, x[2] = s2, x[3] = s3, x[4] = s4, x[5] = s5, x[6] = s6, x[7] = s7;
  w = p;
  return i;
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
  if (in.remaining() % 2 != 0) throw CorruptError("rANS word stream has an odd length");
  const auto words = in.bytes(in.remaining());
  const std::uint8_t* w = reinterpret_cast<const std::uint8_t*>(words.data());
  const std::uint8_t* const w_end = w + words.size();
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
    std::size_t i = decode_groups_scalar(t, x, w, w_end, o, n);
    for (; i < n; ++i) {
      std::uint32_t& v = x[i % k_rans_ways];
      const std::uint32_t slot = v & k_mask;
      o[i] = static_cast<std::uint8_t>(t.sym_bias[slot]);
      v = std::uint32_t{t.freq[slot]} * (v >> k_rans_scale_bits) + (t.sym_bias[slot] >> 20);
      if (v < k_low) {
        if (w_end - w < 2) throw CorruptError("rANS word stream is truncated");
        v = (v << 16) | load_u16(w);
        w += 2;
      }
    }
  }
  if (w != w_end) throw CorruptError("rANS word stream has bytes left over");
  for (auto s : x)
    if (s != k_low) throw CorruptError("rANS stream does not end in its initial state");
}

}  // namespace coral::delta
