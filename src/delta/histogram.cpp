#include "histogram.hpp"

#include <bit>

namespace coral::delta {

Histogram byte_histogram(std::span<const std::byte> data) noexcept {
  // Four tables break the store-to-load dependency of runs of equal bytes (skewed planes).
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
  const std::size_t n = data.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    __builtin_memcpy(&v, p + i, 8);
    ++t[0][v & 0xff], ++t[1][(v >> 8) & 0xff], ++t[2][(v >> 16) & 0xff], ++t[3][(v >> 24) & 0xff];
    ++t[0][(v >> 32) & 0xff], ++t[1][(v >> 40) & 0xff], ++t[2][(v >> 48) & 0xff], ++t[3][v >> 56];
  }
  for (; i < n; ++i) ++t[0][p[i]];
  Histogram h{};
  for (unsigned s = 0; s < 256; ++s) h[s] = t[0][s] + t[1][s] + t[2][s] + t[3][s];
  return h;
}

Histogram sampled_histogram(std::span<const std::byte> data, std::size_t blocks, std::size_t block) noexcept {
  if (blocks * block >= data.size() || blocks < 2) return byte_histogram(data);
  Histogram h{};
  const std::size_t stride = (data.size() - block) / (blocks - 1);
  for (std::size_t b = 0; b < blocks; ++b) {
    const Histogram part = byte_histogram(data.subspan(b * stride, block));
    for (unsigned s = 0; s < 256; ++s) h[s] += part[s];
  }
  return h;
}

unsigned distinct_symbols(const Histogram& h) noexcept {
  unsigned n = 0;
  for (auto c : h) n += c != 0;
  return n;
}

std::uint64_t total_count(const Histogram& h) noexcept {
  std::uint64_t n = 0;
  for (auto c : h) n += c;
  return n;
}

std::uint32_t log2_q16(std::uint32_t x) noexcept {
  const unsigned msb = 31u - static_cast<unsigned>(std::countl_zero(x));
  std::uint64_t m = std::uint64_t{x} << (31 - msb);  // x / 2^msb in [1, 2), Q31
  std::uint32_t frac = 0;
  for (int bit = 15; bit >= 0; --bit) {
    m = (m * m) >> 31;
    if (m >= (std::uint64_t{2} << 31)) {
      m >>= 1;
      frac |= 1u << bit;
    }
  }
  return (msb << 16) | frac;
}

std::uint64_t entropy_bits(const Histogram& h) noexcept {
  const std::uint64_t total = total_count(h);
  if (total == 0 || total >= (std::uint64_t{1} << 32)) return 0;
  const std::uint64_t log_total = log2_q16(static_cast<std::uint32_t>(total));
  std::uint64_t q16 = 0;
  for (auto c : h)
    if (c != 0) q16 += std::uint64_t{c} * (log_total - log2_q16(c));
  return (q16 + 0xffff) >> 16;
}

}  // namespace coral::delta
