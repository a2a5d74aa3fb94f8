// The merge arithmetic (src/vcs/merge_math.hpp): properties on small tensors, the rounding
// helpers on hand-picked values, identical bytes with any thread pool, and a bit-for-bit
// cross-check against the independent numpy reference tests/data/merge_reference.py.

#include "vcs/merge_math.hpp"

#include "coral/core/error.hpp"
#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <stdexcept>

using namespace coral;
using namespace coral::vcs;
using core::DType;

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
const std::string k_key{"model.safetensors\0layer.weight", 30};

struct Tensor {
  DType dtype = DType::f32;
  bool big_endian = false;
  std::vector<std::byte> bytes;
  TensorView view() const { return {dtype, big_endian, bytes}; }
};

// Stores values the way a merge result is stored: double -> float32 -> dtype, nearest even.
Tensor encode(DType dtype, const std::vector<double>& values, bool big_endian = false) {
  Tensor t{dtype, big_endian, {}};
  const std::size_t size = core::dtype_size(dtype);
  t.bytes.resize(values.size() * size);
  for (std::size_t e = 0; e < values.size(); ++e) {
    const double v = values[e];
    const auto f = static_cast<float>(v);
    const std::uint64_t bits = dtype == DType::f64   ? std::bit_cast<std::uint64_t>(v)
                               : dtype == DType::f32 ? std::bit_cast<std::uint32_t>(f)
                               : dtype == DType::f16 ? float_to_f16(f)
                                                     : float_to_bf16(f);
    for (std::size_t k = 0; k < size; ++k)
      t.bytes[e * size + (big_endian ? size - 1 - k : k)] = static_cast<std::byte>((bits >> (8 * k)) & 0xff);
  }
  return t;
}

std::vector<double> decode(const Tensor& t) {
  std::vector<double> out(t.bytes.size() / core::dtype_size(t.dtype));
  for (std::size_t e = 0; e < out.size(); ++e)
    out[e] = core::element_as_double(t.dtype, t.bytes.data(), e, t.big_endian);
  return out;
}

std::vector<double> normal(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<std::byte> run(MergeMethod method, const MergeParams& params, const std::vector<const Tensor*>& sides,
                           const Tensor* base = nullptr, core::ThreadPool* pool = nullptr) {
  std::vector<TensorView> views;
  for (const Tensor* s : sides) views.push_back(s->view());
  const TensorView base_view = base != nullptr ? base->view() : TensorView{};
  return merge_tensor(method, params, views, base != nullptr ? &base_view : nullptr, k_key, pool);
}

// Equal bytes; on a mismatch, the first differing byte rather than two long dumps.
::testing::AssertionResult same(const std::vector<std::byte>& got, const std::vector<std::byte>& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " bytes, expected " << want.size();
  const auto [g, w] = std::mismatch(got.begin(), got.end(), want.begin());
  if (g == got.end()) return ::testing::AssertionSuccess() << "the " << got.size() << " bytes are equal";
  return ::testing::AssertionFailure() << "byte " << (g - got.begin()) << " differs: " << std::to_integer<int>(*g)
                                       << ", expected " << std::to_integer<int>(*w);
}

struct Format {
  DType dtype;
  bool big_endian;
  const char* name;
};
const Format k_formats[] = {{DType::f32, false, "F32"},           {DType::bf16, false, "BF16"},
                            {DType::f16, false, "F16"},           {DType::f64, false, "F64"},
                            {DType::f32, true, "F32 big-endian"}, {DType::f16, true, "F16 big-endian"}};

// ---------------------------------------------------------------------------------------------
// Properties

TEST(MergeMath, MergingATensorWithItselfGivesItsBytes) {
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor x = encode(f.dtype, normal(500, 1), f.big_endian);
    EXPECT_TRUE(same(run(MergeMethod::average, {}, {&x, &x}), x.bytes));
    EXPECT_TRUE(same(run(MergeMethod::weighted, {}, {&x, &x}), x.bytes));
    EXPECT_TRUE(same(run(MergeMethod::weighted, {.weights = {2.0, 2.0}}, {&x, &x}), x.bytes));
    EXPECT_TRUE(same(run(MergeMethod::slerp, {.t = 0.5}, {&x, &x}), x.bytes));
    // (x + x + x) / 3 and 0.7 * x + 0.3 * x are x only up to double rounding: F64 may differ in
    // the last bit, the other dtypes are exact once rounded to float32.
    if (f.dtype != DType::f64) {
      EXPECT_TRUE(same(run(MergeMethod::average, {}, {&x, &x, &x}), x.bytes));
      EXPECT_TRUE(same(run(MergeMethod::slerp, {.t = 0.3}, {&x, &x}), x.bytes));
    }
    // Task vectors of zero against base = x.
    EXPECT_TRUE(same(run(MergeMethod::task_arithmetic, {.lambda = 0.7}, {&x, &x}, &x), x.bytes));
    EXPECT_TRUE(same(run(MergeMethod::ties, {.density = 0.3}, {&x, &x, &x}, &x), x.bytes));
    EXPECT_TRUE(same(run(MergeMethod::dare, {.density = 0.5, .seed = 3}, {&x, &x}, &x), x.bytes));
    EXPECT_TRUE(same(run(MergeMethod::dare_ties, {.density = 0.5, .seed = 3}, {&x, &x}, &x), x.bytes));
  }
}

TEST(MergeMath, AverageOfTwoIsSymmetric) {
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor x = encode(f.dtype, normal(500, 2), f.big_endian), y = encode(f.dtype, normal(500, 3), f.big_endian);
    const auto xy = run(MergeMethod::average, {}, {&x, &y});
    EXPECT_TRUE(same(xy, run(MergeMethod::average, {}, {&y, &x})));
    EXPECT_FALSE(same(xy, x.bytes));
  }
}

TEST(MergeMath, TaskArithmeticWithZeroLambdaGivesTheBase) {
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor b = encode(f.dtype, normal(500, 4), f.big_endian);
    const Tensor x = encode(f.dtype, normal(500, 5), f.big_endian), y = encode(f.dtype, normal(500, 6), f.big_endian);
    EXPECT_TRUE(same(run(MergeMethod::task_arithmetic, {.lambda = 0.0}, {&x, &y}, &b), b.bytes));
  }
}

// -0.0 + 0.0 is +0.0: an element no side changed (or lambda 0) must keep the base's sign of zero.
TEST(MergeMath, AZeroDeltaKeepsTheBasesNegativeZero) {
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor b = encode(f.dtype, {-0.0, 1.5, -0.0, 0.0}, f.big_endian);
    const Tensor x = encode(f.dtype, {-0.0, 2.5, 1.0, 0.0}, f.big_endian);
    EXPECT_TRUE(same(run(MergeMethod::task_arithmetic, {.lambda = 0.0}, {&x, &x}, &b), b.bytes));
    const Tensor expected = encode(f.dtype, {-0.0, 3.5, 2.0, 0.0}, f.big_endian);
    EXPECT_TRUE(same(run(MergeMethod::task_arithmetic, {}, {&x, &x}, &b), expected.bytes));
    EXPECT_TRUE(same(run(MergeMethod::ties, {}, {&x, &b}, &b), x.bytes));
    EXPECT_TRUE(same(run(MergeMethod::dare, {.density = 1.0}, {&x, &b}, &b), x.bytes));
  }
}

// mergekit normalizes a zero vector to itself, so its dot product with anything is 0: slerp, not
// the linear fallback (at t = 0.5 the other side is scaled by sin(pi/4), not 0.5).
TEST(MergeMath, SlerpWithAZeroSideTreatsItAsOrthogonal) {
  const Tensor a = encode(DType::f64, {0.0, 0.0, 0.0});
  const Tensor c = encode(DType::f64, {1.0, -2.0, 4.0});
  const auto r = run(MergeMethod::slerp, {.t = 0.5}, {&a, &c});
  const double theta = std::acos(0.0);
  const double s1 = std::sin(theta * 0.5) / std::sin(theta);
  EXPECT_TRUE(same(r, encode(DType::f64, {s1 * 1.0, s1 * -2.0, s1 * 4.0}).bytes));
}

TEST(MergeMath, TiesAtFullDensityOnOneSideIsTaskArithmetic) {
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor b = encode(f.dtype, normal(500, 7), f.big_endian);
    const Tensor x = encode(f.dtype, normal(500, 8), f.big_endian);
    const auto ties = run(MergeMethod::ties, {.lambda = 0.7, .density = 1.0}, {&x}, &b);
    EXPECT_TRUE(same(ties, run(MergeMethod::task_arithmetic, {.lambda = 0.7}, {&x}, &b)));
    EXPECT_FALSE(same(ties, b.bytes));
  }
}

TEST(MergeMath, DareAtFullDensityIsTaskArithmetic) {
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor b = encode(f.dtype, normal(500, 9), f.big_endian);
    const Tensor x = encode(f.dtype, normal(500, 10), f.big_endian), y = encode(f.dtype, normal(500, 11), f.big_endian),
                 z = encode(f.dtype, normal(500, 12), f.big_endian);
    const MergeParams p{.weights = {1.0, 0.5, -0.25}, .lambda = 0.9, .density = 1.0, .seed = 5};
    EXPECT_TRUE(
        same(run(MergeMethod::dare, p, {&x, &y, &z}, &b), run(MergeMethod::task_arithmetic, p, {&x, &y, &z}, &b)));
  }
}

TEST(MergeMath, DareMaskDependsOnSeedKeySideAndIndexOnly) {
  constexpr std::size_t n = 2000;
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor b = encode(f.dtype, std::vector<double>(n, 0.0), f.big_endian);
    const Tensor x = encode(f.dtype, std::vector<double>(n, 1.0), f.big_endian);
    const Tensor y = encode(f.dtype, normal(n, 13), f.big_endian);
    const MergeParams p{.density = 0.5, .seed = 11};
    const auto first = run(MergeMethod::dare, p, {&x, &y}, &b);
    EXPECT_TRUE(same(first, run(MergeMethod::dare, p, {&x, &y}, &b)));
    EXPECT_FALSE(same(first, run(MergeMethod::dare, {.density = 0.5, .seed = 12}, {&x, &y}, &b)));
    // With one side of ones over a zero base, element e is 1 / density exactly when dare_keeps says so.
    const auto alone = decode({f.dtype, f.big_endian, run(MergeMethod::dare, p, {&x}, &b)});
    for (std::size_t e = 0; e < n; ++e)
      ASSERT_EQ(alone[e], dare_keeps(11, k_key, 0, e, 0.5) ? 2.0 : 0.0) << "element " << e;
  }
  std::size_t kept = 0, same_as_side1 = 0, same_as_other_key = 0;
  for (std::uint64_t e = 0; e < 10'000; ++e) {
    const bool k0 = dare_keeps(99, k_key, 0, e, 0.3);
    kept += k0 ? 1 : 0;
    same_as_side1 += k0 == dare_keeps(99, k_key, 1, e, 0.3) ? 1 : 0;
    same_as_other_key += k0 == dare_keeps(99, std::string_view("other\0key", 9), 0, e, 0.3) ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(kept) / 10'000, 0.3, 0.03);
  EXPECT_NEAR(static_cast<double>(same_as_side1) / 10'000, 0.58, 0.03);  // independent: 0.3² + 0.7²
  EXPECT_NEAR(static_cast<double>(same_as_other_key) / 10'000, 0.58, 0.03);
  EXPECT_TRUE(dare_keeps(1, k_key, 0, 0, 1.0));
}

// Values drawn from a few dozen distinct numbers: TIES' magnitudes tie across block boundaries.
std::vector<double> duplicates(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> out(n);
  for (auto& v : out) v = static_cast<double>(static_cast<int>(rng() % 41) - 20) / 8.0;
  return out;
}

TEST(MergeMath, ThreadPoolsGiveIdenticalBytes) {
  constexpr std::size_t n = 200'000;  // four blocks of 65536
  core::ThreadPool p1(1), p2(2), p4(4);
  for (const DType dtype : {DType::f32, DType::bf16}) {
    SCOPED_TRACE(core::dtype_name(dtype));
    const Tensor b = encode(dtype, duplicates(n, 20));
    const Tensor x = encode(dtype, duplicates(n, 21)), y = encode(dtype, duplicates(n, 22)),
                 z = encode(dtype, duplicates(n, 23));
    const MergeParams p{.weights = {1.0, 0.6, 0.3}, .lambda = 0.8, .density = 0.3, .seed = 4, .t = 0.4};
    for (const MergeMethod method :
         {MergeMethod::average, MergeMethod::weighted, MergeMethod::task_arithmetic, MergeMethod::ties,
          MergeMethod::dare, MergeMethod::dare_ties, MergeMethod::slerp}) {
      SCOPED_TRACE(static_cast<int>(method));
      const bool slerp = method == MergeMethod::slerp;
      const std::vector<const Tensor*> sides =
          slerp ? std::vector<const Tensor*>{&x, &y} : std::vector<const Tensor*>{&x, &y, &z};
      MergeParams params = p;
      if (slerp) params.weights.clear();
      const auto serial = run(method, params, sides, &b);
      for (core::ThreadPool* pool : {&p1, &p2, &p4}) EXPECT_TRUE(same(run(method, params, sides, &b, pool), serial));
    }
  }
}

// Merging piece by piece from sources that copy into the caller's buffer gives merge_tensor's
// bytes, whatever the piece size (a TIES threshold with many equal magnitudes spans pieces).
TEST(MergeMath, StreamingInPiecesGivesTheSameBytes) {
  constexpr std::size_t n = 200'000;  // four blocks of 65536, the last one partial
  core::ThreadPool pool(2);
  const DType dtype = DType::bf16;
  const Tensor b = encode(dtype, duplicates(n, 40));
  const Tensor x = encode(dtype, duplicates(n, 41)), y = encode(dtype, duplicates(n, 42)), z = encode(dtype, duplicates(n, 43));
  auto source = [](const Tensor& t) {
    return TensorSource{t.dtype, t.big_endian, t.bytes.size() / 2,
                        [&t](std::uint64_t begin, std::uint64_t end, std::vector<std::byte>& buffer) {
                          buffer.assign(t.bytes.begin() + static_cast<std::ptrdiff_t>(begin * 2),
                                        t.bytes.begin() + static_cast<std::ptrdiff_t>(end * 2));
                          return std::span<const std::byte>(buffer);
                        }};
  };
  const MergeParams p{.weights = {1.0, 0.6, 0.3}, .lambda = 0.8, .density = 0.3, .seed = 4, .t = 0.4};
  for (const MergeMethod method : {MergeMethod::average, MergeMethod::task_arithmetic, MergeMethod::ties,
                                   MergeMethod::dare_ties, MergeMethod::slerp}) {
    SCOPED_TRACE(static_cast<int>(method));
    const bool slerp = method == MergeMethod::slerp;
    std::vector<const Tensor*> sides = slerp ? std::vector<const Tensor*>{&x, &y} : std::vector<const Tensor*>{&x, &y, &z};
    MergeParams params = p;
    if (slerp) params.weights.clear();
    const auto whole = run(method, params, sides, &b);
    std::vector<TensorSource> sources;
    for (const Tensor* t : sides) sources.push_back(source(*t));
    const TensorSource base = source(b);
    for (const std::uint64_t piece : {k_merge_block, 2 * k_merge_block}) {
      for (core::ThreadPool* with : {static_cast<core::ThreadPool*>(nullptr), &pool}) {
        std::vector<std::byte> out;
        std::uint64_t next = 0;
        merge_tensor_stream(method, params, sources, &base, k_key, piece, with,
                            [&](std::uint64_t first, std::span<const std::byte> bytes) {
                              EXPECT_EQ(first, next);
                              next += bytes.size() / 2;
                              out.insert(out.end(), bytes.begin(), bytes.end());
                            });
        EXPECT_TRUE(same(out, whole)) << "piece " << piece;
      }
    }
  }
}

// TIES' trim keeps the k largest magnitudes, earlier elements first among equal ones, across
// blocks: checked against a stable sort, with and without a pool.
// Two value sets: many duplicates (the threshold is selected among the keys sharing its top
// bits), and one magnitude everywhere (too many such keys to hold: the radix select goes on).
TEST(MergeMath, TiesTrimKeepsTheLargestMagnitudesInIndexOrder) {
  constexpr std::size_t n = 200'000;
  std::vector<double> alternating(n);
  for (std::size_t i = 0; i < n; ++i) alternating[i] = i % 3 == 0 ? -0.5 : 0.5;
  for (const auto& values : {duplicates(n, 30), alternating}) {
    const Tensor x = encode(DType::f32, values), zero = encode(DType::f32, std::vector<double>(n, 0.0));
    for (const double density : {0.3, 0.55, 1e-6}) {
      SCOPED_TRACE(density);
      const auto k = static_cast<std::size_t>(std::floor(density * static_cast<double>(n)));
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t i, std::size_t j) { return std::fabs(values[i]) > std::fabs(values[j]); });
      std::vector<double> expected(n, 0.0);
      for (std::size_t r = 0; r < k; ++r) expected[order[r]] = values[order[r]];
      const Tensor want = encode(DType::f32, expected);
      core::ThreadPool pool(2);
      EXPECT_TRUE(same(run(MergeMethod::ties, {.density = density}, {&x}, &zero), want.bytes));
      EXPECT_TRUE(same(run(MergeMethod::ties, {.density = density}, {&x}, &zero, &pool), want.bytes));
    }
  }
}

TEST(MergeMath, SlerpEndpointsAndLinearFallback) {
  for (const Format& f : k_formats) {
    SCOPED_TRACE(f.name);
    const Tensor a = encode(f.dtype, normal(500, 40), f.big_endian), c = encode(f.dtype, normal(500, 41), f.big_endian);
    // Not parallel (cos near 0): sin(θ - 0) / sin(θ) is exactly 1 and sin(0) exactly 0, so the
    // end points are exact.
    EXPECT_TRUE(same(run(MergeMethod::slerp, {.t = 0.0}, {&a, &c}), a.bytes));
    EXPECT_TRUE(same(run(MergeMethod::slerp, {.t = 1.0}, {&a, &c}), c.bytes));
    EXPECT_FALSE(same(run(MergeMethod::slerp, {.t = 0.5}, {&a, &c}), a.bytes));

    // Parallel and anti-parallel: linear interpolation, computed in double, rounded once.
    const std::vector<double> av = decode(a);
    for (const double factor : {2.0, -1.0}) {
      std::vector<double> cv(av.size()), expected(av.size());
      for (std::size_t e = 0; e < av.size(); ++e) {
        cv[e] = factor * av[e];
        volatile double p0 = (1.0 - 0.3) * av[e];  // volatile: no fused multiply-add here either
        volatile double p1 = 0.3 * cv[e];
        expected[e] = p0 + p1;
      }
      const Tensor c2 = encode(f.dtype, cv, f.big_endian);
      EXPECT_TRUE(same(run(MergeMethod::slerp, {.t = 0.3}, {&a, &c2}), encode(f.dtype, expected, f.big_endian).bytes));
    }
    // A zero vector has no direction: linear interpolation too.
    const Tensor zero = encode(f.dtype, std::vector<double>(500, 0.0), f.big_endian);
    EXPECT_TRUE(same(run(MergeMethod::slerp, {.t = 0.0}, {&a, &zero}), a.bytes));
  }
}

// ---------------------------------------------------------------------------------------------
// Rounding

float from_bits(std::uint32_t u) {
  return std::bit_cast<float>(u);
}

TEST(MergeMath, RoundingToBf16) {
  const std::pair<std::uint32_t, std::uint16_t> cases[] = {
      {0x3F800000, 0x3F80},  // 1
      {0x3F808000, 0x3F80},  // halfway, even stays
      {0x3F818000, 0x3F82},  // halfway, odd rounds up to even
      {0x3F808001, 0x3F81},  // just above halfway
      {0x3F807FFF, 0x3F80},  // just below halfway
      {0xC0000000, 0xC000},  // -2
      {0x80000000, 0x8000},  // -0
      {0x00000001, 0x0000},  // smallest float32 subnormal
      {0x00018000, 0x0002},  // subnormal halfway, odd rounds up
      {0x7F7FFFFF, 0x7F80},  // FLT_MAX overflows to +inf
      {0xFF7FFFFF, 0xFF80},  // -FLT_MAX to -inf
      {0x7F800000, 0x7F80},  // +inf
      {0xFF800000, 0xFF80},  // -inf
      {0x7FC00000, 0x7FC0},  // quiet NaN
      {0xFFC00001, 0xFFC0},  // negative NaN keeps its sign
      {0x7F800001, 0x7FC0},  // signaling NaN becomes quiet (rounding would have made it inf)
      {0x7F810000, 0x7FC1},  // NaN payload kept
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(float_to_bf16(from_bits(in)), out) << std::hex << in;
}

TEST(MergeMath, RoundingToF16) {
  const std::pair<float, std::uint16_t> cases[] = {
      {1.0f, 0x3C00},
      {-2.0f, 0xC000},
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f + 0x1p-11f, 0x3C00},      // halfway, even stays
      {1.0f + 3 * 0x1p-11f, 0x3C02},  // halfway, odd rounds up to even
      {1.0f + 0x1p-11f + 0x1p-20f, 0x3C01},
      {65504.0f, 0x7BFF},  // largest finite
      {65519.99f, 0x7BFF},
      {65520.0f, 0x7C00},  // halfway to 65536: rounds to even, which is infinity
      {1e6f, 0x7C00},
      {-1e6f, 0xFC00},
      {INFINITY, 0x7C00},
      {-INFINITY, 0xFC00},
      {0x1p-14f, 0x0400},             // smallest normal
      {0x1p-14f - 0x1p-25f, 0x0400},  // halfway between the largest subnormal and it: even
      {1023 * 0x1p-24f, 0x03FF},      // largest subnormal
      {0x1p-24f, 0x0001},             // smallest subnormal
      {0x1p-25f, 0x0000},             // halfway to the smallest subnormal: even is zero
      {0x1.8p-25f, 0x0001},
      {-0x1p-25f, 0x8000},
      {3 * 0x1p-25f, 0x0002},  // 1.5 subnormal steps: even is 2
      {5 * 0x1p-25f, 0x0002},  // 2.5 steps: even is 2
      {0x1p-26f, 0x0000},
      {1e-45f, 0x0000},                 // float32 subnormal
      {from_bits(0x7FC00000), 0x7E00},  // quiet NaN
      {from_bits(0xFFC00000), 0xFE00},  // negative NaN keeps its sign
      {from_bits(0x7F800001), 0x7E00},  // signaling NaN becomes quiet
      {from_bits(0x7FE02000), 0x7F01},  // payload's top bits kept
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(float_to_f16(in), out) << in;
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(MergeMath, InvalidParametersAreUsageErrors) {
  const Tensor b = encode(DType::f32, normal(10, 50)), x = encode(DType::f32, normal(10, 51));
  for (const MergeMethod method : {MergeMethod::ties, MergeMethod::dare, MergeMethod::dare_ties})
    for (const double density : {0.0, -0.5, 1.5, k_nan}) {
      SCOPED_TRACE(density);
      EXPECT_THROW(run(method, {.density = density}, {&x, &x}, &b), UsageError);
    }
  for (const double t : {-0.1, 1.1, k_nan}) EXPECT_THROW(run(MergeMethod::slerp, {.t = t}, {&x, &b}), UsageError);
  EXPECT_THROW(run(MergeMethod::slerp, {}, {&x, &b, &x}), UsageError);
  EXPECT_THROW(run(MergeMethod::slerp, {}, {&x}), UsageError);
  EXPECT_THROW(run(MergeMethod::weighted, {.weights = {1.0}}, {&x, &b}), UsageError);
  EXPECT_THROW(run(MergeMethod::task_arithmetic, {.weights = {1.0, 2.0, 3.0}}, {&x, &x}, &b), UsageError);
  EXPECT_THROW(run(MergeMethod::weighted, {.weights = {1.0, -1.0}}, {&x, &b}), UsageError);
  EXPECT_THROW(run(MergeMethod::weighted, {.weights = {1.0, INFINITY}}, {&x, &b}), UsageError);
  EXPECT_THROW(run(MergeMethod::task_arithmetic, {.lambda = k_nan}, {&x}, &b), UsageError);
  // Weights that add up to zero are fine without normalization, and density 1 is allowed.
  EXPECT_NO_THROW(run(MergeMethod::weighted, {.weights = {1.0, -1.0}, .normalize = false}, {&x, &b}));
  EXPECT_NO_THROW(run(MergeMethod::dare, {.density = 1.0}, {&x}, &b));
  EXPECT_NO_THROW(run(MergeMethod::slerp, {.t = 1.0}, {&x, &b}));
}

TEST(MergeMath, MissingBaseAndMismatchedSidesAreBugs) {
  const Tensor x = encode(DType::f32, normal(10, 60)), y16 = encode(DType::f16, normal(10, 61));
  const Tensor shorter = encode(DType::f32, normal(9, 62)), swapped = encode(DType::f32, normal(10, 63), true);
  const Tensor ints{DType::i32, false, x.bytes};
  for (const MergeMethod method :
       {MergeMethod::task_arithmetic, MergeMethod::ties, MergeMethod::dare, MergeMethod::dare_ties}) {
    EXPECT_TRUE(method_needs_base(method));
    EXPECT_THROW(run(method, {}, {&x, &x}), std::logic_error);
    EXPECT_THROW(run(method, {}, {&x, &x}, &shorter), std::logic_error);
  }
  EXPECT_FALSE(method_needs_base(MergeMethod::average));
  EXPECT_FALSE(method_needs_base(MergeMethod::slerp));
  EXPECT_THROW(run(MergeMethod::average, {}, {&x, &y16}), std::logic_error);
  EXPECT_THROW(run(MergeMethod::average, {}, {&x, &shorter}), std::logic_error);
  EXPECT_THROW(run(MergeMethod::average, {}, {&x, &swapped}), std::logic_error);
  EXPECT_THROW(run(MergeMethod::average, {}, {&ints, &ints}), std::logic_error);
  EXPECT_THROW(run(MergeMethod::average, {}, {}), std::logic_error);
  EXPECT_TRUE(mergeable_dtype(DType::bf16));
  EXPECT_FALSE(mergeable_dtype(DType::f8_e4m3));
  EXPECT_FALSE(mergeable_dtype(DType::i32));
}

// ---------------------------------------------------------------------------------------------
// Cross-check with the numpy reference

std::string as_string(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

const char* method_name(MergeMethod m) {
  switch (m) {
    case MergeMethod::average:
      return "average";
    case MergeMethod::weighted:
      return "weighted";
    case MergeMethod::task_arithmetic:
      return "task_arithmetic";
    case MergeMethod::ties:
      return "ties";
    case MergeMethod::dare:
      return "dare";
    case MergeMethod::dare_ties:
      return "dare_ties";
    case MergeMethod::slerp:
      return "slerp";
  }
  return "?";
}

double cosine(const std::vector<double>& a, const std::vector<double>& c) {
  double dot = 0, aa = 0, cc = 0;
  for (std::size_t e = 0; e < a.size(); ++e) {
    dot += a[e] * c[e];
    aa += a[e] * a[e];
    cc += c[e] * c[e];
  }
  return dot / std::sqrt(aa * cc);
}

TEST(MergeMathReference, NumpyReferenceAgreesBitForBit) {
  const std::string python = test::python();
  test::TempDir dir;
  const auto probe = test::run_program({python, "-c", "import numpy"}, {.cwd = dir.path()});
  if (probe.exit_code != 0) GTEST_SKIP() << python << " with numpy is needed: " << probe.err;

  // Three sides around a base, with duplicated task-vector magnitudes: every 7th element is
  // 0.5 ± 0.125 over a base of 0.5, every 11th equals the base.
  constexpr std::size_t n = 1000;
  std::mt19937_64 rng(77);
  std::normal_distribution<double> unit(0.0, 1.0);
  std::vector<double> base(n);
  std::vector<std::vector<double>> side(3, std::vector<double>(n)), near(2, std::vector<double>(n));
  for (std::size_t e = 0; e < n; ++e) {
    base[e] = e % 7 == 0 ? 0.5 : unit(rng);
    for (auto& s : side) {
      s[e] = base[e] + 0.1 * unit(rng);
      if (e % 7 == 0) s[e] = rng() % 2 != 0 ? 0.625 : 0.375;
      if (e % 11 == 0) s[e] = base[e];
    }
    near[0][e] = side[0][e] + 0.025 * unit(rng);  // cos ≈ 0.9997: just inside the linear fallback
    near[1][e] = side[0][e] + 0.05 * unit(rng);   // cos ≈ 0.9988: a small angle, slerp proper
  }
  EXPECT_GT(cosine(side[0], near[0]), 0.9995);
  EXPECT_LT(cosine(side[0], near[0]), 0.9998);
  EXPECT_LT(cosine(side[0], near[1]), 0.9995);
  EXPECT_LT(cosine(side[0], side[1]), 0.9995);

  struct Case {
    MergeMethod method;
    MergeParams params;
    std::vector<int> sides;  // 0..2: side[i]; 3, 4: near[0], near[1]
  };
  std::vector<Case> cases;
  const auto add = [&](MergeMethod method, MergeParams params, std::vector<int> sides) {
    cases.push_back({method, std::move(params), std::move(sides)});
  };
  add(MergeMethod::average, {}, {0, 1, 2});
  add(MergeMethod::weighted, {.weights = {0.6, 0.3, 0.3}}, {0, 1, 2});
  add(MergeMethod::weighted, {.weights = {0.5, -0.25, 1.5}, .normalize = false}, {0, 1, 2});
  add(MergeMethod::task_arithmetic, {.weights = {1.0, 0.5, 0.3}, .lambda = 0.8}, {0, 1, 2});
  add(MergeMethod::ties, {.weights = {1.0, 0.7, 0.4}, .lambda = 1.2, .density = 0.3}, {0, 1, 2});
  add(MergeMethod::ties, {.weights = {1.0, -0.5, 0.8}, .density = 1.0}, {0, 1, 2});
  add(MergeMethod::dare, {.weights = {1.0, 0.5, 0.25}, .density = 0.5, .seed = 42}, {0, 1, 2});
  add(MergeMethod::dare_ties, {.lambda = 0.9, .density = 0.5, .seed = 0xFEDCBA9876543210ull}, {0, 1, 2});
  add(MergeMethod::dare_ties, {.normalize = false, .density = 0.5, .seed = 7}, {0, 1, 2});
  add(MergeMethod::ties, {.normalize = false, .density = 0.3}, {0, 1, 2});
  add(MergeMethod::slerp, {.t = 0.3}, {0, 1});
  add(MergeMethod::slerp, {.t = 0.3}, {0, 3});
  add(MergeMethod::slerp, {.t = 0.7}, {0, 4});

  nlohmann::json spec;
  spec["cases"] = nlohmann::json::array();
  struct Expected {
    std::string file, what;
    std::vector<std::byte> bytes;
    std::size_t width;
  };
  std::vector<Expected> expected;
  for (const Format& f : k_formats) {
    const std::string prefix = std::string(core::dtype_name(f.dtype)) + (f.big_endian ? "-be" : "");
    std::vector<Tensor> tensors;
    for (const auto* values : {&side[0], &side[1], &side[2], &near[0], &near[1], &base})
      tensors.push_back(encode(f.dtype, *values, f.big_endian));
    for (std::size_t i = 0; i < tensors.size(); ++i)
      test::write_file(dir / (prefix + "-" + std::to_string(i) + ".bin"), as_string(tensors[i].bytes));
    for (std::size_t c = 0; c < cases.size(); ++c) {
      const Case& k = cases[c];
      std::vector<const Tensor*> sides;
      nlohmann::json files = nlohmann::json::array();
      for (const int i : k.sides) {
        sides.push_back(&tensors[static_cast<std::size_t>(i)]);
        files.push_back(prefix + "-" + std::to_string(i) + ".bin");
      }
      const bool needs_base = method_needs_base(k.method);
      const std::string out = prefix + "-out" + std::to_string(c) + ".bin";
      spec["cases"].push_back({{"method", method_name(k.method)},
                               {"dtype", core::dtype_name(f.dtype)},
                               {"big_endian", f.big_endian},
                               {"sides", files},
                               {"base", needs_base ? nlohmann::json(prefix + "-5.bin") : nlohmann::json()},
                               {"key", k_key},
                               {"weights", k.params.weights},
                               {"normalize", k.params.normalize},
                               {"lambda", k.params.lambda},
                               {"density", k.params.density},
                               {"seed", k.params.seed},
                               {"t", k.params.t},
                               {"output", out}});
      expected.push_back({out, std::string(f.name) + " case " + std::to_string(c) + " (" + method_name(k.method) + ")",
                          run(k.method, k.params, sides, needs_base ? &tensors[5] : nullptr),
                          core::dtype_size(f.dtype)});
    }
  }

  // Rounding to F16 and BF16 of float32 values: random bit patterns (no signaling NaNs, whose
  // conversion numpy leaves to the machine) and every F16 subnormal step and halfway point.
  std::vector<float> floats;
  std::mt19937 bits_rng(5);
  for (int i = 0; i < 20'000; ++i) {
    const std::uint32_t u = static_cast<std::uint32_t>(bits_rng());
    if ((u & 0x7F800000) == 0x7F800000 && (u & 0x007FFFFF) != 0 && (u & 0x00400000) == 0) continue;
    floats.push_back(from_bits(u));
  }
  for (int i = 0; i <= 2 * 1024 + 8; ++i) {
    floats.push_back(static_cast<float>(i) * 0x1p-25f);
    floats.push_back(static_cast<float>(i) * 0x1p-25f + 0x1p-40f);
    floats.push_back(-static_cast<float>(i) * 0x1p-25f);
  }
  for (const float v : {65504.0f, 65519.0f, 65520.0f, 65536.0f, 1e30f, INFINITY, -INFINITY, NAN, -NAN})
    floats.push_back(v);
  test::write_file(dir / "round-in.bin", std::string(reinterpret_cast<const char*>(floats.data()), floats.size() * 4));
  spec["cases"].push_back({{"method", "round"}, {"input", "round-in.bin"}, {"output", "round-out.bin"}});
  {
    std::vector<std::byte> round(floats.size() * 4);
    for (std::size_t i = 0; i < floats.size(); ++i) {
      const std::uint16_t h = float_to_f16(floats[i]), b = float_to_bf16(floats[i]);
      std::memcpy(&round[2 * i], &h, 2);  // little-endian machine, as the reference writes
      std::memcpy(&round[2 * (floats.size() + i)], &b, 2);
    }
    expected.push_back({"round-out.bin", "rounding of float32 values (F16 values, then BF16)", round, 2});
  }

  test::write_file(dir / "spec.json", spec.dump(1));
  const std::string script = (test::source_dir() / "tests/data/merge_reference.py").string();
  const auto r = test::run_program({python, script, (dir / "spec.json").string()}, {.cwd = dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  for (const Expected& want : expected) {
    SCOPED_TRACE(want.what);
    const std::string got = test::read_file(dir / want.file);
    ASSERT_EQ(got.size(), want.bytes.size());
    for (std::size_t at = 0; at < got.size(); at += want.width) {
      if (std::memcmp(got.data() + at, want.bytes.data() + at, want.width) != 0) {
        ADD_FAILURE() << "element " << at / want.width << " differs from the numpy reference";
        break;
      }
    }
  }
}

}  // namespace
