// Checksums over tensor bytes that a format keeps in its skeleton (file_layout.hpp): the CRC-32
// of each stored .npz member, in its local header, its central directory entry and, when the
// member has one, its data descriptor.

#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"
#include "core/formats/parse_util.hpp"
#include "core/formats/zip.hpp"

#include <array>
#include <cstring>
#include <sys/mman.h>

namespace coral::core {
namespace {

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

// The file image with zeros where the tensors go, in anonymous memory: pages no skeleton byte
// touches are never allocated, so a sparse view of a big file costs only its headers.
class SparseImage {
public:
  SparseImage(const FileLayout& layout, std::span<const std::byte> skeleton, std::uint64_t size) : m_size(size) {
    if (size > 0) {
      m_data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (m_data == MAP_FAILED) throw_errno("cannot map", "a file image of " + std::to_string(size) + " bytes", errno);
    }
    auto* out = static_cast<std::byte*>(m_data);
    std::uint64_t pos = 0, skel = 0;
    auto copy = [&](std::uint64_t length) {
      if (length > skeleton.size() - skel || pos + length > size) throw CorruptError("a skeleton does not fit its layout");
      if (length > 0) std::memcpy(out + pos, skeleton.data() + skel, length);
      skel += length;
    };
    for (const auto& t : layout.tensors) {
      if (t.offset < pos) throw CorruptError("a skeleton does not fit its layout");
      copy(t.offset - pos);
      pos = t.offset + t.length;
    }
    copy(skeleton.size() - skel);
  }
  ~SparseImage() {
    if (m_size > 0) ::munmap(m_data, m_size);
  }
  SparseImage(const SparseImage&) = delete;
  SparseImage& operator=(const SparseImage&) = delete;
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(m_data), m_size}; }

private:
  void* m_data = nullptr;
  std::uint64_t m_size;
};

// Skeleton offset of file offset `at`, which lies outside every extent.
std::uint64_t skeleton_offset(const FileLayout& layout, std::uint64_t at) {
  std::uint64_t before = 0;
  for (const auto& t : layout.tensors)
    if (t.offset + t.length <= at) before += t.length;
  return at - before;
}

}  // namespace

std::uint32_t crc32(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  static const std::array<std::uint32_t, 256> table = make_crc_table();
  crc = ~crc;
  for (const std::byte b : data) crc = table[(crc ^ static_cast<std::uint8_t>(b)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::vector<LayoutChecksum> layout_checksums(const FileLayout& layout, std::span<const std::byte> skeleton,
                                             std::uint64_t size) {
  std::vector<LayoutChecksum> out;
  if (layout.format != FileFormat::npz || layout.tensors.empty()) return out;
  const SparseImage image(layout, skeleton, size);
  const auto data = image.bytes();
  for (const auto& m : formats::read_zip_members("npz skeleton", data)) {
    const std::uint64_t end = m.data_offset + m.compressed_size;
    bool holds_tensor = false;
    for (const auto& t : layout.tensors) holds_tensor = holds_tensor || (t.offset >= m.data_offset && t.offset < end);
    if (!holds_tensor) continue;
    LayoutChecksum c{m.data_offset, end, {}};
    // With a data descriptor the local header's CRC is 0 by the spec and stays so.
    if (!(m.flags & formats::k_zip_flag_descriptor))
      c.skeleton_offsets.push_back(skeleton_offset(layout, m.header_offset + formats::k_zip_local_crc));
    c.skeleton_offsets.push_back(skeleton_offset(layout, m.central_offset + formats::k_zip_central_crc));
    if (m.flags & formats::k_zip_flag_descriptor) {
      std::uint64_t at = end;
      if (at + 8 <= data.size() && formats::load_le<std::uint32_t>(data, at) == formats::k_zip_descriptor_sig) at += 4;
      if (at + 4 > data.size()) throw InvalidInputError("npz skeleton: member '" + m.name + "' has no data descriptor");
      c.skeleton_offsets.push_back(skeleton_offset(layout, at));
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace coral::core
