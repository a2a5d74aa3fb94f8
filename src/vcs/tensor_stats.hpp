#pragma once
// Statistics of the change between two tensors of the same float dtype and element count,
// accumulated in double. NaN: elements where either side is NaN are skipped (and counted when
// only one side is NaN); an infinite difference makes max |Δ| infinite.

#include "coral/core/dtype.hpp"
#include "coral/vcs/operations.hpp"

#include <span>

namespace coral::vcs {

TensorStats compute_tensor_stats(core::DType dtype, std::span<const std::byte> a, bool a_big_endian,
                                 std::span<const std::byte> b, bool b_big_endian);

}  // namespace coral::vcs
