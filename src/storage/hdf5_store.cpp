#include "coral/storage/hdf5_store.hpp"

#include "coral/core/error.hpp"
#include "storage/pack_catalog.hpp"
#include "storage/pack_store.hpp"

namespace coral::storage {

struct Hdf5Store::Impl : PackStore {
  using PackStore::PackStore;
};

Hdf5Store::Hdf5Store(Layout layout, Hdf5StoreOptions options)
  : m_impl(std::make_unique<Impl>(std::move(layout), std::move(options))) {}

PackObject::PackObject(std::shared_ptr<const PackReader> reader, const IndexRow& row)
  : m_reader(std::move(reader)), m_row(std::make_unique<IndexRow>(row)), m_info(row.info()) {}
PackObject::~PackObject() = default;
PackObject::PackObject(PackObject&&) noexcept = default;
PackObject& PackObject::operator=(PackObject&&) noexcept = default;

void PackObject::read(std::uint64_t offset, std::span<std::byte> out) const { m_reader->read_part(*m_row, offset, out); }

std::optional<PackObject> Hdf5Store::open_object(const core::ObjectId& id) const { return m_impl->open_object(id); }

Hdf5Store::~Hdf5Store() = default;

bool Hdf5Store::has(const core::ObjectId& id) const { return m_impl->has(id); }

std::optional<ObjectInfo> Hdf5Store::find_info(const core::ObjectId& id) const { return m_impl->find_info(id); }

ObjectRecord Hdf5Store::get(const core::ObjectId& id) const {
  std::optional<ObjectRecord> record = m_impl->find(id);
  if (!record)
    throw NotFoundError("object " + id.hex() + " not found", "pack directory " + m_impl->layout().packs_dir().string());
  return std::move(*record);
}

ObjectInfo Hdf5Store::read_stream(const core::ObjectId& id, std::size_t piece,
                                  const std::function<void(std::span<const std::byte>)>& sink) const {
  std::optional<ObjectInfo> info = m_impl->stream(id, piece, sink);
  if (!info)
    throw NotFoundError("object " + id.hex() + " not found", "pack directory " + m_impl->layout().packs_dir().string());
  return *info;
}

std::unique_ptr<WriteBatch> Hdf5Store::begin_write() { return make_pack_write_batch(*m_impl); }

void Hdf5Store::remove(std::span<const core::ObjectId> ids) { m_impl->remove(ids); }

void Hdf5Store::drop_copies(std::span<const StoredCopy> copies) { m_impl->drop_copies(copies); }

void Hdf5Store::rewrite_packs(const std::set<std::string>& packs, std::span<const StoredCopy> drop) {
  m_impl->rewrite_listed(packs, drop);
}

std::vector<StoredRecord> Hdf5Store::records() const { return m_impl->records(); }

void Hdf5Store::refresh() { m_impl->refresh(); }

bool Hdf5Store::retire_if_listed(const std::set<std::string>& added, const std::set<std::string>& required) {
  return m_impl->retire_if_listed(added, required);
}

std::map<std::string, std::size_t> Hdf5Store::left_out_records() const { return m_impl->left_out_records(); }

std::vector<ObjectInfo> Hdf5Store::list() const { return m_impl->list(); }

std::vector<std::string> Hdf5Store::list_packs() const { return m_impl->list_packs(); }

std::optional<std::string> Hdf5Store::find_pack_of(const core::ObjectId& id) const {
  return m_impl->find_pack_of(id);
}

void Hdf5Store::rebuild_lookup() { m_impl->rebuild_lookup(); }

std::vector<LookupProblem> Hdf5Store::check_lookup() const { return check_catalog(m_impl->layout()); }

}  // namespace coral::storage
