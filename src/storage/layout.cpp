#include "coral/storage/layout.hpp"

namespace coral::storage {

std::filesystem::path Layout::loose_object(const core::ObjectId& id) const {
  const std::string hex = id.hex();
  return objects_dir() / hex.substr(0, 2) / hex.substr(2);
}

}  // namespace coral::storage
