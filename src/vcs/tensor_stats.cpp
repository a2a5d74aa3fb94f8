#include "tensor_stats.hpp"

#include <cmath>
#include <limits>

namespace coral::vcs {

TensorStats compute_tensor_stats(core::DType dtype, std::span<const std::byte> a, bool a_be, std::span<const std::byte> b,
                                 bool b_be) {
  TensorStats s;
  const std::size_t n = std::min(a.size(), b.size()) / core::dtype_size(dtype);
  double diff2 = 0, aa = 0, bb = 0, ab = 0, max_abs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = core::element_as_double(dtype, a.data(), i, a_be);
    const double y = core::element_as_double(dtype, b.data(), i, b_be);
    const bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn || yn) {
      if (xn != yn) ++s.nan_mismatches;
      continue;
    }
    double d = x - y;
    if (std::isnan(d)) d = 0;  // inf - inf of the same sign
    d = std::fabs(d);
    if (d > max_abs) max_abs = d;
    if (std::isfinite(x) && std::isfinite(y)) {
      diff2 += d * d;
      aa += x * x;
      bb += y * y;
      ab += x * y;
    }
  }
  s.max_abs_diff = max_abs;
  s.rel_l2 = aa > 0 ? std::sqrt(diff2 / aa) : (diff2 > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  if (aa > 0 && bb > 0) s.cosine = ab / (std::sqrt(aa) * std::sqrt(bb));
  else s.cosine = (aa == 0 && bb == 0) ? 1.0 : 0.0;
  return s;
}

}  // namespace coral::vcs
