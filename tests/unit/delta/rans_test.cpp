#include "delta/rans.hpp"

#include "delta/byte_io.hpp"

#include "coral/core/error.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <utility>
#include <random>
#include <string>
#include <vector>

using namespace coral;
using namespace coral::delta;

namespace {

std::vector<std::byte> round_trip(const std::vector<std::byte>& symbols, std::size_t* encoded_size = nullptr) {
  const Histogram h = byte_histogram(symbols);
  std::vector<std::byte> payload;
  rans_encode(symbols, h, payload);
  if (encoded_size != nullptr) *encoded_size = payload.size();
  std::vector<std::byte> out(symbols.size());
  rans_decode(payload, out);
  return out;
}

std::vector<std::byte> skewed(std::size_t n, double p_zero, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution zero(p_zero);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = zero(rng) ? std::byte{0} : static_cast<std::byte>(1 + rng() % 255);
  return v;
}

TEST(RansTest, RoundTripsAnyDistributionAndLength) {
  std::mt19937_64 rng(7);
  for (std::size_t n : {2u, 3u, 4u, 5u, 7u, 8u, 9u, 63u, 1000u, 65537u}) {
    std::vector<std::byte> uniform(n), two(n), geometric(n);
    std::geometric_distribution<int> g(0.3);
    for (std::size_t i = 0; i < n; ++i) {
      uniform[i] = static_cast<std::byte>(rng());
      two[i] = static_cast<std::byte>(i % 2 == 0 ? 0x3c : 0xbc);
      geometric[i] = static_cast<std::byte>(std::min(g(rng), 255));
    }
    if (distinct_symbols(byte_histogram(geometric)) < 2) geometric[0] = std::byte{77};
    if (distinct_symbols(byte_histogram(uniform)) < 2) uniform[0] = ~uniform[1];
    EXPECT_EQ(round_trip(uniform), uniform) << n;
    EXPECT_EQ(round_trip(two), two) << n;
    EXPECT_EQ(round_trip(geometric), geometric) << n;
  }
}

TEST(RansTest, RoundTripsEveryShortLength) {
  // Lengths around the 8 interleaved states and the fast path's group boundaries.
  std::mt19937_64 rng(13);
  for (std::size_t n = 0; n <= 100; ++n) {
    std::vector<std::byte> uniform(n), skew(n), one(n, std::byte{0xa5});
    for (std::size_t i = 0; i < n; ++i) {
      uniform[i] = static_cast<std::byte>(rng());
      skew[i] = rng() % 16 == 0 ? static_cast<std::byte>(rng()) : std::byte{0};
    }
    EXPECT_EQ(round_trip(uniform), uniform) << n;
    EXPECT_EQ(round_trip(skew), skew) << n;
    EXPECT_EQ(round_trip(one), one) << n;
  }
}

TEST(RansTest, OneSymbolCostsOnlyTableAndStates) {
  const std::vector<std::byte> v(100000, std::byte{7});
  std::size_t size = 0;
  EXPECT_EQ(round_trip(v, &size), v);
  EXPECT_EQ(size, 2 + 4 * k_rans_ways + (k_rans_ways - 1));
  std::size_t empty_size = 0;
  EXPECT_TRUE(round_trip({}, &empty_size).empty());
  EXPECT_EQ(empty_size, 2 + 4 * k_rans_ways + (k_rans_ways - 1));
}

std::string hex_of(std::span<const std::byte> bytes) {
  std::string hex;
  for (auto b : bytes) hex += "0123456789abcdef"[std::to_integer<unsigned>(b) >> 4], hex += "0123456789abcdef"[std::to_integer<unsigned>(b) & 15];
  return hex;
}

std::vector<std::byte> pinned_input(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(i % 3 == 0 ? 1 : i % 5 == 0 ? 200 : 0);
  return v;
}

TEST(RansTest, StreamBytesArePinned) {
  // The format is documented byte by byte (docs/format.md): any change to these bytes is a format change.
  const std::pair<std::size_t, const char*> pinned[] = {
      {20, "020001c8cd11980b648e040016a204000b011a00648e0400aa940200acfe0800a28d0200aa940200"
           "00000000000000"},
      {88, "020001c8dd10f30a45cb0000a2c400006853dd7e52196c33f0132334188e0000c0cdb733fcd12834"
           "01010000000100fc0302dbaa90"},
  };
  for (const auto& [n, hex] : pinned) {
    const auto v = pinned_input(n);
    std::vector<std::byte> payload;
    rans_encode(v, byte_histogram(v), payload);
    EXPECT_EQ(hex_of(payload), hex) << n;
    std::vector<std::byte> out(n);
    rans_decode(payload, out);
    EXPECT_EQ(out, v) << n;
  }
}

TEST(RansTest, AllByteValuesWithOneDominant) {
  std::vector<std::byte> v(1 << 20, std::byte{0});
  for (unsigned s = 0; s < 256; ++s) v[s * 17] = static_cast<std::byte>(s);
  EXPECT_EQ(round_trip(v), v);
}

TEST(RansTest, SkewedPlaneCompressesFarBelowOneBitPerSymbol) {
  const auto v = skewed(1 << 20, 0.999, 3);
  std::size_t size = 0;
  EXPECT_EQ(round_trip(v, &size), v);
  EXPECT_GT(static_cast<double>(v.size()) / static_cast<double>(size), 8.0) << size;
  const double estimate = static_cast<double>(rans_estimate(byte_histogram(v)));
  EXPECT_NEAR(static_cast<double>(size), estimate, estimate * 0.01 + 16);
}

TEST(RansTest, FewSymbolsCostFewTableBytes) {
  std::vector<std::byte> v(64);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::byte(i % 3 == 0 ? 5 : 9);
  std::size_t size = 0;
  EXPECT_EQ(round_trip(v, &size), v);
  EXPECT_LT(size, 16 + 5 + 7 + 20u);
}

TEST(RansTest, NormalizedFrequenciesSumToScale) {
  std::mt19937_64 rng(11);
  for (int t = 0; t < 200; ++t) {
    Histogram h{};
    const unsigned k = 2 + static_cast<unsigned>(rng() % 255);
    for (unsigned s = 0; s < k; ++s) h[(s * 7 + t) % 256] = 1 + static_cast<std::uint32_t>(rng() % (t % 2 ? 3 : 1000000));
    const Frequencies f = normalize_frequencies(h);
    std::uint32_t sum = 0;
    for (unsigned s = 0; s < 256; ++s) {
      EXPECT_EQ(f[s] == 0, h[s] == 0);
      sum += f[s];
    }
    EXPECT_EQ(sum, 4096u);
  }
}

TEST(RansTest, CorruptStreamsThrowOrDecodeWithoutCrashing) {
  const auto v = skewed(5000, 0.7, 5);
  std::vector<std::byte> payload;
  rans_encode(v, byte_histogram(v), payload);
  std::vector<std::byte> out(v.size());
  for (std::size_t cut = 0; cut < payload.size(); cut += 1 + cut / 8)
    EXPECT_THROW(rans_decode(std::span(payload).first(cut), out), CorruptError) << cut;
  std::mt19937_64 rng(9);
  int thrown = 0;
  for (int t = 0; t < 2000; ++t) {
    auto bad = payload;
    bad[rng() % bad.size()] ^= static_cast<std::byte>(1 + rng() % 255);
    try {
      rans_decode(bad, out);
    } catch (const CorruptError&) {
      ++thrown;
    }
  }
  EXPECT_GT(thrown, 1500);  // the final-state check catches nearly every flip
}

TEST(RansTest, CorruptShortAndOneSymbolStreamsThrow) {
  for (std::size_t n : {0u, 1u, 5u, 9u, 17u, 1000u}) {
    std::vector<std::byte> v(n, std::byte{3});
    if (n > 2) v[n / 2] = std::byte{4};
    std::vector<std::byte> payload;
    rans_encode(v, byte_histogram(v), payload);
    std::vector<std::byte> out(n);
    for (std::size_t at = 0; at < payload.size(); ++at) {
      auto bad = payload;
      bad[at] ^= std::byte{0x40};
      try {
        rans_decode(bad, out);  // may decode to something else, must not crash
      } catch (const CorruptError&) {
      }
    }
    auto longer = payload;
    longer.push_back(std::byte{0}), longer.push_back(std::byte{0});
    EXPECT_THROW(rans_decode(longer, out), CorruptError) << n;
    // (A one-symbol stream never changes its states, so only the plane record's n checks its length.)
    std::vector<std::byte> more(n + 1);
    if (n > 2) {
      EXPECT_THROW(rans_decode(payload, more), CorruptError) << n;
    }
  }
}

// Offsets of the 7 stream counts in a payload with a listed (m <= 31) table.
std::size_t counts_offset(const std::vector<std::byte>& payload) {
  const unsigned m = std::to_integer<unsigned>(payload[0]) + 1;
  std::size_t at = 1 + m;
  for (unsigned k = 0; k + 1 < m; ++k)
    while ((std::to_integer<unsigned>(payload[at++]) & 0x80) != 0) {
    }
  return at + 4 * k_rans_ways;
}

TEST(RansTest, RoundTripsLengthsAroundMultiplesOfEight) {
  std::mt19937_64 rng(17);
  for (std::size_t base : {64u, 1024u, 4096u, 65536u})
    for (std::size_t n = base - 9; n <= base + 9; ++n) {
      std::vector<std::byte> uniform(n), skew(n);
      for (std::size_t i = 0; i < n; ++i) {
        uniform[i] = static_cast<std::byte>(rng());
        skew[i] = rng() % 8 == 0 ? static_cast<std::byte>(rng() % 4) : std::byte{0};
      }
      EXPECT_EQ(round_trip(uniform), uniform) << n;
      EXPECT_EQ(round_trip(skew), skew) << n;
    }
}

TEST(RansTest, EveryStreamGetsWordsAndTheCountsAddUp) {
  std::mt19937_64 rng(19);
  std::vector<std::byte> v(10000);
  for (auto& b : v) b = static_cast<std::byte>(rng() % 20);
  std::vector<std::byte> payload;
  rans_encode(v, byte_histogram(v), payload);
  ByteReader in(std::span<const std::byte>(payload).subspan(counts_offset(payload)));
  for (unsigned j = 0; j + 1 < k_rans_ways; ++j)
    EXPECT_GT(in.varint(), 250u) << j;  // 1250 symbols of ~4.3 bits: about 340 words a stream
  EXPECT_GT(in.remaining() / 2, 250u);
  EXPECT_EQ(in.remaining() % 2, 0u);
}

TEST(RansTest, CorruptStreamCountsThrow) {
  for (std::size_t n : {100u, 1001u, 5000u}) {
    const auto v = skewed(n, 0.6, n);
    std::vector<std::byte> payload;
    rans_encode(v, byte_histogram(v), payload);
    const std::size_t at = counts_offset(payload);
    std::vector<std::byte> out(n);
    rans_decode(payload, out);
    ASSERT_EQ(out, v);
    ByteReader in(std::span<const std::byte>(payload).subspan(at));
    std::uint64_t counts[7];
    for (auto& c : counts) c = in.varint();
    const std::size_t streams_at = payload.size() - in.remaining();
    const auto rebuilt = [&](const std::uint64_t* c) {
      std::vector<std::byte> p(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(at));
      for (unsigned j = 0; j < 7; ++j) put_varint(p, c[j]);
      p.insert(p.end(), payload.begin() + static_cast<std::ptrdiff_t>(streams_at), payload.end());
      return p;
    };
    const std::uint64_t words = (payload.size() - streams_at) / 2;
    for (unsigned j = 0; j < 7; ++j) {
      for (std::uint64_t bad : {counts[j] + 1, counts[j] + 2, counts[j] == 0 ? 5 : counts[j] - 1, words, words + 1,
                                std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
        if (bad == counts[j]) continue;
        std::uint64_t c[7];
        std::copy(counts, counts + 7, c);
        c[j] = bad;  // a stream boundary moves: words left unread, missing, or past the payload
        EXPECT_THROW(rans_decode(rebuilt(c), out), CorruptError) << n << " " << j << " " << bad;
      }
      // Moving one word between neighbouring streams keeps the total but not the boundaries.
      if (j + 1 < 7 && counts[j] > 0) {
        std::uint64_t c[7];
        std::copy(counts, counts + 7, c);
        --c[j], ++c[j + 1];
        EXPECT_THROW(rans_decode(rebuilt(c), out), CorruptError) << n << " " << j;
      }
    }
    // A truncated count list, and a payload ending inside the streams.
    EXPECT_THROW(rans_decode(std::span(payload).first(at + 3), out), CorruptError);
    EXPECT_THROW(rans_decode(std::span(payload).first(payload.size() - 2), out), CorruptError);
  }
}

TEST(RansTest, Log2FixedPointIsAccurate) {
  EXPECT_EQ(log2_q16(1), 0u);
  EXPECT_EQ(log2_q16(4096), 12u << 16);
  for (std::uint32_t x : {3u, 10u, 4095u, 123456u, 0xffffffffu})
    EXPECT_NEAR(log2_q16(x) / 65536.0, std::log2(static_cast<double>(x)), 1e-4) << x;
}

}  // namespace
