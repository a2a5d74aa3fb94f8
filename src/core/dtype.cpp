#include "coral/core/dtype.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace coral::core {
namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  std::size_t size;
  bool is_float;
};

constexpr DTypeInfo k_table[] = {
  {DType::f64, "F64", 8, true},          {DType::f32, "F32", 4, true},
  {DType::f16, "F16", 2, true},          {DType::bf16, "BF16", 2, true},
  {DType::f8_e4m3, "F8_E4M3", 1, true},  {DType::f8_e5m2, "F8_E5M2", 1, true},
  {DType::i64, "I64", 8, false},         {DType::i32, "I32", 4, false},
  {DType::i16, "I16", 2, false},         {DType::i8, "I8", 1, false},
  {DType::u64, "U64", 8, false},         {DType::u32, "U32", 4, false},
  {DType::u16, "U16", 2, false},         {DType::u8, "U8", 1, false},
  {DType::boolean, "BOOL", 1, false},
};

const DTypeInfo& info(DType t) noexcept { return k_table[static_cast<int>(t)]; }

template <typename T>
T load(const std::byte* p, bool big_endian) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if (big_endian && sizeof(T) > 1) {
    auto* b = reinterpret_cast<unsigned char*>(&v);
    for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  return v;
}

double half_to_double(std::uint16_t h) noexcept {
  const int sign = (h >> 15) & 1;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  double v;
  if (exp == 0) v = std::ldexp(mant, -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(mant + 1024, exp - 25);
  return sign ? -v : v;
}

// OCP FP8: E4M3 has no infinities (S.1111.111 is NaN), E5M2 follows IEEE rules.
double fp8_to_double(std::uint8_t b, int exp_bits, int bias, bool ieee_special) noexcept {
  const int mant_bits = 7 - exp_bits;
  const int sign = b >> 7;
  const int exp = (b >> mant_bits) & ((1 << exp_bits) - 1);
  const int mant = b & ((1 << mant_bits) - 1);
  const int max_exp = (1 << exp_bits) - 1;
  double v;
  if (ieee_special && exp == max_exp) v = mant ? NAN : INFINITY;
  else if (!ieee_special && exp == max_exp && mant == (1 << mant_bits) - 1) v = NAN;
  else if (exp == 0) v = std::ldexp(mant, 1 - bias - mant_bits);
  else v = std::ldexp(mant + (1 << mant_bits), exp - bias - mant_bits);
  return sign ? -v : v;
}

}  // namespace

std::size_t dtype_size(DType t) noexcept { return info(t).size; }
std::string_view dtype_name(DType t) noexcept { return info(t).name; }
bool is_float(DType t) noexcept { return info(t).is_float; }

std::optional<DType> find_dtype(std::string_view name) noexcept {
  for (const auto& e : k_table)
    if (e.name == name) return e.type;
  return std::nullopt;
}

double element_as_double(DType t, const std::byte* data, std::size_t i, bool big_endian) noexcept {
  const std::byte* p = data + i * dtype_size(t);
  switch (t) {
    case DType::f64: return load<double>(p, big_endian);
    case DType::f32: return load<float>(p, big_endian);
    case DType::f16: return half_to_double(load<std::uint16_t>(p, big_endian));
    case DType::bf16: {
      const std::uint32_t bits = std::uint32_t{load<std::uint16_t>(p, big_endian)} << 16;
      return std::bit_cast<float>(bits);
    }
    case DType::f8_e4m3: return fp8_to_double(load<std::uint8_t>(p, false), 4, 7, false);
    case DType::f8_e5m2: return fp8_to_double(load<std::uint8_t>(p, false), 5, 15, true);
    case DType::i64: return static_cast<double>(load<std::int64_t>(p, big_endian));
    case DType::i32: return load<std::int32_t>(p, big_endian);
    case DType::i16: return load<std::int16_t>(p, big_endian);
    case DType::i8: return load<std::int8_t>(p, false);
    case DType::u64: return static_cast<double>(load<std::uint64_t>(p, big_endian));
    case DType::u32: return load<std::uint32_t>(p, big_endian);
    case DType::u16: return load<std::uint16_t>(p, big_endian);
    case DType::u8: return load<std::uint8_t>(p, false);
    case DType::boolean: return load<std::uint8_t>(p, false) != 0 ? 1.0 : 0.0;
  }
  return 0.0;
}

}  // namespace coral::core
