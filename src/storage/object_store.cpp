#include "coral/storage/object_store.hpp"

namespace coral::storage {

void WriteBatch::put_stream(const core::ObjectId& /*id*/, std::uint64_t /*raw_size*/, const Producer& produce) {
  std::vector<std::byte> bytes;
  ObjectInfo info = produce([&](std::span<const std::byte> piece) { bytes.insert(bytes.end(), piece.begin(), piece.end()); });
  info.stored_size = bytes.size();
  put(info, bytes);
}

void WriteBatch::put_replacement(const core::ObjectId& /*id*/, std::uint64_t /*raw_size*/, const Producer& /*produce*/) {}

}  // namespace coral::storage
