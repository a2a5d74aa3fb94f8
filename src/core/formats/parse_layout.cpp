#include "coral/core/file_layout.hpp"

#include "coral/core/error.hpp"

namespace coral::core {

// Placeholder dispatch until the format parsers land: every file is stored whole.
FileLayout parse_layout(FileFormat format, std::string_view, std::span<const std::byte>) {
  (void)format;
  return FileLayout{};
}

}  // namespace coral::core
