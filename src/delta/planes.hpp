#pragma once
// Byte planes: plane p holds byte p of every element, so the sign/exponent bytes of floats sit
// together and the noisy low mantissa bytes sit together (DESIGN.md §5 "planes").
//
// For n elements of width w the planes are stored back to back: plane p is planes[p*n, (p+1)*n).
// Trailing bytes that do not fill an element are the caller's business (chunks keep them verbatim).

#include <cstddef>

namespace coral::delta {

// raw holds n * width bytes; planes receives n * width bytes. width is 1, 2, 4 or 8.
void split_planes(const std::byte* raw, std::size_t n, unsigned width, std::byte* planes) noexcept;
// The inverse of split_planes.
void merge_planes(const std::byte* planes, std::size_t n, unsigned width, std::byte* raw) noexcept;
// data[i] ^= other[i] for i < n.
void xor_bytes(std::byte* data, const std::byte* other, std::size_t n) noexcept;

}  // namespace coral::delta
