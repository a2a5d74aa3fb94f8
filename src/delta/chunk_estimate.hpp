#pragma once
// Cheap size estimates of the chunk codings, so encode_chunk encodes only the likely winner.

#include <cstddef>
#include <span>

namespace coral::delta {
struct ScaledInts;
}

namespace coral::delta {

// Estimated stored size of the planes of data (n elements of width w), XORed with base first
// when base is not empty. Histograms come from a sample of about 16K elements.
std::size_t estimate_planes(std::span<const std::byte> data, std::span<const std::byte> base, std::size_t n,
                            unsigned w) noexcept;

// Estimated stored size of a scaled integer chunk of n float32 elements (tail not included).
std::size_t estimate_scaled_ints(const ScaledInts& scaled, std::size_t n) noexcept;

// zstd of the first 64 KiB of data, scaled to the whole (an underestimate of zstd's ratio on the
// whole chunk, whose window sees more repeats).
std::size_t estimate_zstd(std::span<const std::byte> data, int level);

}  // namespace coral::delta
