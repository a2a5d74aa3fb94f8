#pragma once
// Seeded generators of adversarial tensor bytes for the chunk codec tests.

#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace coral::delta::testing {

using Bytes = std::vector<std::byte>;

inline Bytes random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

template <class T>
Bytes as_bytes(const std::vector<T>& values, std::size_t extra_tail = 0) {
  Bytes v(values.size() * sizeof(T) + extra_tail, std::byte{0x5a});
  if (!values.empty()) std::memcpy(v.data(), values.data(), values.size() * sizeof(T));
  return v;
}

inline std::vector<float> gaussian_f32(std::size_t n, std::uint64_t seed, float sigma = 0.02f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0, sigma);
  std::vector<float> v(n);
  for (auto& f : v) f = d(rng);
  return v;
}

// bits(a) of a * (1 + rel * N(0,1)): a fine-tuned or next checkpoint of a.
inline std::vector<float> perturbed(const std::vector<float>& a, double rel, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0, 1);
  std::vector<float> v(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) v[i] = static_cast<float>(a[i] * (1 + rel * d(rng)));
  return v;
}

inline std::vector<float> bf16_like(std::vector<float> v) {
  for (auto& f : v) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    u &= 0xffff0000u;
    std::memcpy(&f, &u, 4);
  }
  return v;
}

// Special floats: NaNs with payloads, infinities, denormals, signed zeros, mixed with normals.
inline std::vector<float> special_f32(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(n);
  for (auto& f : v) {
    std::uint32_t u = 0;
    switch (rng() % 7) {
      case 0: u = 0x7fc00000u | static_cast<std::uint32_t>(rng() & 0x3fffff); break;  // quiet NaN + payload
      case 1: u = 0x7f800001u | static_cast<std::uint32_t>(rng() & 0x3fffff); break;  // signalling NaN
      case 2: u = rng() % 2 ? 0x7f800000u : 0xff800000u; break;                        // +-Inf
      case 3: u = static_cast<std::uint32_t>(rng() & 0x807fffffu); break;              // denormals
      case 4: u = rng() % 2 ? 0u : 0x80000000u; break;                                 // +-0
      default: {
        const float f0 = static_cast<float>(static_cast<double>(rng() % 100000) / 1e4 - 5);
        std::memcpy(&u, &f0, 4);
      }
    }
    std::memcpy(&f, &u, 4);
  }
  return v;
}

// Dequantised int8 weights: scale * q with q ~ round(N(0, 30)) clamped to [-128, 127].
inline std::vector<float> dequantized_f32(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0, 30);
  std::vector<float> v(n);
  for (auto& f : v) f = 0.0123f * std::max(-128.0f, std::min(127.0f, std::round(d(rng))));
  return v;
}

// A [rows, cols] matrix of N(0, sigma) weights quantised to int8 and converted back, as
// torch.round(w / scale).clamp(-127, 127).to(int8).to(float32) * scale does in float32: one scale
// max|w| / 127 per row, or one for the whole tensor when per_tensor.
inline std::vector<float> dequantized_rows(std::size_t rows, std::size_t cols, std::uint64_t seed,
                                           bool per_tensor = false, float sigma = 0.02f) {
  auto w = gaussian_f32(rows * cols, seed, sigma);
  std::vector<float> scales(rows);
  float all = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    float m = 0;
    for (std::size_t c = 0; c < cols; ++c) m = std::max(m, std::fabs(w[r * cols + c]));
    scales[r] = m / 127.0f;
    all = std::max(all, m);
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const float s = per_tensor ? all / 127.0f : scales[r];
    for (std::size_t c = 0; c < cols; ++c) {
      float& x = w[r * cols + c];
      // through int8, so that round(-0.3) = -0.0 becomes q = 0 and +0.0
      const auto q = static_cast<std::int8_t>(s == 0 ? 0.0f : std::clamp(std::nearbyint(x / s), -127.0f, 127.0f));
      x = static_cast<float>(q) * s;
    }
  }
  return w;
}

// n elements of width w drawn from k distinct random values.
inline Bytes few_values(std::size_t n, unsigned w, std::size_t k, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> values(k);
  for (auto& x : values) x = rng();
  Bytes v(n * w);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t x = values[i < k ? i : rng() % k];
    std::memcpy(v.data() + i * w, &x, w);
  }
  return v;
}

}  // namespace coral::delta::testing
