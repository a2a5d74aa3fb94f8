#include "coral/core/error.hpp"
#include "storage/pack_store.hpp"

#include <mutex>
#include <set>

namespace coral::storage {
namespace {

// Objects go into temp pack files as they arrive; commit() publishes the packs and then records
// them in the lookup table. Until then no reader (in this process or another) can see them, and
// a batch destroyed without commit() removes its temp files.
class PackWriteBatch final : public WriteBatch {
public:
  explicit PackWriteBatch(PackStore& store)
    : m_store(store), m_writer(store.layout().packs_dir(), store.options().max_pack_bytes) {}

  void put(const ObjectInfo& info, std::span<const std::byte> data) override {
    std::lock_guard lock(m_mutex);
    check_usable();
    if (m_ids.count(info.id) || m_store.has(info.id)) return;
    try {
      m_writer.append(info, data);
    } catch (...) {
      m_failed = true;
      throw;
    }
    m_ids.insert(info.id);
  }

  void put_stream(const core::ObjectId& id, std::uint64_t raw_size, const Producer& produce) override {
    stream(id, raw_size, produce, false);
  }

  void put_replacement(const core::ObjectId& id, std::uint64_t raw_size, const Producer& produce) override {
    stream(id, raw_size, produce, true);
  }

  void seal(std::uint64_t min_bytes) override {
    std::lock_guard lock(m_mutex);
    check_usable();
    try {
      m_writer.seal(min_bytes);
    } catch (...) {
      m_failed = true;
      throw;
    }
  }

  void commit() override {
    std::lock_guard lock(m_mutex);
    check_usable();
    try {
      const std::vector<PublishedPack> published = m_writer.publish();
      m_store.add_packs(published);
    } catch (...) {
      m_failed = true;
      throw;
    }
    m_committed = true;
  }

private:
  void stream(const core::ObjectId& id, std::uint64_t raw_size, const Producer& produce, bool replacement) {
    std::lock_guard lock(m_mutex);
    check_usable();
    if (m_ids.count(id) || (!replacement && m_store.has(id))) return;
    try {
      m_writer.begin_object(raw_size + raw_size / 64 + 64);
      const ObjectInfo info = produce([&](std::span<const std::byte> piece) { m_writer.append_piece(piece); });
      CORAL_ASSERT(info.id == id);
      m_writer.end_object(info);
    } catch (...) {
      m_failed = true;
      throw;
    }
    m_ids.insert(id);
  }

  void check_usable() const {
    CORAL_ASSERT(!m_committed);
    if (m_failed)
      throw IoError("write batch cannot be used after a failed write",
                    "pack directory " + m_store.layout().packs_dir().string());
  }

  PackStore& m_store;
  std::mutex m_mutex;
  PackSetWriter m_writer;
  std::set<core::ObjectId> m_ids;
  bool m_committed = false;
  bool m_failed = false;
};

}  // namespace

std::unique_ptr<WriteBatch> make_pack_write_batch(PackStore& store) { return std::make_unique<PackWriteBatch>(store); }

}  // namespace coral::storage
