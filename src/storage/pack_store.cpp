#include "storage/pack_store.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"
#include "storage/pack_catalog.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace coral::storage {
namespace {

// Open packs kept per store (file handle, /data handle and the loaded index rows each).
constexpr std::size_t k_pack_cache_size = 32;

}  // namespace

PackStore::PackStore(Layout layout, Hdf5StoreOptions options)
  : m_layout(std::move(layout)), m_options(std::move(options)), m_table(load_catalog(m_layout, CatalogMode::reader)) {
  core::log().debug("opened pack store {}: {} packs, {} lookup entries", m_layout.packs_dir().string(),
                    m_table.packs().size(), m_table.entries().size());
}

bool PackStore::has(const core::ObjectId& id) const {
  std::lock_guard lock(m_mutex);
  return !m_table.find(id).empty();
}

std::shared_ptr<const PackReader> PackStore::open_pack(const std::string& name) const {
  for (auto it = m_cache.begin(); it != m_cache.end(); ++it) {
    if ((*it)->name() != name) continue;
    m_cache.splice(m_cache.begin(), m_cache, it);
    return m_cache.front();
  }
  auto reader = std::make_shared<const PackReader>(m_layout.pack(name), name);
  m_cache.push_front(reader);
  if (m_cache.size() > k_pack_cache_size) m_cache.pop_back();
  return reader;
}

void PackStore::reload() const {
  m_table = load_catalog(m_layout, CatalogMode::reader);
  m_cache.clear();
}

std::optional<PackStore::Located> PackStore::locate(const core::ObjectId& id) const {
  std::lock_guard lock(m_mutex);
  std::string missing;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::span<const LookupEntry> entries = m_table.find(id);
    if (entries.empty()) return std::nullopt;
    for (const LookupEntry& entry : entries) {
      const std::string& name = m_table.packs()[entry.pack];
      try {
        auto reader = open_pack(name);
        const IndexRow& row = reader->row_for(id, entry.row);
        return Located{std::move(reader), &row};
      } catch (const NotFoundError&) {
        missing = name;  // deleted by a concurrent remove; try another copy
      } catch (const CorruptError& e) {
        std::string message = e.what();
        if (message.find(id.hex()) == std::string::npos) message += " (reading object " + id.hex() + ")";
        throw CorruptError(message, e.detail(),
                           e.hint().empty() ? "run 'coral fsck' to find the damaged objects" : e.hint());
      }
    }
    // Every pack listed for the object is gone: another process rewrote them. Look again.
    core::log().debug("packs holding {} are gone; reloading the pack catalog", id.hex());
    reload();
  }
  throw CorruptError("pack '" + missing + "' holding object " + id.hex() + " is missing",
                     "directory " + m_layout.packs_dir().string(), "run 'coral fsck'");
}

std::optional<ObjectInfo> PackStore::find_info(const core::ObjectId& id) const {
  const auto located = locate(id);
  if (!located) return std::nullopt;
  return located->row->info();
}

std::optional<ObjectRecord> PackStore::find(const core::ObjectId& id) const {
  const auto located = locate(id);
  if (!located) return std::nullopt;
  return ObjectRecord{located->row->info(), located->reader->read(*located->row)};
}

std::optional<ObjectInfo> PackStore::stream(const core::ObjectId& id, std::size_t piece,
                                            const std::function<void(std::span<const std::byte>)>& sink) const {
  const auto located = locate(id);
  if (!located) return std::nullopt;
  located->reader->read_pieces(*located->row, piece, sink);
  return located->row->info();
}

std::optional<PackObject> PackStore::open_object(const core::ObjectId& id) const {
  auto located = locate(id);
  if (!located) return std::nullopt;
  return PackObject(std::move(located->reader), *located->row);
}

std::vector<ObjectInfo> PackStore::list() const {
  std::lock_guard lock(m_mutex);
  for (int attempt = 0;; ++attempt) {
    const std::vector<LookupEntry>& entries = m_table.entries();
    // The first entry of each id, grouped by pack so that each pack is opened once.
    std::vector<std::vector<std::size_t>> by_pack(m_table.packs().size());
    std::size_t count = 0;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (i == 0 || entries[i].id != entries[i - 1].id) by_pack[entries[i].pack].push_back(i);
    std::vector<ObjectInfo> out(entries.size());
    try {
      for (std::size_t p = 0; p < by_pack.size(); ++p) {
        if (by_pack[p].empty()) continue;
        const auto reader = open_pack(m_table.packs()[p]);
        for (std::size_t i : by_pack[p]) {
          out[i] = reader->row_for(entries[i].id, entries[i].row).info();
          ++count;
        }
      }
    } catch (const NotFoundError&) {
      if (attempt > 0) throw;
      reload();  // a concurrent remove deleted a pack
      continue;
    }
    // Drop the slots of duplicate entries; `out` is in id order already.
    std::vector<ObjectInfo> result;
    result.reserve(count);
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (i == 0 || entries[i].id != entries[i - 1].id) result.push_back(std::move(out[i]));
    return result;
  }
}

std::vector<std::string> PackStore::list_packs() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> names = m_table.packs();
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> PackStore::find_pack_of(const core::ObjectId& id) const {
  std::lock_guard lock(m_mutex);
  const auto entries = m_table.find(id);
  if (entries.empty()) return std::nullopt;
  return m_table.packs()[entries.front().pack];
}

core::FileLock PackStore::lock_lookup() const {
  core::fs::create_directories_durable(m_layout.locks_dir());
  return core::FileLock::acquire(m_layout.lock("lookup"), core::LockMode::exclusive, m_options.lock_wait_seconds,
                                 "pack lookup table", m_options.verb);
}

void PackStore::adopt(LookupTable table) {
  std::lock_guard lock(m_mutex);
  m_table = std::move(table);
  m_cache.remove_if([&](const auto& reader) { return !m_table.has_pack(reader->name()); });
}

void PackStore::add_packs(std::span<const PublishedPack> packs) {
  if (packs.empty()) return;
  const core::FileLock lock = lock_lookup();
  LookupTable table = load_catalog(m_layout, CatalogMode::writer, packs);
  for (const PublishedPack& pack : packs) table.add_pack(pack.name, pack.rows);
  write_lookup_file(m_layout.lookup(), table);
  core::log().debug("lookup table now lists {} packs, {} entries", table.packs().size(), table.entries().size());
  adopt(std::move(table));
}

void PackStore::remove(std::span<const core::ObjectId> ids) {
  const std::set<core::ObjectId> doomed(ids.begin(), ids.end());
  const LookupTable plan = load_catalog(m_layout, CatalogMode::reader);
  std::set<std::string> affected;
  for (const core::ObjectId& id : doomed)
    for (const LookupEntry& entry : plan.find(id)) affected.insert(plan.packs()[entry.pack]);
  rewrite_packs(affected, [&](const core::ObjectId& id, const std::string&) { return doomed.count(id) != 0; });
  core::log().debug("removed {} objects: rewrote {} packs", doomed.size(), affected.size());
}

void PackStore::drop_copies(std::span<const StoredCopy> copies) {
  const LookupTable plan = load_catalog(m_layout, CatalogMode::reader);
  // A copy goes only when the object has a record in a pack that stays.
  std::set<std::pair<core::ObjectId, std::string>> doomed;
  std::set<std::string> affected;
  for (const StoredCopy& c : copies) {
    bool elsewhere = false, here = false;
    for (const LookupEntry& entry : plan.find(c.id)) (plan.packs()[entry.pack] == c.pack ? here : elsewhere) = true;
    if (here && elsewhere) {
      doomed.emplace(c.id, c.pack);
      affected.insert(c.pack);
    }
  }
  // A pack is rewritten only when the dropped records are at least half of its data: rewriting a
  // pack of frozen tensors to drop a small superseded record would cost far more than it saves
  // (the record stays, valid, until a repack).
  for (auto it = affected.begin(); it != affected.end();) {
    const PackReader reader(m_layout.pack(*it), *it);
    std::uint64_t dropped = 0;
    for (const IndexRow& row : reader.rows())
      if (doomed.count({row.id, *it})) dropped += row.length;
    if (2 * dropped >= reader.data_size()) {
      ++it;
      continue;
    }
    for (auto d = doomed.begin(); d != doomed.end();) d = d->second == *it ? doomed.erase(d) : std::next(d);
    it = affected.erase(it);
  }
  // Packs rewritten here must not hold the only copy of something doomed elsewhere.
  for (auto it = doomed.begin(); it != doomed.end();) {
    bool safe = false;
    for (const LookupEntry& entry : plan.find(it->first)) safe = safe || !affected.count(plan.packs()[entry.pack]);
    it = safe ? std::next(it) : doomed.erase(it);
  }
  rewrite_packs(affected, [&](const core::ObjectId& id, const std::string& pack) { return doomed.count({id, pack}) != 0; });
  core::log().debug("dropped {} superseded copies from {} packs", doomed.size(), affected.size());
}

void PackStore::rewrite_listed(const std::set<std::string>& packs, std::span<const StoredCopy> drop) {
  std::set<std::pair<core::ObjectId, std::string>> doomed;
  for (const StoredCopy& c : drop) doomed.emplace(c.id, c.pack);
  rewrite_packs(packs, [&](const core::ObjectId& id, const std::string& pack) { return doomed.count({id, pack}) != 0; });
  core::log().debug("rewrote {} packs, dropping {} records", packs.size(), doomed.size());
}

bool PackStore::retire_if_listed(const std::set<std::string>& added, const std::set<std::string>& required) {
  if (added.empty()) return true;
  const core::FileLock lock = lock_lookup();
  std::optional<LookupTable> table = read_lookup_file(m_layout);
  if (!table) return false;
  for (const std::string& name : required)
    if (!table->has_pack(name)) return false;
  table->remove_packs(added);
  write_lookup_file(m_layout.lookup(), *table);
  for (const std::string& name : added) {
    std::error_code ec;
    std::filesystem::remove(m_layout.pack(name), ec);
    if (ec) throw IoError("cannot delete pack '" + name + "': " + ec.message(), "file " + m_layout.pack(name).string());
  }
  core::fs::fsync_dir(m_layout.packs_dir());
  adopt(load_catalog(m_layout, CatalogMode::writer));
  return true;
}

void PackStore::refresh() {
  std::lock_guard lock(m_mutex);
  reload();
}

std::map<std::string, std::size_t> PackStore::left_out_records() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::size_t> listed(m_table.packs().size(), 0);
  for (const LookupEntry& e : m_table.entries()) ++listed[e.pack];
  std::map<std::string, std::size_t> out;
  for (std::size_t p = 0; p < listed.size(); ++p) {
    const std::size_t rows = open_pack(m_table.packs()[p])->rows().size();
    if (rows > listed[p]) out[m_table.packs()[p]] = rows - listed[p];
  }
  return out;
}

std::vector<StoredRecord> PackStore::records() const {
  std::lock_guard lock(m_mutex);
  for (int attempt = 0;; ++attempt) {
    std::vector<StoredRecord> out;
    out.reserve(m_table.entries().size());
    try {
      std::vector<std::vector<const LookupEntry*>> by_pack(m_table.packs().size());
      for (const LookupEntry& entry : m_table.entries()) by_pack[entry.pack].push_back(&entry);
      for (std::size_t p = 0; p < by_pack.size(); ++p) {
        if (by_pack[p].empty()) continue;
        const auto reader = open_pack(m_table.packs()[p]);
        for (const LookupEntry* entry : by_pack[p])
          out.push_back({reader->row_for(entry->id, entry->row).info(), m_table.packs()[p]});
      }
    } catch (const NotFoundError&) {
      if (attempt > 0) throw;
      reload();  // a concurrent remove deleted a pack
      continue;
    }
    std::sort(out.begin(), out.end(), [](const StoredRecord& a, const StoredRecord& b) {
      return a.info.id != b.info.id ? a.info.id < b.info.id : a.pack < b.pack;
    });
    return out;
  }
}

void PackStore::rewrite_packs(const std::set<std::string>& affected,
                              const std::function<bool(const core::ObjectId&, const std::string&)>& doomed) {
  if (affected.empty()) return;
  // 1. Write the survivors of every affected pack into new packs and publish them: the records the
  // catalog lists (not those it leaves out because their base is gone) that are not doomed.
  const LookupTable listed = load_catalog(m_layout, CatalogMode::reader);
  std::map<std::string, std::set<std::uint32_t>> listed_rows;
  for (const LookupEntry& e : listed.entries())
    if (affected.contains(listed.packs()[e.pack])) listed_rows[listed.packs()[e.pack]].insert(e.row);
  PackSetWriter writer(m_layout.packs_dir(), m_options.max_pack_bytes);
  std::set<core::ObjectId> kept;
  for (const std::string& name : affected) {
    const PackReader reader(m_layout.pack(name), name);
    const std::set<std::uint32_t>& rows = listed_rows[name];
    for (std::size_t i = 0; i < reader.rows().size(); ++i) {
      const IndexRow& row = reader.rows()[i];
      if (!rows.contains(static_cast<std::uint32_t>(i)) || doomed(row.id, name) || !kept.insert(row.id).second)
        continue;
      // Copied in pieces: memory does not grow with the object.
      writer.begin_object(row.length);
      reader.read_pieces(row, 4u << 20, [&](std::span<const std::byte> piece) { writer.append_piece(piece); });
      writer.end_object(row.info());
    }
  }
  const std::vector<PublishedPack> published = writer.publish();

  // 2. Rewrite the lookup table without the old packs, 3. delete them. Deleting under the lock
  // keeps a concurrent writer's merge from taking an old pack for an unlisted one.
  const core::FileLock lock = lock_lookup();
  LookupTable table = load_catalog(m_layout, CatalogMode::writer, published);
  table.remove_packs(affected);
  for (const PublishedPack& pack : published) table.add_pack(pack.name, pack.rows);
  write_lookup_file(m_layout.lookup(), table);
  for (const std::string& name : affected) {
    // A rewrite that came out identical to a pack it rewrote has that pack's name: keep it.
    if (std::any_of(published.begin(), published.end(), [&](const PublishedPack& p) { return p.name == name; }))
      continue;
    std::error_code ec;
    std::filesystem::remove(m_layout.pack(name), ec);
    if (ec) throw IoError("cannot delete pack '" + name + "': " + ec.message(), "file " + m_layout.pack(name).string());
  }
  core::fs::fsync_dir(m_layout.packs_dir());
  adopt(std::move(table));
}

void PackStore::rebuild_lookup() {
  const core::FileLock lock = lock_lookup();
  LookupTable table = rebuild_catalog(m_layout);
  core::fs::create_directories_durable(m_layout.packs_dir());
  write_lookup_file(m_layout.lookup(), table);
  adopt(std::move(table));
}

}  // namespace coral::storage
