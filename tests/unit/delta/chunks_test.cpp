#include "coral/delta/chunks.hpp"

#include "coral/core/error.hpp"
#include "unit/delta/chunk_data.hpp"

#include <gtest/gtest.h>

using namespace coral;
using namespace coral::delta;
using namespace coral::delta::testing;

namespace {

// Encodes, checks the size bound and the base flag, decodes and compares; returns the stored size.
std::size_t round_trip(const Bytes& raw, const Bytes& base, unsigned w, const std::string& what) {
  const EncodedChunk enc = encode_chunk(raw, base, w);
  EXPECT_LE(enc.bytes.size(), raw.size() + k_max_chunk_overhead) << what;
  EXPECT_EQ(enc.uses_base, chunk_uses_base(enc.bytes)) << what;
  if (base.empty()) {
    EXPECT_FALSE(enc.uses_base) << what;
  }
  Bytes out(raw.size(), std::byte{0xee});
  decode_chunk(enc.bytes, enc.uses_base ? std::span<const std::byte>(base) : std::span<const std::byte>(), w, out);
  EXPECT_TRUE(out == raw) << what << " (" << raw.size() << " bytes)";
  const EncodedChunk again = encode_chunk(raw, base, w);
  EXPECT_TRUE(again.bytes == enc.bytes) << what << ": output is not deterministic";
  return enc.bytes.size();
}

// Round trips without a base and against a random, an equal and a slightly perturbed base.
void round_trip_with_bases(const Bytes& raw, unsigned w, const std::string& what) {
  round_trip(raw, {}, w, what + " no base");
  round_trip(raw, random_bytes(raw.size(), raw.size() + 99), w, what + " random base");
  round_trip(raw, raw, w, what + " equal base");
  Bytes near = raw;
  for (std::size_t i = 0; i < near.size(); i += 7) near[i] ^= std::byte{0x01};
  round_trip(raw, near, w, what + " perturbed base");
}

std::vector<std::pair<std::string, Bytes>> adversarial_inputs(std::size_t n, unsigned w, std::uint64_t seed) {
  const std::size_t bytes = n * w;
  std::vector<std::pair<std::string, Bytes>> v;
  v.emplace_back("random", random_bytes(bytes, seed));
  v.emplace_back("zeros", Bytes(bytes));
  v.emplace_back("constant", Bytes(bytes, std::byte{0xa7}));
  v.emplace_back("random+tail", random_bytes(bytes + w / 2 + (w > 1 ? 1 : 0), seed + 1));
  auto floats = as_bytes(gaussian_f32((bytes + 3) / 4, seed));
  floats.resize(bytes);
  v.emplace_back("gaussian", floats);
  auto bf = as_bytes(bf16_like(gaussian_f32((bytes + 3) / 4, seed)));
  bf.resize(bytes);
  v.emplace_back("bf16-like", bf);
  auto special = as_bytes(special_f32((bytes + 3) / 4, seed));
  special.resize(bytes);
  v.emplace_back("special floats", special);
  if (w > 1) {
    v.emplace_back("256 values", few_values(n, w, 256, seed));
    v.emplace_back("257 values", few_values(n, w, 257, seed));
    v.emplace_back("3 values", few_values(n, w, 3, seed));
  }
  return v;
}

TEST(ChunkTest, RoundTripsAdversarialDataForEveryDtype) {
  for (core::DType dtype : core::k_all_dtypes) {
    const unsigned w = plane_width(dtype);
    for (std::size_t n : {0u, 1u, 2u, 3u, 17u, 1000u, 70001u})
      for (const auto& [name, raw] : adversarial_inputs(n, w, n * 7 + w))
        round_trip_with_bases(raw, w, std::string(core::dtype_name(dtype)) + " " + name + " n=" + std::to_string(n));
  }
}

TEST(ChunkTest, RoundTripsEveryShortLength) {
  for (unsigned w : {1u, 2u, 4u, 8u})
    for (std::size_t len = 0; len <= 100; ++len) {
      round_trip_with_bases(random_bytes(len, len), w, "random len=" + std::to_string(len));
      auto f = as_bytes(gaussian_f32(len / 4 + 1, len));
      f.resize(len);
      round_trip_with_bases(f, w, "gaussian len=" + std::to_string(len));
      round_trip_with_bases(Bytes(len), w, "zeros len=" + std::to_string(len));
    }
}

TEST(ChunkTest, RoundTripsAroundChunkSize) {
  for (std::size_t len : {k_chunk_bytes - 3, k_chunk_bytes}) {
    auto raw = as_bytes(gaussian_f32(len / 4 + 1, len));
    raw.resize(len);
    for (unsigned w : {2u, 4u, 8u}) {
      round_trip(raw, {}, w, "gaussian w=" + std::to_string(w));
      auto next = as_bytes(perturbed(gaussian_f32(len / 4 + 1, len), 1e-3, 3));
      next.resize(len);
      round_trip(next, raw, w, "perturbed w=" + std::to_string(w));
    }
  }
}

TEST(ChunkTest, DictionaryOf256FloatsCostsAtMostOneBytePerElement) {
  const std::size_t n = 1 << 20;
  const auto raw = few_values(n, 4, 256, 5);  // uniform indexes: 8 bits each, plus the table
  EXPECT_LE(round_trip(raw, {}, 4, "256 values"), n + 256 * 4 + 16);
  const auto quantized = as_bytes(dequantized_f32(n, 5));
  EXPECT_LE(round_trip(quantized, {}, 4, "dequantized int8"), n);
  const auto raw257 = few_values(n / 4, 4, 257, 5);
  round_trip(raw257, {}, 4, "257 values");
}

TEST(ChunkTest, AllZeroChunkCostsAlmostNothing) {
  const Bytes raw(k_chunk_bytes);
  for (unsigned w : {1u, 2u, 4u, 8u}) EXPECT_LT(round_trip(raw, {}, w, "zeros"), 100u) << w;
}

TEST(ChunkTest, GaussianPlanesBeatRaw) {
  const auto raw = as_bytes(gaussian_f32(1 << 20, 1));
  const std::size_t size = round_trip(raw, {}, 4, "gaussian");
  EXPECT_GT(static_cast<double>(raw.size()) / static_cast<double>(size), 1.12) << size;
}

TEST(ChunkTest, Bf16BornFloatsHalveAndMore) {
  const auto raw = as_bytes(bf16_like(gaussian_f32(1 << 20, 2)));
  const std::size_t size = round_trip(raw, {}, 4, "bf16-like");
  EXPECT_GT(static_cast<double>(raw.size()) / static_cast<double>(size), 2.2) << size;
}

TEST(ChunkTest, XorAgainstPerturbedBaseBeatsNoBase) {
  const auto a = gaussian_f32(1 << 20, 3);
  const auto raw = as_bytes(perturbed(a, 1e-3, 4));
  const auto base = as_bytes(a);
  const std::size_t plain = round_trip(raw, {}, 4, "no base");
  const std::size_t with_base = round_trip(raw, base, 4, "perturbed base");
  EXPECT_TRUE(encode_chunk(raw, base, 4).uses_base);
  EXPECT_LT(static_cast<double>(with_base) * 1.4, static_cast<double>(plain)) << with_base << " vs " << plain;
  EXPECT_LT(round_trip(raw, raw, 4, "equal base"), 100u);
}

TEST(ChunkTest, RepetitiveBytesUseZstd) {
  Bytes raw;
  const std::string text = "the quick brown fox jumps over the lazy dog; ";
  while (raw.size() < 100000)
    for (char c : text) raw.push_back(static_cast<std::byte>(c));
  EXPECT_LT(round_trip(raw, {}, 4, "text"), raw.size() / 50);
  EXPECT_LT(round_trip(raw, {}, 1, "text"), raw.size() / 50);
}

TEST(ChunkTest, CorruptChunksThrowOrDecodeWithoutCrashing) {
  const auto a = gaussian_f32(20000, 6);
  const auto base = as_bytes(a);
  std::vector<Bytes> raws = {as_bytes(perturbed(a, 1e-3, 7)), few_values(20000, 4, 100, 8), as_bytes(a),
                             random_bytes(80000, 9), Bytes(80000)};
  std::mt19937_64 rng(10);
  for (const auto& raw : raws) {
    const auto enc = encode_chunk(raw, base, 4);
    Bytes out(raw.size());
    for (std::size_t cut = 0; cut < enc.bytes.size(); cut += 1 + cut / 16)
      EXPECT_THROW(decode_chunk(std::span(enc.bytes).first(cut), base, 4, out), CorruptError) << cut;
    for (int t = 0; t < 300; ++t) {
      auto bad = enc.bytes;
      for (int flips = 1 + t % 3; flips > 0; --flips) bad[rng() % bad.size()] ^= static_cast<std::byte>(1 + rng() % 255);
      try {
        decode_chunk(bad, base, 4, out);
      } catch (const CorruptError&) {
      }
    }
    auto longer = enc.bytes;
    longer.push_back(std::byte{0});
    EXPECT_THROW(decode_chunk(longer, base, 4, out), CorruptError);
  }
  Bytes out(10);
  EXPECT_THROW(decode_chunk({}, {}, 4, out), CorruptError);
  EXPECT_THROW(chunk_uses_base({}), CorruptError);
  const Bytes unknown = {std::byte{0x7f}};
  EXPECT_THROW(chunk_uses_base(unknown), CorruptError);
}

TEST(ChunkTest, XorChunkWithoutBaseThrows) {
  const auto a = gaussian_f32(10000, 6);
  const auto raw = as_bytes(perturbed(a, 1e-3, 7));
  const auto enc = encode_chunk(raw, as_bytes(a), 4);
  ASSERT_TRUE(enc.uses_base);
  Bytes out(raw.size());
  EXPECT_THROW(decode_chunk(enc.bytes, {}, 4, out), CorruptError);
}

TEST(ChunkTest, PrefixRoundTripsAndRejectsBadPrefixes) {
  for (unsigned w : {1u, 2u, 4u, 8u})
    for (bool uses_base : {false, true})
      for (unsigned height : {0u, 1u, 8u, k_max_chain_height}) {
        const ChunksHeader h{w, 20, uses_base, height};
        const auto p = encode_prefix(h);
        const ChunksHeader back = decode_prefix(p);
        EXPECT_EQ(back.width, w);
        EXPECT_EQ(back.chunk_log2, 20u);
        EXPECT_EQ(back.uses_base, uses_base);
        EXPECT_EQ(back.chain_height, height);
      }
  auto bad = [](std::uint8_t v, std::uint8_t w, std::uint8_t log2, std::uint8_t flags) {
    const std::array<std::byte, 4> p = {std::byte{v}, std::byte{w}, std::byte{log2}, std::byte{flags}};
    EXPECT_THROW(decode_prefix(p), CorruptError) << int(v) << " " << int(w) << " " << int(log2) << " " << int(flags);
  };
  bad(0, 4, 22, 0);
  bad(2, 4, 22, 0);
  bad(1, 3, 22, 0);
  bad(1, 0, 22, 0);
  bad(1, 16, 22, 0);
  bad(1, 4, 9, 0);
  bad(1, 4, 31, 0);
  const auto good = encode_prefix({4, 22, false});
  EXPECT_THROW(decode_prefix(std::span(good).first(3)), CorruptError);
}

TEST(ChunkTest, ChunkCountAndSizes) {
  EXPECT_EQ(chunk_count(0, 22), 0u);
  EXPECT_EQ(chunk_count(1, 22), 1u);
  EXPECT_EQ(chunk_count(k_chunk_bytes, 22), 1u);
  EXPECT_EQ(chunk_count(k_chunk_bytes + 1, 22), 2u);
  EXPECT_EQ(chunk_raw_size(k_chunk_bytes + 5, 22, 0), k_chunk_bytes);
  EXPECT_EQ(chunk_raw_size(k_chunk_bytes + 5, 22, 1), 5u);
  EXPECT_EQ(chunk_raw_size(k_chunk_bytes + 5, 22, 2), 0u);
  EXPECT_EQ(chunk_count(~std::uint64_t{0}, 30), (std::uint64_t{1} << 34));
}

TEST(ChunkTest, PlaneWidthIsDtypeSize) {
  EXPECT_EQ(plane_width(core::DType::f64), 8u);
  EXPECT_EQ(plane_width(core::DType::u64), 8u);
  EXPECT_EQ(plane_width(core::DType::f32), 4u);
  EXPECT_EQ(plane_width(core::DType::i32), 4u);
  EXPECT_EQ(plane_width(core::DType::bf16), 2u);
  EXPECT_EQ(plane_width(core::DType::f16), 2u);
  EXPECT_EQ(plane_width(core::DType::u16), 2u);
  EXPECT_EQ(plane_width(core::DType::f8_e4m3), 1u);
  EXPECT_EQ(plane_width(core::DType::boolean), 1u);
}

}  // namespace
