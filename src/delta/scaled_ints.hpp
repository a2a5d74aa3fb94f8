#pragma once
// Scaled integers: float32 chunks of dequantised int8 weights. Such a tensor holds, per row (or per
// tensor), v = float(q) * s computed in float32 with q in [-128, 127], so it has at most 256
// distinct values per row but far more per chunk, and the value dictionary never applies. The chunk
// is cut into blocks of B = 2^block_log2 elements (the last one shorter); each block has one
// float32 scale and every element is stored as its int8 q.
//
// Row lengths are unknown here, so scales are found on blocks of 128 elements and then merged into
// the largest power-of-two blocks that share one scale (up to 8192).

#include "histogram.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace coral::delta {

constexpr unsigned k_min_scaled_block_log2 = 5;   // 32 elements (rows of 448 = 14 x 32)
constexpr unsigned k_max_scaled_block_log2 = 13;  // 8192 elements

struct ScaledInts {
  unsigned block_log2 = k_min_scaled_block_log2;
  std::vector<std::uint32_t> scales;  // float32 bits, one per block
  Histogram q_counts{};               // how often each q byte occurs in a sample (histogram.hpp)
};

// Factors the n float32 elements (little-endian) of data as float(q) * scale per block, writing the
// q bytes (int8, two's complement) to q. nullopt when some element does not factor exactly (bit for
// bit; -0.0, NaN and infinities never do). Gives up after the first blocks on data that is not
// dequantised, at a cost of a few microseconds.
std::optional<ScaledInts> find_scaled_ints(const std::byte* data, std::size_t n, std::byte* q);

// out[i] = float(int8(q[i])) * scales[i >> block_log2] as float32 little-endian bytes.
// scales.size() must be ceil(n / 2^block_log2).
void expand_scaled_ints(const std::byte* q, std::size_t n, unsigned block_log2, std::span<const std::uint32_t> scales,
                        std::byte* out) noexcept;

}  // namespace coral::delta
