// Signatures: a 64-bit SimHash over a fixed sample of k_signature_samples elements.
//
// Sample j is element signature_sample_index(n, j) = floor((2j+1) * n / (2 * 1024)). The sample is
// scaled by its largest finite magnitude and quantized to integers in [-2^20, 2^20] (non-finite
// values are 0), so the hash is exact integer arithmetic, the same on every machine. Hyperplane
// b's sign at sample j is bit b of mix64(k_plane_seed + j): bit b of the signature is set when
// sum_j sign(b, j) * q_j > 0. Band b of the LSH is the bits k_band_bits[b] of the signature.

#include "similarity.hpp"

#include "similarity_segment.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>

namespace coral::vcs {
namespace {

constexpr std::uint64_t k_plane_seed = 0x5349474e41545552ULL;  // "SIGNATUR"
constexpr std::uint64_t k_band_seed = 0x4c534842414e4453ULL;   // "LSHBANDS"
constexpr double k_quant_scale = 1 << 20;

constexpr auto k_planes = [] {
  std::array<std::uint64_t, k_signature_samples> planes{};
  for (std::size_t j = 0; j < planes.size(); ++j) planes[j] = similarity::mix64(k_plane_seed + j);
  return planes;
}();

// k_masks[byte][l] = -1 where bit l of byte is clear (subtract), 0 where set (add).
alignas(32) constexpr auto k_masks = [] {
  std::array<std::array<std::int32_t, 8>, 256> masks{};
  for (std::size_t v = 0; v < 256; ++v)
    for (std::size_t l = 0; l < 8; ++l) masks[v][l] = (v >> l) & 1 ? 0 : -1;
  return masks;
}();

// Band b takes k_lsh_band_bits bits of permutation b / 5 of 0..63 (Fisher-Yates on mix64).
constexpr auto k_band_bits = [] {
  constexpr std::size_t k_per_perm = 64 / k_lsh_band_bits;
  std::array<std::array<std::uint8_t, k_lsh_band_bits>, k_lsh_bands> bands{};
  std::array<std::uint8_t, 64> perm{};
  std::uint64_t state = k_band_seed;
  for (std::size_t b = 0; b < k_lsh_bands; ++b) {
    if (b % k_per_perm == 0) {
      for (std::size_t i = 0; i < 64; ++i) perm[i] = static_cast<std::uint8_t>(i);
      for (std::size_t i = 63; i > 0; --i) {
        state = similarity::mix64(state);
        const std::size_t k = state % (i + 1);
        const std::uint8_t t = perm[i];
        perm[i] = perm[k];
        perm[k] = t;
      }
    }
    for (std::size_t i = 0; i < k_lsh_band_bits; ++i) bands[b][i] = perm[(b % k_per_perm) * k_lsh_band_bits + i];
  }
  return bands;
}();

float half_bits_to_float(std::uint16_t h) noexcept {
  // Exact for normal and subnormal halves: move the exponent/mantissa into float position, then
  // rebias by multiplying with 2^112. Callers filter exponent 31 (Inf/NaN) first.
  const float mag = std::bit_cast<float>(static_cast<std::uint32_t>(h & 0x7fffu) << 13) * 0x1p112f;
  return (h & 0x8000u) ? -mag : mag;
}

template <typename T>
T load_elem(const std::byte* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) {
    using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint16_t>>;
    U u = std::bit_cast<U>(v), r = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) r = static_cast<U>((r << 8) | ((u >> (8 * i)) & 0xff));
    v = std::bit_cast<T>(r);
  }
  return v;
}

// Element i as double; non-finite values are 0.
double sample_value(core::DType dtype, const std::byte* data, std::uint64_t i) noexcept {
  double v = 0;
  switch (dtype) {
    case core::DType::f64: v = load_elem<double>(data + i * 8); break;
    case core::DType::f32: v = load_elem<float>(data + i * 4); break;
    case core::DType::f16: {
      const auto h = load_elem<std::uint16_t>(data + i * 2);
      v = (h & 0x7c00u) == 0x7c00u ? 0.0 : half_bits_to_float(h);
      break;
    }
    case core::DType::bf16:
      v = std::bit_cast<float>(std::uint32_t{load_elem<std::uint16_t>(data + i * 2)} << 16);
      break;
    default: break;
  }
  return std::isfinite(v) ? v : 0.0;
}

bool signature_dtype(core::DType t) noexcept {
  return t == core::DType::f64 || t == core::DType::f32 || t == core::DType::f16 || t == core::DType::bf16;
}

// 4 x int32 (GCC/Clang vector extension: SSE2 on x86-64, NEON on arm64).
using Lanes = std::int32_t __attribute__((vector_size(16)));

std::uint64_t simhash(const std::array<std::int32_t, k_signature_samples>& q) noexcept {
  Lanes acc[16] = {};  // lane l of acc[i]: hyperplane 4i + l
  for (std::size_t j = 0; j < k_signature_samples; ++j) {
    if (q[j] == 0) continue;
    const Lanes v = {q[j], q[j], q[j], q[j]};
    const std::uint64_t w = k_planes[j];
    for (std::size_t k = 0; k < 8; ++k) {
      const auto& row = k_masks[(w >> (8 * k)) & 0xff];
      Lanes m0, m1;
      std::memcpy(&m0, row.data(), sizeof m0);
      std::memcpy(&m1, row.data() + 4, sizeof m1);
      acc[2 * k] += (v ^ m0) - m0;  // +v where the sign bit is set, -v where clear
      acc[2 * k + 1] += (v ^ m1) - m1;
    }
  }
  std::uint64_t bits = 0;
  for (std::size_t b = 0; b < 64; ++b)
    if (acc[b / 4][b % 4] > 0) bits |= std::uint64_t{1} << b;
  return bits;
}

}  // namespace

std::uint64_t signature_sample_index(std::uint64_t elements, std::size_t j) noexcept {
  constexpr std::uint64_t k_den = 2 * k_signature_samples;
  const std::uint64_t odd = 2 * std::uint64_t{j} + 1;
  return odd * (elements / k_den) + odd * (elements % k_den) / k_den;
}

std::optional<Signature> tensor_signature(std::span<const std::byte> raw, core::DType dtype) {
  if (!signature_dtype(dtype)) return std::nullopt;
  const std::size_t size = core::dtype_size(dtype);
  return tensor_signature(raw.size() / size, dtype, [&](std::uint64_t i, std::span<std::byte> out) {
    std::memcpy(out.data(), raw.data() + i * size, size);
  });
}

std::optional<Signature> tensor_signature(std::uint64_t n, core::DType dtype, const ElementReader& read) {
  if (!signature_dtype(dtype)) return std::nullopt;
  if (n < k_min_similarity_elements) return std::nullopt;

  std::array<double, k_signature_samples> sample{};
  std::array<std::byte, 8> element{};
  const std::size_t size = core::dtype_size(dtype);
  double max_abs = 0;
  for (std::size_t j = 0; j < k_signature_samples; ++j) {
    read(signature_sample_index(n, j), std::span(element).first(size));
    sample[j] = sample_value(dtype, element.data(), 0);
    max_abs = std::max(max_abs, std::fabs(sample[j]));
  }
  if (max_abs == 0) return std::nullopt;
  // Round to nearest (even) by adding and subtracting 1.5 * 2^52: exact, no libm call.
  constexpr double k_round = 0x1.8p52;
  std::array<std::int32_t, k_signature_samples> q{};
  for (std::size_t j = 0; j < k_signature_samples; ++j)
    q[j] = static_cast<std::int32_t>((sample[j] / max_abs * k_quant_scale + k_round) - k_round);
  return Signature{dtype, n, simhash(q)};
}

std::uint32_t lsh_band(std::uint64_t bits, std::size_t band) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < k_lsh_band_bits; ++i)
    v |= static_cast<std::uint32_t>((bits >> k_band_bits[band][i]) & 1) << i;
  return v;
}

std::uint64_t lsh_band_mask(std::size_t band) noexcept {
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < k_lsh_band_bits; ++i) mask |= std::uint64_t{1} << k_band_bits[band][i];
  return mask;
}

}  // namespace coral::vcs
