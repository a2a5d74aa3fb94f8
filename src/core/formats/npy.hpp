#pragma once
// The .npy parser (grammar in npy.cpp), also used by the .npz parser for its stored members.

#include "coral/core/file_layout.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace coral::core::formats {

// Parses one .npy image `data` that starts at `base_offset` in the enclosing file. Returns the
// array's extent (named `tensor_name`, offset absolute), or nullopt when the array's dtype is one
// coral does not split out (complex, object, strings, structured, ...): the image then stays
// skeleton. Throws InvalidInputError("<name>: <fault>"); `name` is the whole prefix, e.g.
// "weights.npz: member 'w.npy'".
std::optional<TensorExtent> parse_npy_at(std::string_view name, std::span<const std::byte> data,
                                         std::uint64_t base_offset, std::string_view tensor_name);

// A whole .npy file: at most one tensor, named "array".
FileLayout parse_npy(std::string_view name, std::span<const std::byte> data);

}  // namespace coral::core::formats
