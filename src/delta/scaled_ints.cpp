#include "scaled_ints.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

// Encoder and decoder must compute float(q) * s as one correctly rounded float32 multiply.
// FLT_EVAL_METHOD 0 rules out excess precision (x87); a lone multiply has nothing to contract into
// an FMA.
static_assert(FLT_EVAL_METHOD == 0, "scaled integers need plain float32 arithmetic");
static_assert(std::numeric_limits<float>::is_iec559);

namespace coral::delta {
namespace {

constexpr std::size_t k_block = std::size_t{1} << k_min_scaled_block_log2;
// Scale candidates for a block whose largest |v| is m: m / d and this many float neighbours either side.
constexpr int k_neighbours = 3;
// Unresolved blocks waiting for a scale from a block on their right (the block of their row that
// holds the row's largest |q|) before they are searched on their own.
constexpr std::size_t k_max_pending = 4;

std::uint32_t load_u32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

void store_u32(std::byte* p, std::uint32_t v) noexcept {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

// The decoded element: a plain float32 multiply.
inline float scaled(int q, float s) noexcept { return static_cast<float>(q) * s; }

enum class BlockState : std::uint8_t { open, scaled, zero };

class Factorer {
public:
  Factorer(const std::byte* data, std::size_t n, std::int8_t* q)
      : m_data(data), m_n(n), m_q(q), m_scales((n + k_block - 1) / k_block), m_state(m_scales.size()) {}

  std::optional<ScaledInts> run();

private:
  std::size_t begin(std::size_t b) const noexcept { return b * k_block; }
  std::size_t end(std::size_t b) const noexcept { return std::min(m_n, (b + 1) * k_block); }

  // True when every element of block b is scaled(q, s) for some q in [-128, 127]; writes those q
  // to q_out (the block's own q by default).
  bool fits(std::size_t b, float s, std::int8_t* q_out = nullptr) noexcept {
    if (!(s > 0) || !std::isfinite(s)) return false;
    if (q_out == nullptr) q_out = m_q + begin(b);
    const std::byte* v = m_data + 4 * begin(b);
    const std::size_t len = end(b) - begin(b);
    const float inv = 1.0f / s;
    if (!std::isfinite(inv)) return fits_slowly(v, len, s, q_out);
    // A few elements with early exits first, so that wrong scales cost little; then the rest
    // without branches (vectorised).
    const std::size_t head = std::min<std::size_t>(len, 4);
    if (fits_run(v, head, s, inv, q_out) != 0) return false;
    if (len == k_block) return fits_run(v + 4 * head, k_block - head, s, inv, q_out + head) == 0;
    return fits_run(v + 4 * head, len - head, s, inv, q_out + head) == 0;
  }

  // Nonzero when an element is not scaled(q, s) for q = v * inv rounded to an integer and clamped
  // to [-128, 127]. v * inv is within 2^-15 of q when v = scaled(q, s), far from a rounding
  // boundary; only the final bit comparison decides, so NaN and out-of-range values simply fail it.
  // Rounding by adding 1.5 * 2^23 keeps the loop free of branches and of float-to-int conversions
  // of out-of-range values.
  static std::uint32_t fits_run(const std::byte* v, std::size_t len, float s, float inv, std::int8_t* q_out) noexcept {
    constexpr float k_round = 12582912.0f;  // 1.5 * 2^23
    constexpr std::uint32_t k_round_bits = 0x4b400000u;
    std::uint32_t bad = 0;
    for (std::size_t i = 0; i < len; ++i) {
      const std::uint32_t bits = load_u32(v + 4 * i);
      const float y = std::bit_cast<float>(bits) * inv + k_round;
      std::int32_t q = static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(y) - k_round_bits);
      q = q < -128 ? -128 : q;
      q = q > 127 ? 127 : q;
      bad |= std::bit_cast<std::uint32_t>(scaled(q, s)) ^ bits;
      q_out[i] = static_cast<std::int8_t>(q);
    }
    return bad;
  }

  // fits for scales below 2^-128, whose float reciprocal overflows.
  static bool fits_slowly(const std::byte* v, std::size_t len, float s, std::int8_t* q_out) noexcept {
    const double inv = 1.0 / static_cast<double>(s);
    for (std::size_t i = 0; i < len; ++i) {
      const std::uint32_t bits = load_u32(v + 4 * i);
      const double x = static_cast<double>(std::bit_cast<float>(bits)) * inv;
      if (!(x > -128.5 && x < 127.5)) return false;  // NaN fails too
      const int q = static_cast<int>(x + 128.5) - 128;
      if (std::bit_cast<std::uint32_t>(scaled(q, s)) != bits) return false;
      q_out[i] = static_cast<std::int8_t>(q);
    }
    return true;
  }

  // The first of s0 and its float neighbours (nearest first, upwards first) that fits block b, or 0.
  float fits_near(std::size_t b, float s0) noexcept {
    float up = s0, down = s0;
    if (fits(b, s0)) return s0;
    for (int k = 1; k <= k_neighbours; ++k) {
      up = std::nextafter(up, std::numeric_limits<float>::infinity());
      down = std::nextafter(down, 0.0f);
      if (fits(b, up)) return up;
      if (fits(b, down)) return down;
    }
    return 0;
  }

  // The usual case: the block holds its row's largest |v|, which has |q| = 127 (or 128).
  float fits_largest(std::size_t b, float m) noexcept {
    const float s = fits_near(b, m / 127.0f);
    return s > 0 ? s : fits_near(b, m / 128.0f);
  }

  // Any largest |q| = d <= 128. As the smallest nonzero |v| is at least about s, d >= m / smallest.
  float search(std::size_t b) noexcept {
    const float m = largest(b);
    if (const float s = fits_largest(b, m); s > 0) return s;
    float smallest = m;
    for (std::size_t i = begin(b), e = end(b); i < e; ++i) {
      const float a = std::fabs(std::bit_cast<float>(load_u32(m_data + 4 * i)));
      if (a != 0 && a < smallest) smallest = a;
    }
    const double lower = std::floor(static_cast<double>(m) / static_cast<double>(smallest)) - 1;
    for (int d = std::max(1, static_cast<int>(std::min(lower, 127.0))); d <= 126; ++d)
      if (const float s = fits_near(b, m / static_cast<float>(d)); s > 0) return s;
    return 0;
  }

  float largest(std::size_t b) const noexcept {
    std::uint32_t top = 0;
    for (std::size_t i = begin(b), e = end(b); i < e; ++i) top = std::max(top, load_u32(m_data + 4 * i) & 0x7fffffffu);
    return std::bit_cast<float>(top);
  }

  void set(std::size_t b, float s) noexcept {
    m_scales[b] = std::bit_cast<std::uint32_t>(s);
    m_state[b] = BlockState::scaled;
  }

  // Gives scales to the pending blocks: the one of the block on their right (when right > 0) or,
  // failing that, the one on their left or one of their own. False when some block does not factor.
  bool drain(float right) noexcept {
    float left = m_last;
    for (std::size_t b : m_pending) {
      float s = 0;
      if (right > 0 && fits(b, right)) s = right;
      else if (left > 0 && fits(b, left)) s = left;
      else if ((s = search(b)) == 0) return false;
      set(b, s);
      left = s;
    }
    m_pending.clear();
    m_last = right > 0 ? right : left;
    return true;
  }

  // Neighbouring blocks of one row may have found different scales that both fit one of them (s and
  // s / 2 when a block's largest |q| is 64, or a float neighbour of s): each block takes the larger
  // scale of its neighbour when that fits, so that the blocks merge.
  void unify() noexcept {
    std::int8_t trial[k_block];
    auto adopt = [&](std::size_t b, std::size_t from) {
      const float s = std::bit_cast<float>(m_scales[b]), other = std::bit_cast<float>(m_scales[from]);
      if (other > s && fits(b, other, trial)) {
        std::memcpy(m_q + begin(b), trial, end(b) - begin(b));
        m_scales[b] = m_scales[from];
      }
    };
    const std::size_t nb = m_scales.size();
    std::size_t prev = nb;  // the last scaled block seen
    for (std::size_t b = 0; b < nb; ++b) {
      if (m_state[b] != BlockState::scaled) continue;
      if (prev != nb) adopt(b, prev);
      prev = b;
    }
    prev = nb;
    for (std::size_t b = nb; b-- > 0;) {
      if (m_state[b] != BlockState::scaled) continue;
      if (prev != nb) adopt(b, prev);
      prev = b;
    }
  }

  const std::byte* m_data;
  std::size_t m_n;
  std::int8_t* m_q;
  std::vector<std::uint32_t> m_scales;  // per base block (2^k_min_scaled_block_log2 elements)
  std::vector<BlockState> m_state;
  std::vector<std::size_t> m_pending;
  float m_last = 0;  // scale of the last scaled block, 0 before the first
};

std::optional<ScaledInts> Factorer::run() {
  const std::size_t nb = m_scales.size();
  for (std::size_t b = 0; b < nb; ++b) {
    if (m_last > 0 && fits(b, m_last)) {  // the common case: the row goes on (zero blocks too)
      set(b, m_last);
      if (!drain(m_last)) return std::nullopt;
      continue;
    }
    const float m = largest(b);
    if (!std::isfinite(m)) return std::nullopt;
    if (m == 0) {
      // +0.0 everywhere is q = 0 with any scale; a -0.0 never factors (it needs a negative scale).
      for (std::size_t i = begin(b), e = end(b); i < e; ++i)
        if (load_u32(m_data + 4 * i) != 0) return std::nullopt;
      std::memset(m_q + begin(b), 0, end(b) - begin(b));
      m_state[b] = BlockState::zero;
      continue;
    }
    if (const float s = fits_largest(b, m); s > 0) {
      set(b, s);
      if (!drain(s)) return std::nullopt;
      continue;
    }
    m_pending.push_back(b);
    if (m_pending.size() == k_max_pending && !drain(0)) return std::nullopt;
  }
  if (!drain(0)) return std::nullopt;
  unify();

  // Merge pairs of blocks while every pair shares its scale (a zero block goes with any scale).
  ScaledInts result;
  std::vector<std::uint32_t> scales(nb);
  std::vector<bool> zero(nb);
  for (std::size_t b = 0; b < nb; ++b) {
    zero[b] = m_state[b] == BlockState::zero;
    scales[b] = zero[b] ? 0 : m_scales[b];
  }
  while (result.block_log2 < k_max_scaled_block_log2) {
    const std::size_t count = (scales.size() + 1) / 2;
    std::vector<std::uint32_t> merged(count);
    std::vector<bool> merged_zero(count);
    bool ok = true;
    for (std::size_t g = 0; g < count && ok; ++g) {
      const std::size_t a = 2 * g, b = 2 * g + 1;
      if (b == scales.size() || zero[b]) merged[g] = scales[a], merged_zero[g] = zero[a];
      else if (zero[a] || scales[a] == scales[b]) merged[g] = scales[b], merged_zero[g] = false;
      else ok = false;
    }
    if (!ok) break;
    scales.swap(merged);
    zero.swap(merged_zero);
    ++result.block_log2;
  }
  result.scales = std::move(scales);
  result.q_counts = sampled_histogram({reinterpret_cast<const std::byte*>(m_q), m_n}, 16, 1024);
  return result;
}

}  // namespace

std::optional<ScaledInts> find_scaled_ints(const std::byte* data, std::size_t n, std::byte* q) {
  return Factorer(data, n, reinterpret_cast<std::int8_t*>(q)).run();
}

void expand_scaled_ints(const std::byte* q, std::size_t n, unsigned block_log2, std::span<const std::uint32_t> scales,
                        std::byte* out) noexcept {
  const std::size_t block = std::size_t{1} << block_log2;
  const auto* qs = reinterpret_cast<const std::int8_t*>(q);
  for (std::size_t b = 0; b < scales.size(); ++b) {
    const float s = std::bit_cast<float>(scales[b]);
    const std::size_t e = std::min(n, (b + 1) * block);
    for (std::size_t i = b * block; i < e; ++i)
      store_u32(out + 4 * i, std::bit_cast<std::uint32_t>(scaled(qs[i], s)));
  }
}

}  // namespace coral::delta
