#include "coral/core/file_layout.hpp"

#include "coral/core/error.hpp"
#include "core/formats/npy.hpp"
#include "core/formats/npz.hpp"
#include "core/formats/parse_util.hpp"
#include "core/formats/safetensors.hpp"

namespace coral::core {
namespace {

// What every parser promises (file_layout.hpp); a failure is a parser bug.
void check_layout(const FileLayout& layout, std::uint64_t size) {
  std::uint64_t pos = 0;
  for (const auto& t : layout.tensors) {
    CORAL_ASSERT(t.offset >= pos && formats::in_range(t.offset, t.length, size));
    CORAL_ASSERT(formats::byte_size(t.shape, dtype_size(t.dtype)) == t.length);
    pos = t.offset + t.length;
  }
}

}  // namespace

FileLayout parse_layout(FileFormat format, std::string_view name, std::span<const std::byte> data) {
  FileLayout layout;
  switch (format) {
    case FileFormat::raw: break;
    case FileFormat::safetensors: layout = formats::parse_safetensors(name, data); break;
    case FileFormat::npy: layout = formats::parse_npy(name, data); break;
    case FileFormat::npz: layout = formats::parse_npz(name, data); break;
  }
  check_layout(layout, data.size());
  return layout;
}

}  // namespace coral::core
