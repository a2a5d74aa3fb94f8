#pragma once
// The .npz parser (grammar in npz.cpp).

#include "coral/core/file_layout.hpp"

#include <span>
#include <string_view>

namespace coral::core::formats {

// Parses a whole .npz file image; throws InvalidInputError("<name>: <fault>").
FileLayout parse_npz(std::string_view name, std::span<const std::byte> data);

}  // namespace coral::core::formats
