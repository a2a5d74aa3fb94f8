#include "delta/scaled_ints.hpp"

#include "coral/core/error.hpp"
#include "coral/delta/chunks.hpp"
#include "unit/delta/chunk_data.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <bit>
#include <optional>

using namespace coral;
using namespace coral::delta;
using namespace coral::delta::testing;

namespace {

constexpr unsigned k_scaled_kind = 5;

std::optional<ScaledInts> factor(const Bytes& raw) {
  Bytes q(raw.size() / 4);
  auto sc = find_scaled_ints(raw.data(), raw.size() / 4, q.data());
  if (sc) {
    Bytes back(raw.size() / 4 * 4);
    expand_scaled_ints(q.data(), raw.size() / 4, sc->block_log2, sc->scales, back.data());
    EXPECT_TRUE(std::equal(back.begin(), back.end(), raw.begin())) << "factors do not multiply back";
  }
  return sc;
}

unsigned kind_of(const EncodedChunk& enc) { return std::to_integer<unsigned>(enc.bytes.at(0)); }

// Encodes without a base and against a random one, decodes, compares; returns the stored chunk.
EncodedChunk round_trip(const Bytes& raw, const std::string& what) {
  const EncodedChunk enc = encode_chunk(raw, {}, 4);
  EXPECT_LE(enc.bytes.size(), raw.size() + k_max_chunk_overhead) << what;
  Bytes out(raw.size(), std::byte{0xee});
  decode_chunk(enc.bytes, {}, 4, out);
  EXPECT_TRUE(out == raw) << what;
  EXPECT_TRUE(encode_chunk(raw, {}, 4).bytes == enc.bytes) << what << ": not deterministic";
  const Bytes base = random_bytes(raw.size(), raw.size());
  const EncodedChunk with_base = encode_chunk(raw, base, 4);
  decode_chunk(with_base.bytes, base, 4, out);
  EXPECT_TRUE(out == raw) << what << " with a base";
  return enc;
}

float with_bits(float f, std::int32_t delta) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(f)) + delta));
}

TEST(ScaledIntsTest, PerRowDequantizedMatricesFactorIntoRowBlocks) {
  struct Case {
    std::size_t rows, cols;
    unsigned block_log2;
  };
  // Rows of 448 (= 7 x 64) and 1792 come from a model of hidden size 448 (the benchmark's).
  for (const Case c : {Case{64, 4096, 12}, Case{1000, 768, 8}, Case{256, 128, 7}, Case{8, 16384, 13}, Case{40, 1024, 10},
                       Case{300, 448, 6}, Case{100, 1792, 8}}) {
    const std::string what = std::to_string(c.rows) + "x" + std::to_string(c.cols);
    const auto raw = as_bytes(dequantized_rows(c.rows, c.cols, c.rows + c.cols));
    const auto sc = factor(raw);
    ASSERT_TRUE(sc) << what;
    EXPECT_EQ(sc->block_log2, c.block_log2) << what;
    const auto enc = round_trip(raw, what);
    EXPECT_EQ(kind_of(enc), k_scaled_kind) << what;
  }
}

TEST(ScaledIntsTest, PerTensorScaleUsesTheLargestBlocks) {
  const auto raw = as_bytes(dequantized_rows(300, 1000, 11, true));
  const auto sc = factor(raw);
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->block_log2, k_max_scaled_block_log2);
  round_trip(raw, "per tensor");
}

TEST(ScaledIntsTest, ChunkStartingInsideARowStillFactors) {
  // Rows of 768 floats: the second 4 MiB chunk starts a third of the way into a row, and the
  // last rows of the first chunk continue in the second one.
  const auto all = as_bytes(dequantized_rows(2000, 768, 12));
  for (std::size_t offset : {std::size_t{0}, k_chunk_bytes}) {
    const Bytes raw(all.begin() + static_cast<std::ptrdiff_t>(offset),
                    all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), offset + k_chunk_bytes)));
    ASSERT_TRUE(factor(raw)) << offset;
    EXPECT_EQ(kind_of(round_trip(raw, "offset " + std::to_string(offset))), k_scaled_kind);
  }
  // A chunk of a per-tensor dequantized matrix that does not hold the tensor's largest value.
  auto v = dequantized_rows(600, 1024, 13, true);
  float top = 0;
  for (float f : v) top = std::max(top, std::fabs(f));
  for (auto& f : v)
    if (std::fabs(f) == top) f = 0;
  ASSERT_TRUE(factor(as_bytes(v)));
}

TEST(ScaledIntsTest, RowsOfOddLengthRoundTripWhateverTheKind) {
  for (const auto& [rows, cols] : {std::pair<std::size_t, std::size_t>{3, 5000}, {7, 999}, {100, 100}}) {
    const auto raw = as_bytes(dequantized_rows(rows, cols, rows * cols));
    factor(raw);  // checks the factors when it applies
    round_trip(raw, std::to_string(rows) + "x" + std::to_string(cols));
  }
}

TEST(ScaledIntsTest, ZerosFactorAndNegativeZeroDoesNot) {
  auto v = dequantized_rows(32, 1024, 14);
  std::fill(v.begin() + 4096, v.begin() + 3 * 4096, 0.0f);  // rows of zeros (scale 0)
  std::fill(v.begin() + 20 * 1024 + 100, v.begin() + 20 * 1024 + 400, 0.0f);  // zeros inside a row
  auto raw = as_bytes(v);
  ASSERT_TRUE(factor(raw));
  EXPECT_EQ(kind_of(round_trip(raw, "zeros")), k_scaled_kind);
  ASSERT_TRUE(factor(Bytes(1 << 16)));

  for (std::size_t at : {std::size_t{0}, std::size_t{5000}, std::size_t{5 * 1024 + 200}, std::size_t{20 * 1024 + 200}, v.size() - 1}) {
    auto z = v;
    z[at] = -0.0f;
    raw = as_bytes(z);
    EXPECT_FALSE(factor(raw)) << at;
    EXPECT_NE(kind_of(round_trip(raw, "-0.0 at " + std::to_string(at))), k_scaled_kind);
  }
  std::vector<float> negative_zeros(4096, -0.0f);
  EXPECT_FALSE(factor(as_bytes(negative_zeros)));
  round_trip(as_bytes(negative_zeros), "-0.0 everywhere");
}

TEST(ScaledIntsTest, OneUlpOffIsRejected) {
  const auto v = dequantized_rows(64, 2048, 15);
  for (std::size_t at : {std::size_t{0}, std::size_t{77}, std::size_t{2048 * 30 + 5}, v.size() - 1})
    for (std::int32_t delta : {-1, 1}) {
      auto bad = v;
      if (bad[at] == 0) bad[at] = 1e-30f;
      else bad[at] = with_bits(bad[at], delta);
      const auto raw = as_bytes(bad);
      EXPECT_FALSE(factor(raw)) << at << " " << delta;
      EXPECT_NE(kind_of(round_trip(raw, "one ulp at " + std::to_string(at))), k_scaled_kind);
    }
}

TEST(ScaledIntsTest, SpecialValuesAndShortChunksRoundTrip) {
  auto v = dequantized_rows(16, 256, 16);
  for (float special : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                        std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()}) {
    auto s = v;
    s[300] = special;
    EXPECT_FALSE(factor(as_bytes(s)));
    round_trip(as_bytes(s), "special");
  }
  // Denormal and huge scales factor like any other.
  for (float scale : {1e-43f, 3e-39f, 1e30f}) {
    std::vector<float> d(1024);
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<float>(static_cast<int>(i % 255) - 127) * scale;
    ASSERT_TRUE(factor(as_bytes(d))) << scale;
    round_trip(as_bytes(d), "scale " + std::to_string(scale));
  }
  // Shorter than a block, a partial last block, and a tail that is not a whole element.
  for (std::size_t n : {1u, 127u, 128u, 129u, 1000u}) {
    auto raw = as_bytes(dequantized_rows(1, n, n));
    factor(raw);
    round_trip(raw, "n=" + std::to_string(n));
    raw.push_back(std::byte{0x42});
    raw.push_back(std::byte{0x43});
    round_trip(raw, "n=" + std::to_string(n) + " + tail");
  }
}

TEST(ScaledIntsTest, TrainedWeightsNeverFactor) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto raw = as_bytes(gaussian_f32(1 << 16, seed));
    EXPECT_FALSE(factor(raw));
    EXPECT_NE(kind_of(encode_chunk(raw, {}, 4)), k_scaled_kind);
    const auto bf = as_bytes(bf16_like(gaussian_f32(1 << 16, seed)));
    EXPECT_FALSE(factor(bf));
  }
  // Zeros first, then trained weights.
  auto v = gaussian_f32(1 << 16, 9);
  std::fill(v.begin(), v.begin() + 5000, 0.0f);
  EXPECT_FALSE(factor(as_bytes(v)));
  round_trip(as_bytes(v), "zeros then gaussian");
}

TEST(ScaledIntsTest, PerRowDequantizedCostsAtMostOnePointOhFiveBytesPerElement) {
  const auto raw = as_bytes(dequantized_rows(1024, 1024, 17));
  const std::size_t n = raw.size() / 4;
  const auto enc = round_trip(raw, "1024x1024");
  EXPECT_EQ(kind_of(enc), k_scaled_kind);
  EXPECT_LE(enc.bytes.size(), n * 105 / 100);
  std::vector<char> z(ZSTD_compressBound(raw.size()));
  const std::size_t zsize = ZSTD_compress(z.data(), z.size(), raw.data(), raw.size(), 19);
  ASSERT_FALSE(ZSTD_isError(zsize));
  EXPECT_LT(enc.bytes.size(), zsize);
  std::printf("per-row dequantized 1024x1024 f32: coral %.3f bytes/element (%.2fx), zstd -19 %.3f (%.2fx)\n",
              static_cast<double>(enc.bytes.size()) / static_cast<double>(n),
              static_cast<double>(raw.size()) / static_cast<double>(enc.bytes.size()),
              static_cast<double>(zsize) / static_cast<double>(n), static_cast<double>(raw.size()) / static_cast<double>(zsize));
}

TEST(ScaledIntsTest, CorruptChunksThrowOrDecodeWithoutCrashing) {
  const auto raw = as_bytes(dequantized_rows(40, 1024, 18), 3);  // with a 3-byte tail
  const auto enc = encode_chunk(raw, {}, 4);
  ASSERT_EQ(kind_of(enc), k_scaled_kind);
  Bytes out(raw.size());
  for (std::size_t cut = 0; cut < enc.bytes.size(); cut += 1 + cut / 32)
    EXPECT_THROW(decode_chunk(std::span(enc.bytes).first(cut), {}, 4, out), CorruptError) << cut;
  std::mt19937_64 rng(19);
  for (int t = 0; t < 500; ++t) {
    auto bad = enc.bytes;
    for (int flips = 1 + t % 3; flips > 0; --flips) bad[1 + rng() % (bad.size() - 1)] ^= static_cast<std::byte>(1 + rng() % 255);
    try {
      decode_chunk(bad, {}, 4, out);
    } catch (const CorruptError&) {
    }
  }
  for (unsigned log2 : {0u, 6u, 14u, 255u}) {
    auto bad = enc.bytes;
    bad[1] = static_cast<std::byte>(log2);
    EXPECT_THROW(decode_chunk(bad, {}, 4, out), CorruptError) << log2;
  }
  for (unsigned w : {1u, 2u, 8u}) EXPECT_THROW(decode_chunk(enc.bytes, {}, w, out), CorruptError) << w;
  auto longer = enc.bytes;
  longer.push_back(std::byte{0});
  EXPECT_THROW(decode_chunk(longer, {}, 4, out), CorruptError);
  Bytes shorter_out(raw.size() - 4);
  EXPECT_THROW(decode_chunk(enc.bytes, {}, 4, shorter_out), CorruptError);
}

}  // namespace
