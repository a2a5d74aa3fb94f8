// .npz (numpy.savez / numpy.savez_compressed): a zip archive (see zip.cpp) whose members are
// named "<key>.npy" and hold .npy images (see npy.cpp).
//
//   npz := zip archive; member "<key>.npy" := npy image
//
// A member that is stored (method 0), not encrypted and named "*.npy" is parsed as .npy in place,
// and its array becomes the tensor "<key>". Its compressed and uncompressed sizes must be equal.
// Deflated members (savez_compressed), encrypted ones and members with other names stay opaque
// skeleton bytes, as do all the zip headers and the central directory. Tensor names are unique.

#include "core/formats/npz.hpp"

#include "core/formats/npy.hpp"
#include "core/formats/parse_util.hpp"
#include "core/formats/zip.hpp"

#include <algorithm>
#include <set>

namespace coral::core::formats {
namespace {

constexpr std::string_view k_npy_suffix = ".npy";

bool is_stored_npy(const ZipMember& m) {
  return m.method == k_zip_stored && !(m.flags & k_zip_flag_encrypted) &&
         m.name.size() >= k_npy_suffix.size() &&
         std::string_view(m.name).substr(m.name.size() - k_npy_suffix.size()) == k_npy_suffix;
}

}  // namespace

FileLayout parse_npz(std::string_view name, std::span<const std::byte> data) {
  FileLayout layout;
  layout.format = FileFormat::npz;
  std::set<std::string, std::less<>> tensor_names;
  for (const ZipMember& m : read_zip_members(name, data)) {
    if (!is_stored_npy(m)) continue;
    const std::string where = std::string(name) + ": member '" + printable(m.name) + "'";
    if (m.compressed_size != m.uncompressed_size)
      throw_invalid(where, "stored member's size " + std::to_string(m.compressed_size) +
                               " differs from its uncompressed size " +
                               std::to_string(m.uncompressed_size));
    const std::string tensor = m.name.substr(0, m.name.size() - k_npy_suffix.size());
    auto t = parse_npy_at(where, data.subspan(m.data_offset, m.compressed_size), m.data_offset,
                          tensor);
    if (!t) continue;
    if (!tensor_names.insert(tensor).second) throw_invalid(where, "duplicate member");
    layout.tensors.push_back(std::move(*t));
  }
  std::sort(layout.tensors.begin(), layout.tensors.end(),
            [](const TensorExtent& a, const TensorExtent& b) { return a.offset < b.offset; });
  return layout;
}

}  // namespace coral::core::formats
