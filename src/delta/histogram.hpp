#pragma once
// Byte histograms and integer-only cost estimates. Estimates use no floating point, so the
// encoder's choices (and therefore its output bytes) are the same on every machine.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace coral::delta {

using Histogram = std::array<std::uint32_t, 256>;

// Counts of each byte value in data (data.size() < 2^32).
Histogram byte_histogram(std::span<const std::byte> data) noexcept;
// The same over `blocks` evenly spaced runs of `block` bytes (all of data when it is smaller).
Histogram sampled_histogram(std::span<const std::byte> data, std::size_t blocks, std::size_t block) noexcept;

unsigned distinct_symbols(const Histogram& h) noexcept;
std::uint64_t total_count(const Histogram& h) noexcept;

// log2(x) for 1 <= x < 2^32 in 16.16 fixed point, computed with integers only.
std::uint32_t log2_q16(std::uint32_t x) noexcept;

// Order-0 entropy of the histogram times its total, in bits (rounded up).
std::uint64_t entropy_bits(const Histogram& h) noexcept;

}  // namespace coral::delta
