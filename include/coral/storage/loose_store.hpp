#pragma once
// Loose objects: one small file per object under .coral/objects/<2 hex>/<30 hex>, published
// atomically. Used for metadata (trees, commits, tags) so that a commit never creates a pack.
// File grammar (docs/format.md): "CRLOOSE1" | u8 encoding | 16-byte base id | u64 raw size (LE)
// | encoded bytes.

#include "coral/storage/layout.hpp"
#include "coral/storage/object_store.hpp"

namespace coral::storage {

class LooseStore final : public ObjectStore {
public:
  explicit LooseStore(Layout layout);
  bool has(const core::ObjectId& id) const override;
  std::optional<ObjectInfo> find_info(const core::ObjectId& id) const override;
  ObjectRecord get(const core::ObjectId& id) const override;
  std::unique_ptr<WriteBatch> begin_write() override;
  void remove(std::span<const core::ObjectId> ids) override;
  // Every object file's id and size in bytes, sorted by id, without reading the files (a damaged
  // one is listed too: gc deletes it when nothing reaches it).
  std::vector<std::pair<core::ObjectId, std::uint64_t>> files() const;
  std::vector<ObjectInfo> list() const override;

private:
  Layout m_layout;
};

}  // namespace coral::storage
