#pragma once
// An in-memory ObjectStore for tests.

#include "coral/storage/object_store.hpp"

#include <map>
#include <mutex>

namespace coral::storage {

class MemoryStore final : public ObjectStore {
public:
  bool has(const core::ObjectId& id) const override;
  std::optional<ObjectInfo> find_info(const core::ObjectId& id) const override;
  ObjectRecord get(const core::ObjectId& id) const override;
  std::unique_ptr<WriteBatch> begin_write() override;
  void remove(std::span<const core::ObjectId> ids) override;
  std::vector<ObjectInfo> list() const override;

private:
  friend class MemoryWriteBatch;
  mutable std::mutex m_mutex;
  std::map<core::ObjectId, ObjectRecord> m_objects;
};

}  // namespace coral::storage
