#pragma once
// The tensor arithmetic of `coral merge` (docs/merge.md "Definitions"): average, weighted,
// task arithmetic, TIES, DARE, DARE-TIES and SLERP on one tensor, as mergekit and the papers
// define them. Every element is computed in double from the exact value of the stored one, in a
// fixed order of operations, and rounded once to float32 and then (BF16, F16) to the stored
// dtype, to nearest even. Results depend only on the inputs, the parameters and the tensor's key:
// never on the thread count, the block size or the machine's vector unit (the file is compiled
// without floating-point contraction). tests/data/merge_reference.py is the independent
// definition the unit tests compare with, bit for bit.
#include "coral/core/dtype.hpp"
#include "coral/core/thread_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace coral::vcs {

enum class MergeMethod { average, weighted, task_arithmetic, ties, dare, dare_ties, slerp };

struct MergeParams {
  std::vector<double> weights;  // one per side (ours first); empty: every weight is 1
  bool normalize = true;        // weighted: divide by the sum of the weights; ties, dare_ties: by
                                // the agreeing weights (the disjoint mean)
  double lambda = 1.0;          // task_arithmetic, ties, dare, dare_ties
  double density = 1.0;         // ties (fraction kept by magnitude), dare/dare_ties (keep probability); (0, 1]
  std::uint64_t seed = 0;       // dare, dare_ties
  double t = 0.5;               // slerp: 0 gives ours, 1 theirs
};

// One side's version of a tensor: its stored bytes.
struct TensorView {
  core::DType dtype = core::DType::f32;
  bool big_endian = false;
  std::span<const std::byte> bytes;
  std::uint64_t elements() const noexcept { return bytes.size() / core::dtype_size(dtype); }
};

// A tensor read by ranges of elements, for tensors too big to hold: read(begin, end, buffer)
// returns the bytes of elements [begin, end), from memory or read into `buffer`. Called on pool
// threads, for different sources at once.
struct TensorSource {
  core::DType dtype = core::DType::f32;
  bool big_endian = false;
  std::uint64_t elements = 0;
  std::function<std::span<const std::byte>(std::uint64_t begin, std::uint64_t end, std::vector<std::byte>& buffer)> read;
};

// Elements per block: pieces are whole blocks, sums that cross blocks are taken in block order.
inline constexpr std::uint64_t k_merge_block = std::uint64_t{1} << 16;

// F16, BF16, F32 and F64: the dtypes merge arithmetic applies to.
bool mergeable_dtype(core::DType dtype) noexcept;
// Does the method read the merge base (task vectors)?
bool method_needs_base(MergeMethod method) noexcept;

// Merges one tensor. `sides` (ours first, at least one; slerp: exactly two) and `base` (required
// when method_needs_base) share dtype, byte order and element count; `key` ("PATH\0TENSOR")
// seeds DARE's per-tensor random streams. Returns the merged tensor's bytes in the sides' dtype
// and byte order. With a pool, blocks of elements run on it (never call it from a task of the
// same pool: parallel_for waits for its blocks). Throws UsageError for invalid parameters
// (weights of the wrong count or not finite, a zero weight sum to normalize by, lambda not
// finite, density outside (0, 1], t outside [0, 1], slerp without exactly two sides) and
// std::logic_error for a caller's bug (no side, a missing base, sides or base that differ in
// dtype, byte order or size, a dtype that is not mergeable).
std::vector<std::byte> merge_tensor(MergeMethod method, const MergeParams& params, std::span<const TensorView> sides,
                                    const TensorView* base, std::string_view key, core::ThreadPool* pool = nullptr);

// The same merge, `piece` elements at a time (a multiple of k_merge_block): every source is read
// in pieces (TIES reads each side three times and the base twice per side and once more, slerp
// both sides twice, the others everything once), and the merged bytes of each piece go to sink(first element, bytes), in order.
// Memory: a few pieces per thread, whatever the tensor's size. The bytes are merge_tensor's.
void merge_tensor_stream(MergeMethod method, const MergeParams& params, std::span<const TensorSource> sides,
                         const TensorSource* base, std::string_view key, std::uint64_t piece, core::ThreadPool* pool,
                         const std::function<void(std::uint64_t, std::span<const std::byte>)>& sink);

// Rounding of a double result to the stored dtypes (exposed for tests): double -> float32 to
// nearest even, then float32 -> BF16/F16 to nearest even (NaN stays NaN, overflow gives inf).
std::uint16_t float_to_bf16(float value) noexcept;
std::uint16_t float_to_f16(float value) noexcept;

// DARE's keep decision for element `index` of side `side` (0 = ours) of the tensor `key`
// (docs/merge.md "DARE's random mask").
bool dare_keeps(std::uint64_t seed, std::string_view key, std::size_t side, std::uint64_t index, double density) noexcept;

}  // namespace coral::vcs
