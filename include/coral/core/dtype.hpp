#pragma once
// Element types of tensors. Names are the safetensors spellings ("F32", "BF16", ...).

#include <cstddef>
#include <optional>
#include <string_view>

namespace coral::core {

enum class DType {
  f64, f32, f16, bf16, f8_e4m3, f8_e5m2,
  i64, i32, i16, i8, u64, u32, u16, u8, boolean,
};

inline constexpr DType k_all_dtypes[] = {
  DType::f64, DType::f32, DType::f16, DType::bf16, DType::f8_e4m3, DType::f8_e5m2, DType::i64,
  DType::i32, DType::i16, DType::i8, DType::u64, DType::u32, DType::u16, DType::u8, DType::boolean,
};

// Bytes per element: 8, 4, 2 or 1.
std::size_t dtype_size(DType t) noexcept;
// "F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", ..., "U8", "BOOL".
std::string_view dtype_name(DType t) noexcept;
// Inverse of dtype_name; nullopt for an unknown name.
std::optional<DType> find_dtype(std::string_view name) noexcept;
bool is_float(DType t) noexcept;

// Converts element i of a little- or big-endian buffer to double (for diff statistics).
double element_as_double(DType t, const std::byte* data, std::size_t i, bool big_endian = false) noexcept;

}  // namespace coral::core
