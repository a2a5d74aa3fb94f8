// CosineAccumulator: typed loops for f32, f16, bf16 and f64, element_as_double for the rest.
// f32/f16/bf16 values are below 2^128, so their squares and sums fit a double as they are. f64
// values are scaled by a power of two per side (exact), chosen from the largest magnitude seen so
// far; when a later chunk raises it, the sums so far are rescaled (ldexp, exact or underflowing).

#include "similarity.hpp"

#include "coral/core/error.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace coral::vcs {
namespace {

constexpr int k_no_exponent = std::numeric_limits<int>::min();

struct Sums {
  double ab = 0, aa = 0, bb = 0;
  void add(double x, double y) noexcept {
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
};

// Four interleaved partial sums so the loop is not one long dependency chain.
template <typename ConvertA, typename ConvertB>
Sums accumulate(const std::byte* a, const std::byte* b, std::size_t n, std::size_t width, ConvertA convert_a,
                ConvertB convert_b) noexcept {
  Sums s[4];
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (std::size_t k = 0; k < 4; ++k) s[k].add(convert_a(a + (i + k) * width), convert_b(b + (i + k) * width));
  for (; i < n; ++i) s[0].add(convert_a(a + i * width), convert_b(b + i * width));
  return {s[0].ab + s[1].ab + s[2].ab + s[3].ab, s[0].aa + s[1].aa + s[2].aa + s[3].aa,
          s[0].bb + s[1].bb + s[2].bb + s[3].bb};
}

template <typename U>
U load_bits(const std::byte* p) noexcept {
  U v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) {
    U r = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) r = static_cast<U>((r << 8) | ((v >> (8 * i)) & 0xff));
    v = r;
  }
  return v;
}

double f32_value(const std::byte* p) noexcept {
  const auto u = load_bits<std::uint32_t>(p);
  return (u & 0x7f800000u) == 0x7f800000u ? 0.0 : double{std::bit_cast<float>(u)};
}

double bf16_value(const std::byte* p) noexcept {
  const std::uint32_t u = std::uint32_t{load_bits<std::uint16_t>(p)} << 16;
  return (u & 0x7f800000u) == 0x7f800000u ? 0.0 : double{std::bit_cast<float>(u)};
}

double f16_value(const std::byte* p) noexcept {
  const auto h = load_bits<std::uint16_t>(p);
  if ((h & 0x7c00u) == 0x7c00u) return 0.0;
  const float mag = std::bit_cast<float>(static_cast<std::uint32_t>(h & 0x7fffu) << 13) * 0x1p112f;
  return (h & 0x8000u) ? -double{mag} : double{mag};
}

double f64_value(const std::byte* p) noexcept {
  const double v = std::bit_cast<double>(load_bits<std::uint64_t>(p));
  return std::isfinite(v) ? v : 0.0;
}

// Exponent e such that |v| < 2^e for every finite v in the chunk, clamped so that 2^-e is a
// normal double; k_no_exponent when the chunk has no nonzero finite value.
int chunk_exponent(const std::byte* p, std::size_t n) noexcept {
  double max_abs = 0;
  for (std::size_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(f64_value(p + 8 * i)));
  if (max_abs == 0) return k_no_exponent;
  return std::clamp(std::ilogb(max_abs) + 1, -1020, 1020);
}

}  // namespace

CosineAccumulator::CosineAccumulator(core::DType dtype) : m_dtype(dtype) {
  m_exp_a = m_exp_b = k_no_exponent;
}

void CosineAccumulator::add(std::span<const std::byte> a, std::span<const std::byte> b) {
  const std::size_t width = core::dtype_size(m_dtype);
  CORAL_ASSERT(a.size() == b.size() && a.size() % width == 0);
  const std::size_t n = a.size() / width;
  Sums s;
  switch (m_dtype) {
    case core::DType::f32: s = accumulate(a.data(), b.data(), n, 4, f32_value, f32_value); break;
    case core::DType::bf16: s = accumulate(a.data(), b.data(), n, 2, bf16_value, bf16_value); break;
    case core::DType::f16: s = accumulate(a.data(), b.data(), n, 2, f16_value, f16_value); break;
    case core::DType::f64: {
      const int ea = std::max(m_exp_a, chunk_exponent(a.data(), n));
      const int eb = std::max(m_exp_b, chunk_exponent(b.data(), n));
      if (m_exp_a != k_no_exponent && ea != m_exp_a) {
        m_aa = std::ldexp(m_aa, 2 * (m_exp_a - ea));
        m_ab = std::ldexp(m_ab, m_exp_a - ea);
      }
      if (m_exp_b != k_no_exponent && eb != m_exp_b) {
        m_bb = std::ldexp(m_bb, 2 * (m_exp_b - eb));
        m_ab = std::ldexp(m_ab, m_exp_b - eb);
      }
      m_exp_a = ea;
      m_exp_b = eb;
      // A side with no nonzero value so far contributes zeros whatever its scale.
      const double sa = ea == k_no_exponent ? 1.0 : std::ldexp(1.0, -ea);
      const double sb = eb == k_no_exponent ? 1.0 : std::ldexp(1.0, -eb);
      s = accumulate(
          a.data(), b.data(), n, 8, [sa](const std::byte* p) { return f64_value(p) * sa; },
          [sb](const std::byte* p) { return f64_value(p) * sb; });
      break;
    }
    default:
      for (std::size_t i = 0; i < n; ++i) {
        double x = core::element_as_double(m_dtype, a.data(), i);
        double y = core::element_as_double(m_dtype, b.data(), i);
        s.add(std::isfinite(x) ? x : 0.0, std::isfinite(y) ? y : 0.0);
      }
  }
  m_ab += s.ab;
  m_aa += s.aa;
  m_bb += s.bb;
}

double CosineAccumulator::value() const {
  if (!(m_aa > 0) || !(m_bb > 0)) return 0.0;
  return std::clamp(m_ab / (std::sqrt(m_aa) * std::sqrt(m_bb)), -1.0, 1.0);
}

}  // namespace coral::vcs
