#include "zstd_block.hpp"

#include "coral/core/error.hpp"

#include <memory>
#include <zstd.h>
#include <zstd_errors.h>

namespace coral::delta {
namespace {

ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!ctx) throw IoError("zstd: out of memory");
  return ctx.get();
}

ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) throw IoError("zstd: out of memory");
  return ctx.get();
}

}  // namespace

bool zstd_append(std::span<const std::byte> src, int level, std::size_t max_bytes, std::vector<std::byte>& out) {
  const std::size_t at = out.size();
  const std::size_t cap = std::min(max_bytes, ZSTD_compressBound(src.size()));
  out.resize(at + cap);
  const std::size_t n = ZSTD_compressCCtx(thread_cctx(), out.data() + at, cap, src.data(), src.size(), level);
  if (ZSTD_isError(n)) {
    out.resize(at);
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) return false;
    throw IoError("zstd compression failed", ZSTD_getErrorName(n));
  }
  out.resize(at + n);
  return true;
}

void zstd_decode_exact(std::span<const std::byte> frame, std::span<std::byte> dst) {
  const std::size_t n = ZSTD_decompressDCtx(thread_dctx(), dst.data(), dst.size(), frame.data(), frame.size());
  if (ZSTD_isError(n)) throw CorruptError("zstd chunk payload does not decode", ZSTD_getErrorName(n));
  if (n != dst.size())
    throw CorruptError("zstd chunk payload decodes to " + std::to_string(n) + " bytes, expected " +
                       std::to_string(dst.size()));
}

}  // namespace coral::delta
