#pragma once
// The safetensors parser (grammar in safetensors.cpp).

#include "coral/core/file_layout.hpp"

#include <span>
#include <string_view>

namespace coral::core::formats {

// Parses a whole .safetensors file image; throws InvalidInputError("<name>: <fault>").
FileLayout parse_safetensors(std::string_view name, std::span<const std::byte> data);

}  // namespace coral::core::formats
