#pragma once
// Order-0 rANS entropy coder for byte planes (DESIGN.md §5 "entropy coding").
//
// 32-bit states in [2^15, 2^31), 16-bit renormalisation, probabilities quantised to 12 bits,
// k_rans_ways = 8 interleaved states, each with its own word stream (so the states' encode and
// decode chains are independent), table-driven decoding.
//
// Payload (its length is known from the enclosing plane record; the symbol count n too):
//   freq table  u8 m-1 (m = distinct symbols, 1..256)
//               m <= 31: m symbol bytes, strictly ascending; m >= 32: 32-byte presence bitmap
//                 (symbol s present when bit s%8 of byte s/8 is set; exactly m bits set)
//               m-1 LEB128 varints: freq-1 of each present symbol in ascending order but the last;
//                 the last symbol gets 4096 - (sum of the others), which must be >= 1
//                 (m = 1: no varints, the one symbol has freq 4096 and never changes a state;
//                 an empty input is coded as m = 1, symbol 0)
//   states      8 x u32 LE: the decoder's initial states x[0..7], each in [2^15, 2^31)
//   counts      7 LEB128 varints: c[0..6], the number of words of streams 0..6
//   streams     streams 0..7 concatenated, u16 LE words: stream j is c[j] words (j < 7), stream 7
//               is the rest of the payload (so the rest must have an even length and hold at least
//               c[0] + ... + c[6] words). State j reads only stream j, from its LAST word to its first.
// cum[s] = sum of freq[t] for t < s. Decoding symbol i (0 <= i < n) uses state j = i % 8:
//   slot = x[j] & 4095; s = the symbol with cum[s] <= slot < cum[s] + freq[s];
//   x[j] = freq[s] * (x[j] >> 12) + slot - cum[s];
//   if x[j] < 2^15: x[j] = x[j] << 16 | (the last unread word of stream j)
// Termination: after the n symbols every state equals 2^15 and every word of every stream has been
// read; anything else is corrupt. The encoder works back to front from states 2^15, appending the
// low 16 bits of x[j] to stream j (and shifting x[j] right by 16) before coding s when
// x[j] >= 2^19 * freq[s]; streams are stored in the order their words were appended. The decoder
// (scalar, branch-free) reads the same streams whatever machine it runs on.

#include "histogram.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace coral::delta {

constexpr unsigned k_rans_ways = 8;
constexpr unsigned k_rans_scale_bits = 12;

using Frequencies = std::array<std::uint32_t, 256>;

// Quantises counts to frequencies summing to 4096, each present symbol getting at least 1 (no
// symbol at all: symbol 0 gets 4096). Deterministic.
Frequencies normalize_frequencies(const Histogram& counts) noexcept;

// Bytes rans_encode would produce for data with this histogram, estimated from the
// quantised frequencies (within a few bytes of the real size).
std::size_t rans_estimate(const Histogram& counts) noexcept;

// Appends the rANS payload of `symbols` to out. counts must be byte_histogram(symbols). Any length
// (0 included) and any distribution (one symbol included, though callers store such planes as
// constants) is valid.
void rans_encode(std::span<const std::byte> symbols, const Histogram& counts, std::vector<std::byte>& out);

// Decodes exactly out.size() symbols from a whole payload. Throws CorruptError when the payload is
// malformed, has bytes left over or does not end in the initial states.
void rans_decode(std::span<const std::byte> payload, std::span<std::byte> out);

}  // namespace coral::delta
