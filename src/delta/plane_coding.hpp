#pragma once
// How one byte plane (or the index plane of a value dictionary) is stored:
//   u8 tag | varint payload length | payload
//   tag 0 raw       payload = the n plane bytes
//   tag 1 constant  payload = 1 byte, repeated n times
//   tag 2 zstd      payload = one zstd frame of the n plane bytes
//   tag 3 rans      payload = rans.hpp's stream of the n plane bytes
// n is known to the reader (from the chunk's raw length and width).

#include "byte_io.hpp"
#include "histogram.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace coral::delta {

enum class PlaneCoding : std::uint8_t { raw = 0, constant = 1, zstd = 2, rans = 3 };

// Stored size (record included) of an n-byte plane whose byte histogram, or a sample of it, is
// `sample`. Used to choose between chunk codings before encoding any of them.
std::size_t estimate_plane(const Histogram& sample, std::size_t n) noexcept;

// Appends the record of the smallest coding of `plane` that the policy tries (plane_coding.cpp).
void encode_plane(std::span<const std::byte> plane, int zstd_level, std::vector<std::byte>& out);

// Reads one record and decodes it into exactly out.size() bytes. Throws CorruptError.
void decode_plane(ByteReader& in, std::span<std::byte> out);

}  // namespace coral::delta
