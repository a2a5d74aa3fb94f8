#include "coral/delta/codec.hpp"

#include "coral/core/error.hpp"

#include <memory>
#include <optional>
#include <string>
#include <zstd.h>
#include <zstd_errors.h>

namespace coral::delta {
namespace {

// Below this many bytes zstd's frame header costs more than it can save.
constexpr std::size_t k_min_zstd_input = 64;

// Inputs this large are compressed by several zstd workers at once.
constexpr std::size_t k_multithread_input = 8u << 20;

// Compresses into at most raw.size() - 1 bytes; nullopt when the result would not be smaller.
std::optional<std::vector<std::byte>> zstd_compress(std::span<const std::byte> raw, const EncodeOptions& o) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!cctx) throw IoError("zstd: out of memory");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, o.zstd_level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1);
  if (o.threads > 1 && raw.size() >= k_multithread_input)
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_nbWorkers, o.threads);
  std::vector<std::byte> out(raw.size() - 1);
  const std::size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) {
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) return std::nullopt;
    throw IoError("zstd compression failed", ZSTD_getErrorName(n));
  }
  out.resize(n);
  return out;
}

}  // namespace

const char* encoding_name(Encoding e) noexcept {
  switch (e) {
    case Encoding::raw: return "raw";
    case Encoding::zstd: return "zstd";
    case Encoding::chunks: return "chunks";
  }
  return "unknown";
}

bool is_known_encoding(std::uint8_t value) noexcept { return value <= 2; }

Encoded encode(std::span<const std::byte> raw, core::DType /*dtype*/, const EncodeOptions& options) {
  Encoded result;
  if (raw.size() >= k_min_zstd_input) {
    if (auto z = zstd_compress(raw, options)) {
      result.encoding = Encoding::zstd;
      result.bytes = std::move(*z);
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
    case Encoding::chunks: break;  // random access with a base: see chunks.hpp and vcs's ChunkSource
  }
  throw CorruptError("unknown object encoding " + std::to_string(static_cast<int>(encoding)));
}

struct StreamDecoder::Impl {
  Encoding encoding;
  std::uint64_t raw_size;
  ByteSink sink;
  std::uint64_t produced = 0;
  bool frame_done = false;
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx{nullptr, ZSTD_freeDCtx};

  void emit(std::span<const std::byte> piece) {
    produced += piece.size();
    if (produced > raw_size) throw CorruptError("object decodes to more than " + std::to_string(raw_size) + " bytes");
    if (!piece.empty()) sink(piece);
  }
};

StreamDecoder::StreamDecoder(Encoding encoding, std::uint64_t raw_size, ByteSink sink)
  : m_impl(std::make_unique<Impl>(Impl{encoding, raw_size, std::move(sink)})) {
  if (encoding == Encoding::zstd) {
    m_impl->dctx.reset(ZSTD_createDCtx());
    if (!m_impl->dctx) throw IoError("zstd: out of memory");
  } else if (encoding != Encoding::raw) {
    throw CorruptError("unknown object encoding " + std::to_string(static_cast<int>(encoding)));
  }
}

StreamDecoder::~StreamDecoder() = default;

void StreamDecoder::feed(std::span<const std::byte> stored) {
  Impl& d = *m_impl;
  if (d.encoding == Encoding::raw) {
    d.emit(stored);
    return;
  }
  constexpr std::size_t k_piece = 4u << 20;
  thread_local std::vector<std::byte> buffer(k_piece);
  ZSTD_inBuffer in{stored.data(), stored.size(), 0};
  while (in.pos < in.size || !d.frame_done) {
    if (d.frame_done) throw CorruptError("zstd object has bytes after its frame");
    ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(d.dctx.get(), &out, &in);
    if (ZSTD_isError(rc)) throw CorruptError("zstd object does not decode", ZSTD_getErrorName(rc));
    d.emit({buffer.data(), out.pos});
    if (rc == 0) d.frame_done = true;
    if (in.pos == in.size && out.pos < out.size) break;  // needs more input
  }
}

void StreamDecoder::finish() {
  const Impl& d = *m_impl;
  if (d.encoding == Encoding::zstd && !d.frame_done) throw CorruptError("zstd object is truncated");
  if (d.produced != d.raw_size)
    throw CorruptError("object decodes to " + std::to_string(d.produced) + " bytes, expected " + std::to_string(d.raw_size));
}

void decode_stream(Encoding encoding, std::span<const std::byte> stored, std::uint64_t raw_size, const ByteSink& sink) {
  StreamDecoder decoder(encoding, raw_size, sink);
  decoder.feed(stored);
  decoder.finish();
}

}  // namespace coral::delta
