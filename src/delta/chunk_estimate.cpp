#include "chunk_estimate.hpp"

#include "histogram.hpp"
#include "plane_coding.hpp"
#include "scaled_ints.hpp"
#include "zstd_block.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace coral::delta {
namespace {

constexpr std::size_t k_sample_runs = 16;
constexpr std::size_t k_sample_run = 1024;  // elements
constexpr std::size_t k_zstd_sample = 64 * 1024;

template <unsigned W, bool Xor>
void add_run(const std::uint8_t* d, const std::uint8_t* b, std::size_t begin, std::size_t end,
             std::array<Histogram, 8>& h) noexcept {
  for (std::size_t i = begin; i < end; ++i)
    for (unsigned p = 0; p < W; ++p) {
      const std::uint8_t v = Xor ? static_cast<std::uint8_t>(d[i * W + p] ^ b[i * W + p]) : d[i * W + p];
      ++h[p][v];
    }
}

template <unsigned W>
void add_run(const std::uint8_t* d, const std::uint8_t* b, std::size_t begin, std::size_t end,
             std::array<Histogram, 8>& h) noexcept {
  if (b != nullptr) return add_run<W, true>(d, b, begin, end, h);
  add_run<W, false>(d, b, begin, end, h);
}

}  // namespace

std::size_t estimate_planes(std::span<const std::byte> data, std::span<const std::byte> base, std::size_t n,
                            unsigned w) noexcept {
  std::array<Histogram, 8> h{};
  const auto* d = reinterpret_cast<const std::uint8_t*>(data.data());
  const auto* b = base.empty() ? nullptr : reinterpret_cast<const std::uint8_t*>(base.data());
  const bool all = n <= k_sample_runs * k_sample_run;
  const std::size_t stride = all ? n : (n - k_sample_run) / (k_sample_runs - 1);
  for (std::size_t r = 0; r < (all ? 1 : k_sample_runs); ++r) {
    const std::size_t begin = r * stride, end = all ? n : begin + k_sample_run;
    switch (w) {
      case 1: add_run<1>(d, b, begin, end, h); break;
      case 2: add_run<2>(d, b, begin, end, h); break;
      case 4: add_run<4>(d, b, begin, end, h); break;
      default: add_run<8>(d, b, begin, end, h); break;
    }
  }
  std::size_t total = data.size() - n * w + 1;  // tail and kind byte
  for (unsigned p = 0; p < w; ++p) total += estimate_plane(h[p], n);
  return total;
}

std::size_t estimate_scaled_ints(const ScaledInts& scaled, std::size_t n) noexcept {
  const std::span<const std::byte> scales(reinterpret_cast<const std::byte*>(scaled.scales.data()), scaled.scales.size() * 4);
  // kind and log2 bytes, the scale planes (estimate_planes counts one byte for the kind), the q plane
  return 1 + estimate_planes(scales, {}, scaled.scales.size(), 4) + estimate_plane(scaled.q_counts, n);
}

std::size_t estimate_zstd(std::span<const std::byte> data, int level) {
  const auto sample = data.first(std::min(data.size(), k_zstd_sample));
  thread_local std::vector<std::byte> out;
  out.clear();
  if (!zstd_append(sample, level, sample.size(), out)) return data.size() + 1;
  return out.size() * (data.size() / sample.size()) + out.size() * (data.size() % sample.size()) / sample.size() + 1;
}

}  // namespace coral::delta
