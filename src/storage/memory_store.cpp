#include "coral/storage/memory_store.hpp"

#include "coral/core/error.hpp"

namespace coral::storage {

// Holds its objects until commit(), then adds them to the store under its mutex.
class MemoryWriteBatch final : public WriteBatch {
public:
  explicit MemoryWriteBatch(MemoryStore& store) : m_store(store) {}

  void put(const ObjectInfo& info, std::span<const std::byte> data) override {
    std::lock_guard lock(m_mutex);
    CORAL_ASSERT(!m_committed);
    if (m_pending.count(info.id) || m_store.has(info.id)) return;
    ObjectRecord record{info, {data.begin(), data.end()}};
    record.info.stored_size = data.size();
    m_pending.emplace(info.id, std::move(record));
  }

  void commit() override {
    std::lock_guard lock(m_mutex);
    CORAL_ASSERT(!m_committed);
    std::lock_guard store_lock(m_store.m_mutex);
    m_store.m_objects.merge(m_pending);  // ids already present stay as they are
    m_pending.clear();
    m_committed = true;
  }

private:
  MemoryStore& m_store;
  std::mutex m_mutex;
  std::map<core::ObjectId, ObjectRecord> m_pending;
  bool m_committed = false;
};

bool MemoryStore::has(const core::ObjectId& id) const {
  std::lock_guard lock(m_mutex);
  return m_objects.count(id) != 0;
}

std::optional<ObjectInfo> MemoryStore::find_info(const core::ObjectId& id) const {
  std::lock_guard lock(m_mutex);
  const auto it = m_objects.find(id);
  if (it == m_objects.end()) return std::nullopt;
  return it->second.info;
}

ObjectRecord MemoryStore::get(const core::ObjectId& id) const {
  std::lock_guard lock(m_mutex);
  const auto it = m_objects.find(id);
  if (it == m_objects.end()) throw NotFoundError("object " + id.hex() + " not found", "memory store");
  return it->second;
}

std::unique_ptr<WriteBatch> MemoryStore::begin_write() { return std::make_unique<MemoryWriteBatch>(*this); }

void MemoryStore::remove(std::span<const core::ObjectId> ids) {
  std::lock_guard lock(m_mutex);
  for (const core::ObjectId& id : ids) m_objects.erase(id);
}

std::vector<ObjectInfo> MemoryStore::list() const {
  std::lock_guard lock(m_mutex);
  std::vector<ObjectInfo> out;
  out.reserve(m_objects.size());
  for (const auto& [id, record] : m_objects) out.push_back(record.info);
  return out;
}

}  // namespace coral::storage
