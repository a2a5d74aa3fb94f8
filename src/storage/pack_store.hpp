#pragma once
// The logic behind Hdf5Store (the public facade): the in-memory view of the lookup table, a
// bounded cache of open packs, reads, removal and the lookup-table update protocol.
//
// Thread-safe. Lock order: a write batch's mutex -> m_mutex -> the HDF5 lock (h5::Lock).

#include "coral/core/file_lock.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "storage/lookup_table.hpp"
#include "storage/pack_reader.hpp"
#include "storage/pack_writer.hpp"

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

namespace coral::storage {

class PackStore {
public:
  // Loads the catalog (lookup table + unlisted packs). Opens no listed pack.
  PackStore(Layout layout, Hdf5StoreOptions options);

  const Layout& layout() const noexcept { return m_layout; }
  const Hdf5StoreOptions& options() const noexcept { return m_options; }

  bool has(const core::ObjectId& id) const;
  std::optional<ObjectInfo> find_info(const core::ObjectId& id) const;
  std::optional<ObjectRecord> find(const core::ObjectId& id) const;
  std::optional<ObjectInfo> stream(const core::ObjectId& id, std::size_t piece,
                                   const std::function<void(std::span<const std::byte>)>& sink) const;
  std::vector<ObjectInfo> list() const;
  std::optional<PackObject> open_object(const core::ObjectId& id) const;
  std::vector<std::string> list_packs() const;
  std::optional<std::string> find_pack_of(const core::ObjectId& id) const;
  void remove(std::span<const core::ObjectId> ids);
  void drop_copies(std::span<const StoredCopy> copies);
  void rewrite_listed(const std::set<std::string>& packs, std::span<const StoredCopy> drop);
  std::vector<StoredRecord> records() const;
  std::map<std::string, std::size_t> left_out_records() const;
  void refresh();
  bool retire_if_listed(const std::set<std::string>& added, const std::set<std::string>& required);
  void rebuild_lookup();
  // Records freshly published packs in the lookup table (read, merge, write under the lookup
  // lock) and in this store's view.
  void add_packs(std::span<const PublishedPack> packs);

private:
  struct Located {
    std::shared_ptr<const PackReader> reader;
    const IndexRow* row = nullptr;  // points into reader->rows()
  };
  std::optional<Located> locate(const core::ObjectId& id) const;
  std::shared_ptr<const PackReader> open_pack(const std::string& name) const;  // m_mutex held
  void reload() const;                                                         // m_mutex held
  core::FileLock lock_lookup() const;
  // Writes the records of `affected` packs that are not doomed into new packs, publishes them,
  // rewrites the lookup table without the old packs and deletes those.
  void rewrite_packs(const std::set<std::string>& affected,
                     const std::function<bool(const core::ObjectId&, const std::string&)>& doomed);
  void adopt(LookupTable table);

  Layout m_layout;
  Hdf5StoreOptions m_options;
  mutable std::mutex m_mutex;
  mutable LookupTable m_table;
  mutable std::list<std::shared_ptr<const PackReader>> m_cache;  // most recently used first
};

// A WriteBatch that writes packs through a PackSetWriter and publishes them on commit().
std::unique_ptr<WriteBatch> make_pack_write_batch(PackStore& store);

}  // namespace coral::storage
