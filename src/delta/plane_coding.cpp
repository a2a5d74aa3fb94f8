#include "plane_coding.hpp"

#include "rans.hpp"
#include "zstd_block.hpp"

#include "coral/core/error.hpp"

#include <cstring>
#include <string>

namespace coral::delta {
namespace {

// Plane policy, from the per-plane measurements in micro_bench (docs/performance.md):
// - A sampled histogram (16 runs of 1 KiB) decides "raw" for planes whose estimated rANS size is
//   within 1.5% of raw (the low mantissa bytes of trained weights): nothing else is tried, and such
//   a plane costs one memcpy to encode and to decode.
// - One distinct byte is "constant" (low bytes of bf16-born f32 weights, top plane of equal tensors).
// - Otherwise order-0 rANS. Measured on 1 MiB planes (rANS / zstd -1 / zstd -3 ratio): f32 N(0,0.02)
//   sign/exponent 2.99 / 2.72 / 2.38; bf16 top 2.99 / 2.72 / 2.38; XOR delta byte2 8.92 / 5.08 / 5.13,
//   byte3 862 / 668 / 418. rANS wins every plane on ratio; zstd -1 decodes the exponent plane
//   about 2.5x faster than this rANS (unfinished: rANS decode runs at ~0.4 GB/s per core).
// - zstd is tried as well only when the sample shows local structure that order-0 coding cannot
//   see: equal neighbours clearly more often than the histogram predicts (runs, repeated rows,
//   sorted or counter-like data). The smaller of the two is kept.
constexpr std::size_t k_sample_blocks = 16;
constexpr std::size_t k_sample_block = 1024;
constexpr std::size_t k_min_coded = 32;  // shorter planes are stored raw or constant

std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) v >>= 7, ++n;
  return n;
}

std::size_t record_size(std::size_t payload) noexcept { return 1 + varint_size(payload) + payload; }

void put_record(PlaneCoding tag, std::span<const std::byte> payload, std::vector<std::byte>& out) {
  put_u8(out, static_cast<unsigned>(tag));
  put_varint(out, payload.size());
  put_bytes(out, payload);
}

// True when neighbours in the sample are equal clearly more often than independent draws from its
// histogram would be (observed > 1.25 x expected + 2%): the plane has runs or repeats for zstd.
bool has_local_structure(std::span<const std::byte> plane, const Histogram& sample) noexcept {
  const std::uint64_t m = total_count(sample);
  if (m < 2) return false;
  std::uint64_t sum_sq = 0;  // expected repeat rate = sum_sq / m^2
  for (auto c : sample) sum_sq += std::uint64_t{c} * c;
  std::uint64_t repeats = 0, pairs = 0;
  const std::size_t stride = plane.size() <= k_sample_blocks * k_sample_block
                               ? plane.size()
                               : (plane.size() - k_sample_block) / (k_sample_blocks - 1);
  for (std::size_t start = 0; start + 1 < plane.size() && pairs < m; start += stride) {
    const std::size_t end = std::min(plane.size(), start + std::min(stride, k_sample_block));
    for (std::size_t i = start + 1; i < end; ++i) repeats += plane[i] == plane[i - 1];
    pairs += end - start - 1;
  }
  if (pairs == 0) return false;
  // repeats / pairs > 1.25 * sum_sq / m^2 + 0.02, in integers
  // (m <= 16K and repeats, pairs <= m, so nothing here overflows 64 bits)
  return repeats * m * m * 100 > pairs * (sum_sq * 125 + m * m * 2);
}

}  // namespace

std::size_t estimate_plane(const Histogram& sample, std::size_t n) noexcept {
  const std::uint64_t m = total_count(sample);
  if (n == 0 || m == 0) return record_size(n);
  if (distinct_symbols(sample) == 1) return record_size(1);
  if (n < k_min_coded) return record_size(n);
  const std::size_t sample_bytes = rans_estimate(sample);
  // sample_bytes * n / m without overflow (m < 2^32)
  const std::size_t scaled = sample_bytes / m * n + sample_bytes % m * n / m;
  return record_size(std::min(n, scaled));
}

void encode_plane(std::span<const std::byte> plane, int zstd_level, std::vector<std::byte>& out) {
  const std::size_t n = plane.size();
  if (n < k_min_coded) {
    if (n > 0 && std::memcmp(plane.data(), plane.data() + 1, n - 1) == 0) return put_record(PlaneCoding::constant, plane.first(1), out);
    return put_record(PlaneCoding::raw, plane, out);
  }
  const Histogram sample = sampled_histogram(plane, k_sample_blocks, k_sample_block);
  const std::uint64_t m = total_count(sample);
  if (distinct_symbols(sample) > 1 && rans_estimate(sample) >= m - m / 64) return put_record(PlaneCoding::raw, plane, out);
  const Histogram h = m == n ? sample : byte_histogram(plane);
  if (distinct_symbols(h) == 1) return put_record(PlaneCoding::constant, plane.first(1), out);

  thread_local std::vector<std::byte> best, trial;
  best.clear();
  const bool structured = has_local_structure(plane, sample);
  // A plane that order-0 coding already shrinks more than 32x and that has runs (the top planes
  // of XOR deltas between checkpoints: 99.9% zeros) goes to zstd alone: zstd runs through long
  // runs several times faster than rANS codes them, and what rANS would save is a few hundred
  // bytes per MiB of plane.
  if (structured && rans_estimate(h) < n / 32 && zstd_append(plane, zstd_level, n - 1, best))
    return put_record(PlaneCoding::zstd, best, out);
  best.clear();
  PlaneCoding best_tag = PlaneCoding::raw;
  std::size_t best_size = n;
  if (rans_estimate(h) < n) {
    rans_encode(plane, h, best);
    if (best.size() < best_size) best_tag = PlaneCoding::rans, best_size = best.size();
  }
  if (structured) {
    trial.clear();
    if (zstd_append(plane, zstd_level, best_size - 1, trial)) best.swap(trial), best_tag = PlaneCoding::zstd, best_size = best.size();
  }
  if (best_tag == PlaneCoding::raw) return put_record(PlaneCoding::raw, plane, out);
  put_record(best_tag, best, out);
}

void decode_plane(ByteReader& in, std::span<std::byte> out) {
  const unsigned tag = in.u8();
  const auto payload = in.bytes(in.length());
  switch (static_cast<PlaneCoding>(tag)) {
    case PlaneCoding::raw:
      if (payload.size() != out.size()) throw CorruptError("raw plane has the wrong length");
      if (!out.empty()) std::memcpy(out.data(), payload.data(), out.size());
      return;
    case PlaneCoding::constant:
      if (payload.size() != 1) throw CorruptError("constant plane has the wrong length");
      if (!out.empty()) std::memset(out.data(), std::to_integer<int>(payload[0]), out.size());
      return;
    case PlaneCoding::zstd: return zstd_decode_exact(payload, out);
    case PlaneCoding::rans: return rans_decode(payload, out);
  }
  throw CorruptError("unknown plane coding " + std::to_string(tag));
}

}  // namespace coral::delta
