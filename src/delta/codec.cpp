#include "coral/delta/codec.hpp"

#include "coral/core/error.hpp"

#include <string>
#include <zstd.h>

namespace coral::delta {
namespace {

// Below this many bytes zstd's frame header costs more than it can save.
constexpr std::size_t k_min_zstd_input = 64;

std::vector<std::byte> zstd_compress(std::span<const std::byte> raw, int level) {
  std::vector<std::byte> out(ZSTD_compressBound(raw.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) throw IoError("zstd compression failed", ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

}  // namespace

const char* encoding_name(Encoding e) noexcept {
  switch (e) {
    case Encoding::raw: return "raw";
    case Encoding::zstd: return "zstd";
  }
  return "unknown";
}

bool is_known_encoding(std::uint8_t value) noexcept { return value <= 1; }

Encoded encode(std::span<const std::byte> raw, core::DType /*dtype*/, const EncodeOptions& options) {
  Encoded result;
  if (raw.size() >= k_min_zstd_input) {
    auto z = zstd_compress(raw, options.zstd_level);
    if (z.size() < raw.size()) {
      result.encoding = Encoding::zstd;
      result.bytes = std::move(z);
      return result;
    }
  }
  result.encoding = Encoding::raw;
  result.bytes.assign(raw.begin(), raw.end());
  return result;
}

std::vector<std::byte> decode(Encoding encoding, std::span<const std::byte> stored, std::uint64_t raw_size) {
  switch (encoding) {
    case Encoding::raw:
      if (stored.size() != raw_size)
        throw CorruptError("raw object has " + std::to_string(stored.size()) + " bytes, expected " +
                           std::to_string(raw_size));
      return {stored.begin(), stored.end()};
    case Encoding::zstd: {
      const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
      if (content != raw_size)
        throw CorruptError("zstd object frame declares " + std::to_string(content) + " bytes, expected " +
                           std::to_string(raw_size));
      std::vector<std::byte> out(raw_size);
      const std::size_t n = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
      if (ZSTD_isError(n) || n != raw_size)
        throw CorruptError("zstd object does not decode", ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output");
      return out;
    }
  }
  throw CorruptError("unknown object encoding " + std::to_string(static_cast<int>(encoding)));
}

}  // namespace coral::delta
