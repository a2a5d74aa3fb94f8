#include "chunk_data.hpp"
#include "coral/delta/codec.hpp"

#include "coral/core/error.hpp"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>
#include <random>

using namespace coral;
using namespace coral::delta;

namespace {

using coral::delta::testing::random_bytes;

std::vector<std::byte> floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0, 0.02f);
  std::vector<std::byte> v(n * 4);
  for (std::size_t i = 0; i < n; ++i) {
    const float f = d(rng);
    std::memcpy(v.data() + 4 * i, &f, 4);
  }
  return v;
}

std::vector<std::byte> stream_decode(const Encoded& e, std::uint64_t raw_size, std::size_t piece) {
  std::vector<std::byte> out;
  StreamDecoder d(e.encoding, raw_size, [&](std::span<const std::byte> p) { out.insert(out.end(), p.begin(), p.end()); });
  for (std::size_t off = 0; off < e.bytes.size(); off += piece)
    d.feed(std::span<const std::byte>(e.bytes).subspan(off, std::min(piece, e.bytes.size() - off)));
  d.finish();
  return out;
}

}  // namespace

TEST(CodecTest, RoundTripsEverySizeAndKind) {
  const float special[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(), -0.0f, std::numeric_limits<float>::denorm_min()};
  std::vector<std::vector<std::byte>> inputs = {{}, random_bytes(1, 1), random_bytes(63, 2), random_bytes(64, 3),
                                                random_bytes(100001, 4), floats(50000, 5),
                                                std::vector<std::byte>(1 << 20, std::byte{0})};
  std::vector<std::byte> sp(sizeof special);
  std::memcpy(sp.data(), special, sizeof special);
  inputs.push_back(sp);
  for (const auto dtype : core::k_all_dtypes) {
    for (const auto& raw : inputs) {
      const Encoded e = encode(raw, dtype);
      EXPECT_LE(e.bytes.size(), raw.size()) << "never bigger than raw";
      EXPECT_EQ(decode(e.encoding, e.bytes, raw.size()), raw);
      for (std::size_t piece : {1u, 7u, 4096u, 1u << 22}) EXPECT_EQ(stream_decode(e, raw.size(), piece), raw);
    }
  }
}

TEST(CodecTest, CompressiblePicksZstdAndRandomStaysRaw) {
  const std::vector<std::byte> zeros(1 << 16, std::byte{0});
  EXPECT_EQ(encode(zeros, core::DType::f32).encoding, Encoding::zstd);
  EXPECT_EQ(encode(random_bytes(1 << 16, 9), core::DType::u8).encoding, Encoding::raw);
}

TEST(CodecTest, MultithreadedCompressionDecodesToTheSameBytes) {
  const auto raw = floats(3u << 20, 11);  // 12 MiB: above the multithreading threshold
  const Encoded one = encode(raw, core::DType::f32, {.zstd_level = 1, .threads = 1});
  const Encoded two = encode(raw, core::DType::f32, {.zstd_level = 1, .threads = 2});
  EXPECT_EQ(decode(two.encoding, two.bytes, raw.size()), raw);
  EXPECT_EQ(decode(one.encoding, one.bytes, raw.size()), raw);
}

TEST(CodecTest, DamageIsCorruptionNeverWrongData) {
  const auto raw = floats(10000, 12);
  Encoded e = encode(raw, core::DType::f32);
  ASSERT_EQ(e.encoding, Encoding::zstd);
  EXPECT_THROW(decode(e.encoding, e.bytes, raw.size() + 1), CorruptError);
  auto truncated = e;
  truncated.bytes.resize(e.bytes.size() / 2);
  EXPECT_THROW(decode(truncated.encoding, truncated.bytes, raw.size()), CorruptError);
  EXPECT_THROW(stream_decode(truncated, raw.size(), 1000), CorruptError);
  auto trailing = e;
  trailing.bytes.push_back(std::byte{1});
  EXPECT_THROW(stream_decode(trailing, raw.size(), 1000), CorruptError);
  EXPECT_THROW(decode(Encoding::raw, raw, raw.size() - 1), CorruptError);
  EXPECT_THROW(StreamDecoder(static_cast<Encoding>(9), 1, [](std::span<const std::byte>) {}), CorruptError);
  EXPECT_TRUE(is_known_encoding(2));
  EXPECT_FALSE(is_known_encoding(3));
}
