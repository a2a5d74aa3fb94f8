#include "coral/core/file_layout.hpp"

#include "coral/core/error.hpp"

#include <cstring>

namespace coral::core {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with_bytes(std::span<const std::byte> head, std::string_view magic) {
  return head.size() >= magic.size() && std::memcmp(head.data(), magic.data(), magic.size()) == 0;
}

}  // namespace

std::string_view format_name(FileFormat f) noexcept {
  switch (f) {
    case FileFormat::raw: return "raw";
    case FileFormat::safetensors: return "safetensors";
    case FileFormat::npy: return "npy";
    case FileFormat::npz: return "npz";
  }
  return "raw";
}

std::optional<FileFormat> find_format(std::string_view name) noexcept {
  for (auto f : {FileFormat::raw, FileFormat::safetensors, FileFormat::npy, FileFormat::npz})
    if (format_name(f) == name) return f;
  return std::nullopt;
}

FileFormat detect_format(std::string_view filename, std::span<const std::byte> head) noexcept {
  if (ends_with(filename, ".safetensors")) return FileFormat::safetensors;
  if (ends_with(filename, ".npy")) return FileFormat::npy;
  if (ends_with(filename, ".npz")) return FileFormat::npz;
  if (starts_with_bytes(head, "\x93NUMPY")) return FileFormat::npy;
  return FileFormat::raw;
}

FileLayout parse_file_layout(std::string_view name, std::span<const std::byte> data) {
  const auto head = data.first(std::min<std::size_t>(data.size(), 16));
  return parse_layout(detect_format(name, head), name, data);
}

std::string extract_skeleton(const FileLayout& layout, std::span<const std::byte> data) {
  std::string out;
  std::uint64_t pos = 0;
  auto append = [&](std::uint64_t from, std::uint64_t to) {
    out.append(reinterpret_cast<const char*>(data.data()) + from, to - from);
  };
  for (const auto& t : layout.tensors) {
    CORAL_ASSERT(t.offset >= pos && t.offset + t.length <= data.size());
    append(pos, t.offset);
    pos = t.offset + t.length;
  }
  append(pos, data.size());
  return out;
}

}  // namespace coral::core
