#include "vcs/tensor_stats.hpp"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>
#include <vector>

using namespace coral;

namespace {
std::span<const std::byte> bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float)};
}
}  // namespace

TEST(TensorStatsTest, IdenticalTensors) {
  const std::vector<float> a{1, 2, 3};
  const auto s = vcs::compute_tensor_stats(core::DType::f32, bytes(a), false, bytes(a), false);
  EXPECT_EQ(s.max_abs_diff, 0);
  EXPECT_EQ(s.rel_l2, 0);
  EXPECT_NEAR(s.cosine, 1, 1e-12);
}

TEST(TensorStatsTest, KnownValues) {
  const std::vector<float> a{3, 4}, b{3, 5};
  const auto s = vcs::compute_tensor_stats(core::DType::f32, bytes(a), false, bytes(b), false);
  EXPECT_DOUBLE_EQ(s.max_abs_diff, 1);
  EXPECT_DOUBLE_EQ(s.rel_l2, 1.0 / 5.0);
  EXPECT_NEAR(s.cosine, (9 + 20) / (5 * std::sqrt(34.0)), 1e-12);
}

TEST(TensorStatsTest, NanAndInfDoNotPoison) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> a{1, nan, inf, 2}, b{1, 5, inf, nan};
  const auto s = vcs::compute_tensor_stats(core::DType::f32, bytes(a), false, bytes(b), false);
  EXPECT_EQ(s.nan_mismatches, 2u);
  EXPECT_EQ(s.max_abs_diff, 0);
  EXPECT_FALSE(std::isnan(s.cosine));
  const std::vector<float> c{1, 0}, d{inf, 0};
  EXPECT_TRUE(std::isinf(vcs::compute_tensor_stats(core::DType::f32, bytes(c), false, bytes(d), false).max_abs_diff));
}

TEST(TensorStatsTest, LargeValuesDoNotOverflow) {
  const std::vector<float> a(1000, 3e38f), b(1000, -3e38f);
  const auto s = vcs::compute_tensor_stats(core::DType::f32, bytes(a), false, bytes(b), false);
  EXPECT_NEAR(s.cosine, -1, 1e-9);
  EXPECT_NEAR(s.rel_l2, 2, 1e-9);
}

TEST(TensorStatsTest, Bf16AndBigEndian) {
  // bf16 1.0 = 0x3f80, 2.0 = 0x4000 (little-endian in memory).
  const std::uint16_t a[] = {0x3f80}, b[] = {0x4000};
  const auto s = vcs::compute_tensor_stats(core::DType::bf16, {reinterpret_cast<const std::byte*>(a), 2}, false,
                                           {reinterpret_cast<const std::byte*>(b), 2}, false);
  EXPECT_DOUBLE_EQ(s.max_abs_diff, 1);
  const unsigned char be_one[] = {0x3f, 0x80, 0x00, 0x00};  // big-endian float 1.0
  const float le_one = 1.0f;
  const auto t = vcs::compute_tensor_stats(core::DType::f32, {reinterpret_cast<const std::byte*>(be_one), 4}, true,
                                           {reinterpret_cast<const std::byte*>(&le_one), 4}, false);
  EXPECT_EQ(t.max_abs_diff, 0);
}
