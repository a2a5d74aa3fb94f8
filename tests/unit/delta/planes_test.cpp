#include "chunk_data.hpp"
#include "delta/planes.hpp"

#include <gtest/gtest.h>
#include <random>
#include <vector>

using namespace coral::delta;

namespace {

using coral::delta::testing::random_bytes;

TEST(PlanesTest, SplitAndMergeMatchNaiveReference) {
  for (unsigned w : {1u, 2u, 4u, 8u}) {
    for (std::size_t n : {0u, 1u, 7u, 15u, 16u, 17u, 31u, 33u, 100u, 1000u, 4099u}) {
      const auto raw = random_bytes(n * w, n * 31 + w);
      std::vector<std::byte> planes(n * w), expected(n * w), back(n * w);
      for (std::size_t i = 0; i < n; ++i)
        for (unsigned p = 0; p < w; ++p) expected[p * n + i] = raw[i * w + p];
      split_planes(raw.data(), n, w, planes.data());
      EXPECT_EQ(planes, expected) << "w=" << w << " n=" << n;
      merge_planes(planes.data(), n, w, back.data());
      EXPECT_EQ(back, raw) << "w=" << w << " n=" << n;
    }
  }
}

TEST(PlanesTest, XorBytesIsInvolution) {
  auto a = random_bytes(1001, 1);
  const auto b = random_bytes(1001, 2);
  const auto orig = a;
  xor_bytes(a.data(), b.data(), a.size());
  EXPECT_NE(a, orig);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], orig[i] ^ b[i]);
  xor_bytes(a.data(), b.data(), a.size());
  EXPECT_EQ(a, orig);
}

}  // namespace
