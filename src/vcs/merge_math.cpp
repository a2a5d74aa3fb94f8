// The tensor arithmetic of `coral merge` (docs/merge.md "Definitions"). Compiled with
// -ffp-contract=off (src/vcs/CMakeLists.txt): no fused multiply-add may change a rounding.
// Every sum is a plain sequential loop in side order (or in fixed blocks for slerp's dot
// products), so the thread count never changes a bit of the result.
#include "merge_math.hpp"

#include "coral/core/error.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

namespace coral::vcs {
namespace {

using core::DType;

constexpr std::uint64_t k_block = k_merge_block;  // elements per parallel block (and slerp's sum block)
// In-memory tensors are read in pieces of this many elements (the passes that need every element
// run a piece per task).
constexpr std::uint64_t k_memory_piece = 16 * k_block;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::uint64_t dare_stream(std::uint64_t seed, std::string_view key, std::uint64_t side) noexcept {
  return splitmix64(splitmix64(seed ^ fnv1a(key)) + side);
}

bool dare_keep(std::uint64_t stream, std::uint64_t index, double density) noexcept {
  const double u = static_cast<double>(splitmix64(stream + index) >> 11) * 0x1p-53;  // [0, 1)
  return u < density;
}

// Exact values of elements [begin, end) of a tensor whose bytes `v` start at element `first`.
void decode(const TensorView& v, std::uint64_t first, std::uint64_t begin_at, std::uint64_t end, double* out) noexcept {
  const std::byte* p = v.bytes.data();  // element `first`
  const std::uint64_t begin = begin_at - first;
  const std::size_t len = static_cast<std::size_t>(end - begin_at);
  if (!v.big_endian) {
    switch (v.dtype) {
      case DType::f64:
        std::memcpy(out, p + begin * 8, len * 8);
        return;
      case DType::f32:
        for (std::size_t i = 0; i < len; ++i) {
          float f;
          std::memcpy(&f, p + (begin + i) * 4, 4);
          out[i] = f;
        }
        return;
      case DType::bf16:
        for (std::size_t i = 0; i < len; ++i) {
          std::uint16_t h;
          std::memcpy(&h, p + (begin + i) * 2, 2);
          out[i] = std::bit_cast<float>(std::uint32_t{h} << 16);
        }
        return;
      default:
        break;
    }
  }
  for (std::size_t i = 0; i < len; ++i) out[i] = core::element_as_double(v.dtype, p, begin + i, v.big_endian);
}

// Rounds r once to float32, then to the stored dtype, and writes it in the given byte order.
void store(DType dtype, bool big_endian, double r, std::byte* out) noexcept {
  std::uint64_t bits = 0;
  std::size_t size = 2;
  switch (dtype) {
    case DType::f64:
      bits = std::bit_cast<std::uint64_t>(r);
      size = 8;
      break;
    case DType::f32:
      bits = std::bit_cast<std::uint32_t>(static_cast<float>(r));
      size = 4;
      break;
    case DType::f16:
      bits = float_to_f16(static_cast<float>(r));
      break;
    default:
      bits = float_to_bf16(static_cast<float>(r));
      break;
  }
  for (std::size_t k = 0; k < size; ++k)
    out[big_endian ? size - 1 - k : k] = static_cast<std::byte>((bits >> (8 * k)) & 0xff);
}

// TIES' magnitude as a sort key: NaN ranks below every magnitude, as numpy sorts it last.
double magnitude(double tau) noexcept {
  return std::isnan(tau) ? -1.0 : std::fabs(tau);
}

// Which elements of one side's task vector TIES keeps: magnitude > threshold, plus the first
// `equal_needed` elements (in index order) whose magnitude equals the threshold.
struct Trim {
  bool all = true;
  double threshold = 0.0;
  std::uint64_t equal_needed = 0;
  std::vector<std::uint64_t> equal_before;  // per block: elements equal to the threshold in earlier blocks

  bool keeps(double m, std::uint64_t& equal_seen) const noexcept {
    return all || m > threshold || (m == threshold && equal_seen++ < equal_needed);
  }
};

// A magnitude as an order-preserving integer key: NaN's -1 is 0, m >= 0 is its bits + 1.
std::uint64_t magnitude_key(double m) noexcept { return m < 0.0 ? 0 : std::bit_cast<std::uint64_t>(m) + 1; }

// Runs fn(piece, begin, end) for the pieces of `piece` elements, on the pool when there is one.
void for_pieces(std::uint64_t n, std::uint64_t piece, core::ThreadPool* pool,
                const std::function<void(std::size_t, std::uint64_t, std::uint64_t)>& fn) {
  const auto pieces = static_cast<std::size_t>((n + piece - 1) / piece);
  const auto run = [&](std::size_t p) { fn(p, p * piece, std::min(n, (p + 1) * piece)); };
  if (pool != nullptr && pieces > 1) {
    pool->parallel_for(pieces, run);
  } else {
    for (std::size_t p = 0; p < pieces; ++p) run(p);
  }
}

// Elements [begin, end) of a source, decoded.
void read_values(const TensorSource& source, std::uint64_t begin, std::uint64_t end, std::vector<std::byte>& buffer,
                 double* out) {
  const std::span<const std::byte> bytes = source.read(begin, end, buffer);
  decode({source.dtype, source.big_endian, bytes}, begin, begin, end, out);
}

// Runs fn(block, magnitude keys of the block) for the blocks of pieces [first, last) of one
// side's task vector x - b, in order.
void magnitude_keys(const TensorSource& x, const TensorSource& b, std::uint64_t n, std::uint64_t piece,
                    std::size_t first, std::size_t last,
                    const std::function<void(std::size_t, std::span<const std::uint64_t>)>& fn) {
  std::vector<std::byte> xbuf, bbuf;
  std::vector<double> xs, base;
  std::vector<std::uint64_t> keys;
  for (std::size_t p = first; p < last; ++p) {
    const std::uint64_t begin = p * piece, end = std::min(n, begin + piece);
    xs.resize(static_cast<std::size_t>(end - begin));
    base.resize(xs.size());
    read_values(x, begin, end, xbuf, xs.data());
    read_values(b, begin, end, bbuf, base.data());
    for (std::uint64_t block = begin; block < end; block += k_block) {
      const std::uint64_t block_end = std::min(end, block + k_block);
      keys.resize(static_cast<std::size_t>(block_end - block));
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::size_t at = static_cast<std::size_t>(block - begin) + i;
        keys[i] = magnitude_key(magnitude(xs[at] - base[at]));
      }
      fn(static_cast<std::size_t>(block / k_block), keys);
    }
  }
}

// The k-th largest magnitude (k >= 1), exactly: a radix select over the keys, 16 bits per pass,
// holding no copy of the tensor.
double kth_largest_magnitude(const TensorSource& x, const TensorSource& b, std::uint64_t n, std::uint64_t piece,
                             std::uint64_t k, core::ThreadPool* pool) {
  std::uint64_t prefix = 0, above = 0;  // keys above the selected range
  const auto pieces = static_cast<std::size_t>((n + piece - 1) / piece);
  for (int shift = 48; shift >= 0; shift -= 16) {
    // One histogram per thread's share of the pieces (integer counts: any split gives the same sum).
    const std::size_t parts = pool != nullptr ? std::min(pool->size(), pieces) : 1;
    std::vector<std::vector<std::uint64_t>> partial(parts);
    const std::uint64_t high_mask = shift == 48 ? 0 : ~std::uint64_t{0} << (shift + 16);
    const auto count_part = [&](std::size_t part) {
      std::vector<std::uint64_t>& local = partial[part];
      local.assign(1 << 16, 0);
      const std::size_t first = pieces * part / parts, last = pieces * (part + 1) / parts;
      magnitude_keys(x, b, n, piece, first, last, [&](std::size_t, std::span<const std::uint64_t> keys) {
        for (const std::uint64_t key : keys)
          if ((key & high_mask) == prefix) ++local[(key >> shift) & 0xFFFF];
      });
    };
    if (parts > 1) pool->parallel_for(parts, count_part);
    else count_part(0);
    std::vector<std::uint64_t> hist(1 << 16, 0);
    for (const auto& local : partial)
      for (std::size_t d = 0; d < hist.size(); ++d) hist[d] += local[d];
    std::size_t digit = 0xFFFF;
    while (above + hist[digit] < k) above += hist[digit--];
    prefix |= std::uint64_t{digit} << shift;
  }
  return prefix == 0 ? -1.0 : std::bit_cast<double>(prefix - 1);
}

// Counts per block of the keys above and equal to `threshold_key`.
void count_against(const TensorSource& x, const TensorSource& b, std::uint64_t n, std::uint64_t piece,
                   std::uint64_t threshold_key, std::vector<std::uint64_t>& greater, std::vector<std::uint64_t>& equal,
                   core::ThreadPool* pool) {
  for_pieces(n, piece, pool, [&](std::size_t p, std::uint64_t, std::uint64_t) {
    magnitude_keys(x, b, n, piece, p, p + 1, [&](std::size_t j, std::span<const std::uint64_t> keys) {
      for (const std::uint64_t key : keys) {
        greater[j] += key > threshold_key ? 1 : 0;
        equal[j] += key == threshold_key ? 1 : 0;
      }
    });
  });
}

// Candidates for the threshold beyond this many (or a quarter of the tensor) are not collected:
// the radix select goes on.
constexpr std::uint64_t k_max_candidates = std::uint64_t{1} << 22;

Trim plan_trim(const TensorSource& x, const TensorSource& b, std::uint64_t n, std::uint64_t piece, double density,
               core::ThreadPool* pool) {
  Trim plan;
  if (density >= 1.0) return plan;
  const auto k = static_cast<std::uint64_t>(std::floor(density * static_cast<double>(n)));
  if (k >= n) return plan;
  plan.all = false;
  const auto blocks = static_cast<std::size_t>((n + k_block - 1) / k_block);
  plan.equal_before.assign(blocks, 0);
  if (k == 0) {  // nothing kept
    plan.threshold = INFINITY;
    return plan;
  }
  std::vector<std::uint64_t> greater(blocks, 0), equal(blocks, 0);
  // The top 16 bits of the k-th largest key, then (usually) one more pass collects the keys
  // sharing them with their blocks, counting the keys above per block on the way, and the exact
  // threshold is selected among those: two passes over the tensor instead of five.
  const auto pieces = static_cast<std::size_t>((n + piece - 1) / piece);
  const std::size_t parts = pool != nullptr ? std::min(pool->size(), pieces) : 1;
  std::vector<std::vector<std::uint64_t>> partial(parts);
  const auto histogram_part = [&](std::size_t part) {
    partial[part].assign(1 << 16, 0);
    magnitude_keys(x, b, n, piece, pieces * part / parts, pieces * (part + 1) / parts,
                   [&](std::size_t, std::span<const std::uint64_t> keys) {
                     for (const std::uint64_t key : keys) ++partial[part][key >> 48];
                   });
  };
  if (parts > 1) pool->parallel_for(parts, histogram_part);
  else histogram_part(0);
  std::vector<std::uint64_t> hist(1 << 16, 0);
  for (const auto& local : partial)
    for (std::size_t d = 0; d < hist.size(); ++d) hist[d] += local[d];
  std::uint64_t above = 0;
  std::size_t digit = 0xFFFF;
  while (above + hist[digit] < k) above += hist[digit--];
  if (hist[digit] <= std::min(k_max_candidates, n / 4)) {
    struct Candidate {
      std::uint64_t key;
      std::uint32_t block;
    };
    std::vector<std::vector<Candidate>> found(pieces);
    for_pieces(n, piece, pool, [&](std::size_t p, std::uint64_t, std::uint64_t) {
      magnitude_keys(x, b, n, piece, p, p + 1, [&](std::size_t j, std::span<const std::uint64_t> keys) {
        for (const std::uint64_t key : keys) {
          const std::uint64_t top = key >> 48;
          greater[j] += top > digit ? 1 : 0;
          if (top == digit) found[p].push_back({key, static_cast<std::uint32_t>(j)});
        }
      });
    });
    std::vector<std::uint64_t> keys;
    keys.reserve(static_cast<std::size_t>(hist[digit]));
    for (const auto& f : found)
      for (const auto& c : f) keys.push_back(c.key);
    const auto kth = keys.begin() + static_cast<std::ptrdiff_t>(k - above - 1);
    std::nth_element(keys.begin(), kth, keys.end(), std::greater<>());
    const std::uint64_t threshold_key = *kth;
    for (const auto& f : found)
      for (const auto& c : f) {
        greater[c.block] += c.key > threshold_key ? 1 : 0;
        equal[c.block] += c.key == threshold_key ? 1 : 0;
      }
    plan.threshold = threshold_key == 0 ? -1.0 : std::bit_cast<double>(threshold_key - 1);
  } else {  // a huge run of nearly equal magnitudes: select without holding them
    plan.threshold = kth_largest_magnitude(x, b, n, piece, k, pool);
    count_against(x, b, n, piece, magnitude_key(plan.threshold), greater, equal, pool);
  }
  std::uint64_t total_greater = 0, total_equal = 0;
  for (std::size_t j = 0; j < blocks; ++j) {
    total_greater += greater[j];
    plan.equal_before[j] = total_equal;
    total_equal += equal[j];
  }
  plan.equal_needed = k - total_greater;  // >= 1: the k-th largest itself is one of the equal ones
  return plan;
}

// b + delta, except that a zero delta leaves b as it is (its sign of zero too: -0.0 + 0.0 is +0.0).
double plus(double b, double delta) noexcept { return delta == 0.0 ? b : b + delta; }

// slerp's coefficients: r = c0 * a + c1 * c.
std::pair<double, double> slerp_coefficients(const TensorSource& a, const TensorSource& c, std::uint64_t n,
                                             std::uint64_t piece, double t, core::ThreadPool* pool) {
  struct Sums {
    double dot = 0.0, aa = 0.0, cc = 0.0;
  };
  std::vector<Sums> partial(static_cast<std::size_t>((n + k_block - 1) / k_block));
  for_pieces(n, piece, pool, [&](std::size_t, std::uint64_t begin, std::uint64_t end) {
    std::vector<std::byte> abuf, cbuf;
    std::vector<double> as(static_cast<std::size_t>(end - begin)), cs(as.size());
    read_values(a, begin, end, abuf, as.data());
    read_values(c, begin, end, cbuf, cs.data());
    for (std::uint64_t block = begin; block < end; block += k_block) {
      Sums s;
      for (std::uint64_t e = block; e < std::min(end, block + k_block); ++e) {
        const double x = as[static_cast<std::size_t>(e - begin)], y = cs[static_cast<std::size_t>(e - begin)];
        s.dot += x * y;
        s.aa += x * x;
        s.cc += y * y;
      }
      partial[static_cast<std::size_t>(block / k_block)] = s;
    }
  });
  Sums total;
  for (const Sums& s : partial) {
    total.dot += s.dot;
    total.aa += s.aa;
    total.cc += s.cc;
  }
  double cos = 0.0;  // a zero vector is orthogonal to everything (mergekit normalizes it to itself)
  if (total.aa != 0.0 && total.cc != 0.0) cos = total.dot / (std::sqrt(total.aa) * std::sqrt(total.cc));
  if (std::fabs(cos) > 0.9995) return {1.0 - t, t};  // (nearly) parallel: linear interpolation
  if (cos < -1.0) cos = -1.0;
  if (cos > 1.0) cos = 1.0;
  const double theta = std::acos(cos);
  const double theta_t = theta * t;
  const double sin_theta = std::sin(theta);
  return {std::sin(theta - theta_t) / sin_theta, std::sin(theta_t) / sin_theta};
}

[[noreturn]] void usage(const std::string& message) {
  throw UsageError(message);
}
[[noreturn]] void bug(const std::string& message) {
  throw std::logic_error("merge_tensor: " + message);
}

void check_same(const TensorSource& first, const TensorSource& v, const char* what) {
  if (v.dtype != first.dtype || v.big_endian != first.big_endian || v.elements != first.elements)
    bug(std::string(what) + " differs from ours in dtype, byte order or size");
}

}  // namespace

bool mergeable_dtype(DType dtype) noexcept {
  return dtype == DType::f16 || dtype == DType::bf16 || dtype == DType::f32 || dtype == DType::f64;
}

bool method_needs_base(MergeMethod method) noexcept {
  return method == MergeMethod::task_arithmetic || method == MergeMethod::ties || method == MergeMethod::dare ||
         method == MergeMethod::dare_ties;
}

std::uint16_t float_to_bf16(float value) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>((u >> 16) | 0x0040);  // quiet, sign kept
  return static_cast<std::uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

std::uint16_t float_to_f16(float value) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000);
  const std::uint32_t a = u & 0x7FFFFFFF;
  if (a > 0x7F800000) return static_cast<std::uint16_t>(sign | 0x7E00 | ((a >> 13) & 0x3FF));  // NaN: quiet
  if (a >= 0x477FF000) return sign | 0x7C00;  // >= 65520 rounds to infinity (and infinity itself)
  std::uint32_t h = 0, rest = 0, half = 0;
  if (a >= 0x38800000) {  // normal in F16: rebias the exponent, drop 13 mantissa bits
    h = (a - 0x38000000) >> 13;
    rest = a & 0x1FFF;
    half = 0x1000;
  } else {
    const std::uint32_t exponent = a >> 23;
    if (exponent < 102) return sign;  // below 2^-25: rounds to zero
    const std::uint32_t mantissa = (a & 0x7FFFFF) | 0x800000;
    const std::uint32_t shift = 126 - exponent;  // 14..24: value = mantissa * 2^-24 >> shift
    h = mantissa >> shift;
    rest = mantissa & ((std::uint32_t{1} << shift) - 1);
    half = std::uint32_t{1} << (shift - 1);
  }
  if (rest > half || (rest == half && (h & 1) != 0)) ++h;  // nearest, ties to even (may carry into the exponent)
  return static_cast<std::uint16_t>(sign | h);
}

bool dare_keeps(std::uint64_t seed, std::string_view key, std::size_t side, std::uint64_t index,
                double density) noexcept {
  return dare_keep(dare_stream(seed, key, side), index, density);
}

void merge_tensor_stream(MergeMethod method, const MergeParams& params, std::span<const TensorSource> sides,
                         const TensorSource* base, std::string_view key, std::uint64_t piece, core::ThreadPool* pool,
                         const std::function<void(std::uint64_t, std::span<const std::byte>)>& sink) {
  if (sides.empty()) bug("no sides");
  const TensorSource& ours = sides[0];
  if (!mergeable_dtype(ours.dtype)) bug("dtype " + std::string(core::dtype_name(ours.dtype)) + " is not mergeable");
  if (piece == 0 || piece % k_block != 0) bug("pieces must be a multiple of " + std::to_string(k_block) + " elements");
  for (const TensorSource& side : sides) check_same(ours, side, "a side");
  const bool needs_base = method_needs_base(method);
  if (needs_base && base == nullptr) bug("the method needs a base");
  if (needs_base) check_same(ours, *base, "the base");

  const std::size_t n = sides.size();
  if (!params.weights.empty() && params.weights.size() != n)
    usage("merge weights: " + std::to_string(params.weights.size()) + " given for " + std::to_string(n) + " sides");
  const std::vector<double> w = params.weights.empty() ? std::vector<double>(n, 1.0) : params.weights;
  for (const double wi : w)
    if (!std::isfinite(wi)) usage("merge weights must be finite numbers");
  if (!std::isfinite(params.lambda)) usage("merge lambda must be a finite number");
  const bool dare = method == MergeMethod::dare || method == MergeMethod::dare_ties;
  if ((dare || method == MergeMethod::ties) && !(params.density > 0.0 && params.density <= 1.0))
    usage("merge density must be in (0, 1], got " + std::to_string(params.density));
  double weight_sum = w[0];
  for (std::size_t i = 1; i < n; ++i) weight_sum += w[i];
  if (method == MergeMethod::weighted && params.normalize && weight_sum == 0.0)
    usage("merge weights add up to zero: cannot normalize");
  if (method == MergeMethod::slerp && n != 2) usage("slerp merges exactly two sides, got " + std::to_string(n));
  if (method == MergeMethod::slerp && !(params.t >= 0.0 && params.t <= 1.0))
    usage("slerp t must be in [0, 1], got " + std::to_string(params.t));

  const std::uint64_t count = ours.elements;
  const TensorSource& b = needs_base ? *base : ours;

  // What needs every element first: TIES' thresholds, slerp's angle.
  std::vector<Trim> trims(n);
  if (method == MergeMethod::ties) {
    for (std::size_t i = 0; i < n; ++i) trims[i] = plan_trim(sides[i], b, count, piece, params.density, pool);
  }
  std::vector<std::uint64_t> streams(n);
  for (std::size_t i = 0; i < n; ++i) streams[i] = dare_stream(params.seed, key, i);
  std::pair<double, double> slerp{0.0, 0.0};
  if (method == MergeMethod::slerp) slerp = slerp_coefficients(sides[0], sides[1], count, piece, params.t, pool);

  const std::size_t width = core::dtype_size(ours.dtype);
  std::vector<std::vector<std::byte>> buffers(n + 1);
  std::vector<TensorView> views(n + 1);
  std::vector<std::byte> out;
  for (std::uint64_t first = 0; first < count; first += piece) {
    const std::uint64_t last = std::min(count, first + piece);
    // Every side's (and the base's) bytes of the piece, read at once.
    const auto read = [&](std::size_t i) {
      const TensorSource& source = i < n ? sides[i] : b;
      views[i] = {source.dtype, source.big_endian, source.read(first, last, buffers[i])};
    };
    if (pool != nullptr) pool->parallel_for(needs_base ? n + 1 : n, read);
    else for (std::size_t i = 0; i < (needs_base ? n + 1 : n); ++i) read(i);
    out.resize(static_cast<std::size_t>(last - first) * width);
    // A block at a time, in loops over the block's elements (which the compiler vectorizes where
    // there are no per-element choices); for each element the operations and their order are
    // the definitions' (docs/merge.md "Definitions").
    for_pieces(last - first, k_block, pool, [&](std::size_t, std::uint64_t block_begin, std::uint64_t block_end) {
      const std::uint64_t begin = first + block_begin, end = first + block_end;
      const std::size_t j = static_cast<std::size_t>(begin / k_block);
      const auto len = static_cast<std::size_t>(end - begin);
      std::vector<double> values(len * (n + 1));  // side i at [i * len, (i + 1) * len), the base last
      for (std::size_t i = 0; i < n; ++i) decode(views[i], first, begin, end, values.data() + i * len);
      const double* bv = values.data() + n * len;
      if (needs_base) decode(views[n], first, begin, end, values.data() + n * len);
      // Task vectors, trimmed (TIES) or dropped and rescaled (DARE), in place of the sides.
      if (needs_base) {
        for (std::size_t i = 0; i < n; ++i) {
          double* t = values.data() + i * len;
          std::uint64_t equal_seen = trims[i].all ? 0 : trims[i].equal_before[j];
          for (std::size_t k = 0; k < len; ++k) {
            const double tau = t[k] - bv[k];
            if (method == MergeMethod::ties) t[k] = trims[i].keeps(magnitude(tau), equal_seen) ? tau : 0.0;
            else if (dare) t[k] = dare_keep(streams[i], begin + k, params.density) ? tau / params.density : 0.0;
            else t[k] = tau;
          }
        }
      }
      const double* t = values.data();
      std::vector<double> r(len), m, d;
      switch (method) {
        case MergeMethod::average:
          for (std::size_t k = 0; k < len; ++k) r[k] = t[k];
          for (std::size_t i = 1; i < n; ++i)
            for (std::size_t k = 0; k < len; ++k) r[k] += t[i * len + k];
          for (std::size_t k = 0; k < len; ++k) r[k] /= static_cast<double>(n);
          break;
        case MergeMethod::weighted:
        case MergeMethod::task_arithmetic:
        case MergeMethod::dare:
          for (std::size_t k = 0; k < len; ++k) r[k] = w[0] * t[k];
          for (std::size_t i = 1; i < n; ++i)
            for (std::size_t k = 0; k < len; ++k) r[k] += w[i] * t[i * len + k];
          if (method != MergeMethod::weighted)
            for (std::size_t k = 0; k < len; ++k) r[k] = plus(bv[k], params.lambda * r[k]);
          else if (params.normalize)
            for (std::size_t k = 0; k < len; ++k) r[k] /= weight_sum;
          break;
        case MergeMethod::ties:
        case MergeMethod::dare_ties:
          // Sign election by the weighted sum, then the sum M (and weight D) of the agreeing terms.
          for (std::size_t k = 0; k < len; ++k) r[k] = w[0] * t[k];
          for (std::size_t i = 1; i < n; ++i)
            for (std::size_t k = 0; k < len; ++k) r[k] += w[i] * t[i * len + k];
          m.assign(len, 0.0);
          d.assign(len, 0.0);
          for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < len; ++k) {
              const double di = w[i] * t[i * len + k];
              const bool agrees = r[k] >= 0.0 ? di > 0.0 : di < 0.0;  // sign(0) = 0 and NaN never agree
              m[k] += agrees ? di : 0.0;
              d[k] += agrees ? w[i] : 0.0;
            }
          for (std::size_t k = 0; k < len; ++k) {
            const double mean = !params.normalize ? m[k] : m[k] / (d[k] == 0.0 ? 1.0 : d[k]);
            r[k] = plus(bv[k], params.lambda * mean);
          }
          break;
        case MergeMethod::slerp:
          for (std::size_t k = 0; k < len; ++k) r[k] = slerp.first * t[k] + slerp.second * t[len + k];
          break;
      }
      for (std::size_t k = 0; k < len; ++k)
        store(ours.dtype, ours.big_endian, r[k], out.data() + static_cast<std::size_t>(begin - first + k) * width);
    });
    sink(first, out);
  }
}

std::vector<std::byte> merge_tensor(MergeMethod method, const MergeParams& params, std::span<const TensorView> sides,
                                    const TensorView* base, std::string_view key, core::ThreadPool* pool) {
  if (sides.empty()) bug("no sides");
  const auto source = [](const TensorView& v) {
    const std::size_t width = core::dtype_size(v.dtype);
    if (v.bytes.size() % width != 0) bug("byte size is not a multiple of the element size");
    return TensorSource{v.dtype, v.big_endian, v.elements(),
                        [v, width](std::uint64_t begin, std::uint64_t end, std::vector<std::byte>&) {
                          return v.bytes.subspan(begin * width, (end - begin) * width);
                        }};
  };
  std::vector<TensorSource> sources;
  for (const TensorView& side : sides) sources.push_back(source(side));
  const std::optional<TensorSource> base_source = base ? std::optional(source(*base)) : std::nullopt;
  std::vector<std::byte> out(sides[0].bytes.size());
  merge_tensor_stream(method, params, sources, base_source ? &*base_source : nullptr, key, k_memory_piece, pool,
                      [&](std::uint64_t first, std::span<const std::byte> bytes) {
                        std::copy(bytes.begin(), bytes.end(), out.begin() + static_cast<std::ptrdiff_t>(first * core::dtype_size(sides[0].dtype)));
                      });
  return out;
}

}  // namespace coral::vcs
