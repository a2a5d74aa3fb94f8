#pragma once
// One-shot zstd frames for chunk payloads, with per-thread contexts (creating a context costs
// more than compressing a small plane).

#include <cstddef>
#include <span>
#include <vector>

namespace coral::delta {

// Appends a zstd frame of src to out and returns true, or returns false (out unchanged) when the
// frame would be longer than max_bytes. Throws IoError when zstd fails otherwise.
bool zstd_append(std::span<const std::byte> src, int level, std::size_t max_bytes, std::vector<std::byte>& out);

// Decodes a frame that must produce exactly dst.size() bytes; throws CorruptError otherwise.
void zstd_decode_exact(std::span<const std::byte> frame, std::span<std::byte> dst);

}  // namespace coral::delta
