#include "merge_checksums.hpp"

#include "chunk_encoder.hpp"
#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace coral::vcs {
namespace {

core::FileLayout layout_of(const FileEntry& file) {
  core::FileLayout layout;
  layout.format = file.format;
  for (const auto& t : file.tensors) layout.tensors.push_back({t.name, t.dtype, t.shape, t.offset, t.length, t.big_endian});
  return layout;
}

void put_le32(std::vector<std::byte>& bytes, std::uint64_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) bytes[at + static_cast<std::uint64_t>(k)] = static_cast<std::byte>((v >> (8 * k)) & 0xFF);
}

}  // namespace

core::ObjectId LayoutKeys::key(const FileEntry& file) {
  if (file.format != core::FileFormat::npz || file.tensors.empty()) return file.id;
  if (auto it = m_keys.find(file.id); it != m_keys.end()) return it->second;
  std::vector<std::byte> skeleton = m_db.read_data(file.id);
  for (const auto& c : core::layout_checksums(layout_of(file), skeleton, file.size))
    for (const auto at : c.skeleton_offsets) put_le32(skeleton, at, 0);
  const core::ObjectId key = core::hash_bytes(std::span<const std::byte>(skeleton));
  m_keys.emplace(file.id, key);
  return key;
}

std::string LayoutKeys::metadata(const FileEntry& file) {
  if (file.format != core::FileFormat::safetensors) return {};
  if (auto it = m_metadata.find(file.id); it != m_metadata.end()) return it->second;
  const std::vector<std::byte> skeleton = m_db.read_data(file.id);
  std::uint64_t length = 0;
  for (int k = 0; k < 8 && static_cast<std::size_t>(k) < skeleton.size(); ++k)
    length |= std::uint64_t{static_cast<std::uint8_t>(skeleton[static_cast<std::size_t>(k)])} << (8 * k);
  if (skeleton.size() < 8 || length > skeleton.size() - 8)
    throw CorruptError("the skeleton of '" + file.path + "' is not a safetensors header");
  const auto header = nlohmann::json::parse(reinterpret_cast<const char*>(skeleton.data()) + 8,
                                            reinterpret_cast<const char*>(skeleton.data()) + 8 + length, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    throw CorruptError("the skeleton of '" + file.path + "' is not a safetensors header");
  std::string out = header.contains("__metadata__") ? header["__metadata__"].dump() : std::string();
  m_metadata.emplace(file.id, out);
  return out;
}

core::ObjectId refresh_checksums(const ObjectDb& db, DataWriter& writer, const FileEntry& file,
                                 core::ThreadPool& pool) {
  if (file.format != core::FileFormat::npz || file.tensors.empty()) return file.id;
  std::vector<std::byte> skeleton = db.read_data(file.id);
  const core::FileLayout layout = layout_of(file);
  const auto checksums = core::layout_checksums(layout, skeleton, file.size);
  for (const auto& c : checksums) {
    // The covered bytes in file order: skeleton between the tensors, the tensors from the store.
    std::uint32_t crc = 0;
    std::uint64_t pos = 0, skel = 0;
    auto skeleton_piece = [&](std::uint64_t length) {
      const std::uint64_t from = std::max(pos, c.begin), to = std::min(pos + length, c.end);
      if (from < to) crc = core::crc32(std::span(skeleton).subspan(skel + (from - pos), to - from), crc);
      skel += length;
      pos += length;
    };
    for (const auto& t : file.tensors) {
      skeleton_piece(t.offset - pos);
      if (t.offset < c.end && t.offset + t.length > c.begin) {
        std::uint64_t at = t.offset;
        db.stream_data(t.id, [&](std::span<const std::byte> piece) {
          const std::uint64_t from = std::max(at, c.begin), to = std::min(at + piece.size(), c.end);
          if (from < to) crc = core::crc32(piece.subspan(from - at, to - from), crc);
          at += piece.size();
        });
      }
      pos = t.offset + t.length;
    }
    skeleton_piece(skeleton.size() - skel);
    for (const auto at : c.skeleton_offsets) put_le32(skeleton, at, crc);
  }
  const core::ObjectId id = core::hash_bytes(std::span<const std::byte>(skeleton));
  if (id != file.id && writer.claim(id)) {
    ChunkJob job;
    job.id = id;
    job.raw_size = skeleton.size();
    job.bytes = skeleton;
    store_chunked(writer, job, &pool);
  }
  return id;
}

}  // namespace coral::vcs
