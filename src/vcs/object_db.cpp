#include "coral/vcs/object_db.hpp"

#include "chunk_source.hpp"
#include "coral/core/error.hpp"
#include "coral/core/log.hpp"
#include "coral/delta/codec.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/storage/loose_store.hpp"
#include "pruned.hpp"

#include <atomic>
#include <filesystem>
#include <mutex>
#include <unordered_set>

namespace coral::vcs {
namespace {

std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

constexpr const char* k_fsck_hint = "run 'coral fsck' to check the repository";

delta::Encoding known_encoding(const storage::ObjectInfo& info) {
  if (!delta::is_known_encoding(info.encoding))
    throw CorruptError("object " + info.id.hex() + " has unknown encoding " + std::to_string(info.encoding), {},
                       "this repository may have been written by a newer coral");
  return static_cast<delta::Encoding>(info.encoding);
}

// Runs a decode, naming the object in any corruption it reports, then checks the decoded bytes'
// hash against the id (DESIGN.md §3).
template <typename Decode>
void verified(const core::ObjectId& id, core::Hasher& hasher, Decode&& decode) {
  try {
    decode();
  } catch (const CorruptError& e) {
    if (std::string_view(e.what()).find(id.hex()) != std::string_view::npos) throw;
    throw CorruptError("object " + id.hex() + " is corrupt: " + e.what(), e.detail(), k_fsck_hint);
  }
  if (hasher.digest() != id)
    throw CorruptError("object " + id.hex() + " is corrupt: its content does not match its id", {}, k_fsck_hint);
}

std::vector<std::byte> decode_verified(const storage::ObjectRecord& rec, const core::ObjectId& id) {
  std::vector<std::byte> raw;
  core::Hasher hasher;
  verified(id, hasher, [&] {
    raw = delta::decode(known_encoding(rec.info), rec.data, rec.info.raw_size);
    hasher.update(raw);
  });
  return raw;
}

}  // namespace

// ---- DataWriter -------------------------------------------------------------------------------

struct DataWriter::Impl {
  std::unique_ptr<storage::WriteBatch> batch;
  storage::ObjectStore* store = nullptr;
  int zstd_level = 1;
  std::mutex mutex;
  std::unordered_set<core::ObjectId, core::ObjectIdHash> seen;
  std::vector<storage::StoredCopy> superseded;
  std::atomic<std::uint64_t> objects{0}, raw{0}, stored{0};
};

DataWriter::DataWriter(std::unique_ptr<storage::WriteBatch> batch, storage::ObjectStore& store, int zstd_level)
  : m_impl(std::make_unique<Impl>()) {
  m_impl->batch = std::move(batch);
  m_impl->store = &store;
  m_impl->zstd_level = zstd_level;
}

DataWriter::~DataWriter() = default;

bool DataWriter::has(const core::ObjectId& id) const {
  {
    std::lock_guard lock(m_impl->mutex);
    if (m_impl->seen.count(id)) return true;
  }
  return m_impl->store->has(id);
}

bool DataWriter::claim(const core::ObjectId& id) {
  {
    std::lock_guard lock(m_impl->mutex);
    if (!m_impl->seen.insert(id).second) return false;
  }
  return !m_impl->store->has(id);
}

void DataWriter::put_encoded(const core::ObjectId& id, std::uint8_t encoding, std::span<const std::byte> stored,
                             std::uint64_t raw_size, const core::ObjectId& base) {
  storage::ObjectInfo info;
  info.id = id;
  info.encoding = encoding;
  info.base = base;
  info.raw_size = raw_size;
  info.stored_size = stored.size();
  m_impl->batch->put(info, stored);
  m_impl->objects += 1;
  m_impl->raw += raw_size;
  m_impl->stored += stored.size();
}

void DataWriter::put_stream(
    const core::ObjectId& id, std::uint64_t raw_size,
    const std::function<storage::ObjectInfo(const std::function<void(std::span<const std::byte>)>&)>& produce) {
  std::uint64_t stored = 0;
  m_impl->batch->put_stream(id, raw_size, [&](const storage::WriteBatch::PieceSink& sink) {
    return produce([&](std::span<const std::byte> piece) {
      stored += piece.size();
      sink(piece);
    });
  });
  m_impl->objects += 1;
  m_impl->raw += raw_size;
  m_impl->stored += stored;
}

void DataWriter::put_replacement(
    const core::ObjectId& id, std::uint64_t raw_size,
    const std::function<storage::ObjectInfo(const std::function<void(std::span<const std::byte>)>&)>& produce) {
  auto* packs = dynamic_cast<storage::Hdf5Store*>(m_impl->store);
  const auto old_pack = packs ? packs->find_pack_of(id) : std::nullopt;
  if (!old_pack) return;
  {
    std::lock_guard lock(m_impl->mutex);
    if (!m_impl->seen.insert(id).second) return;
  }
  std::uint64_t stored = 0;
  m_impl->batch->put_replacement(id, raw_size, [&](const storage::WriteBatch::PieceSink& sink) {
    return produce([&](std::span<const std::byte> piece) {
      stored += piece.size();
      sink(piece);
    });
  });
  m_impl->stored += stored;
  std::lock_guard lock(m_impl->mutex);
  m_impl->superseded.push_back({id, *old_pack});
}

std::vector<storage::StoredCopy> DataWriter::superseded() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->superseded;
}

int DataWriter::zstd_level() const noexcept { return m_impl->zstd_level; }

void DataWriter::commit() { m_impl->batch->commit(); }

// Packs smaller than this are not worth a file of their own.
constexpr std::uint64_t k_seal_bytes = 32ull << 20;

void DataWriter::seal() { m_impl->batch->seal(k_seal_bytes); }

StoreStats DataWriter::stats() const {
  return {m_impl->objects.load(), m_impl->raw.load(), m_impl->stored.load()};
}

// ---- ObjectDb ---------------------------------------------------------------------------------

struct ObjectDb::Impl {
  storage::Hdf5Store packs;
  storage::LooseStore loose;
  storage::Layout layout;
  ObjectDbOptions options;
  int zstd_level;
  std::mutex pruned_mutex;
  std::optional<std::set<core::ObjectId>> pruned;  // loaded on first use
  Impl(const storage::Layout& l, const ObjectDbOptions& o)
    : packs(l, {.max_pack_bytes = o.max_pack_bytes, .lock_wait_seconds = o.lock_wait_seconds, .verb = o.verb}),
      loose(l), layout(l), options(o), zstd_level(o.zstd_level) {}
};

ObjectDb::ObjectDb(const storage::Layout& layout, const ObjectDbOptions& options)
  : m_impl(std::make_unique<Impl>(layout, options)) {}

ObjectDb::~ObjectDb() = default;

const ObjectDbOptions& ObjectDb::options() const noexcept { return m_impl->options; }

bool ObjectDb::has_data(const core::ObjectId& id) const { return m_impl->packs.has(id); }

namespace {

storage::ObjectRecord get_present(const storage::ObjectStore& store, const core::ObjectId& id) {
  try {
    return store.get(id);
  } catch (const NotFoundError&) {
    throw CorruptError("object " + id.hex() + " is missing", {}, k_fsck_hint);
  }
}

}  // namespace

std::vector<std::byte> ObjectDb::read_data(const core::ObjectId& id) const {
  const auto info = m_impl->packs.find_info(id);
  if (!info || info->encoding != static_cast<std::uint8_t>(delta::Encoding::chunks))
    return decode_verified(get_present(m_impl->packs, id), id);
  std::vector<std::byte> out;
  out.reserve(static_cast<std::size_t>(info->raw_size));
  stream_data(id, [&](std::span<const std::byte> piece) { out.insert(out.end(), piece.begin(), piece.end()); });
  return out;
}

void ObjectDb::stream_data(const core::ObjectId& id, const std::function<void(std::span<const std::byte>)>& sink) const {
  constexpr std::size_t k_read_piece = 4u << 20;
  const auto info = m_impl->packs.find_info(id);
  if (!info) throw CorruptError("object " + id.hex() + " is missing", {}, k_fsck_hint);
  core::Hasher hasher;
  if (info->encoding == static_cast<std::uint8_t>(delta::Encoding::chunks)) {
    verified(id, hasher, [&] {
      const auto source = ChunkSource::open(m_impl->packs, id);
      if (!source) throw CorruptError("object " + id.hex() + " is missing", {}, k_fsck_hint);
      thread_local std::vector<std::byte> buffer;  // reused: a fresh 4 MiB buffer per object costs page faults
      for (std::uint64_t i = 0; i < source->chunk_count(); ++i) {
        const std::size_t size = source->chunk_size(i);
        if (buffer.size() < size) buffer.resize(size);
        const std::span<std::byte> chunk(buffer.data(), size);
        source->read_chunk(i, chunk);
        hasher.update(chunk);
        sink(chunk);
      }
    });
    return;
  }
  verified(id, hasher, [&] {
    delta::StreamDecoder decoder(known_encoding(*info), info->raw_size, [&](std::span<const std::byte> piece) {
      hasher.update(piece);
      sink(piece);
    });
    m_impl->packs.read_stream(id, k_read_piece, [&](std::span<const std::byte> stored) { decoder.feed(stored); });
    decoder.finish();
  });
}

std::unique_ptr<DataWriter> ObjectDb::begin_data() {
  return std::make_unique<DataWriter>(m_impl->packs.begin_write(), m_impl->packs, m_impl->zstd_level);
}

void ObjectDb::drop_superseded(std::span<const storage::StoredCopy> copies) {
  if (copies.empty()) return;
  try {
    m_impl->packs.drop_copies(copies);
  } catch (const Error& e) {
    core::log().warn("could not drop {} superseded object records (they stay, still valid): {}", copies.size(),
                     e.what());
  }
}

storage::Hdf5Store& ObjectDb::data_store() { return m_impl->packs; }
const storage::Hdf5Store& ObjectDb::data_store() const { return m_impl->packs; }

std::optional<unsigned> ObjectDb::delta_depth(const core::ObjectId& id) const {
  auto info = m_impl->packs.find_info(id);
  if (!info) return std::nullopt;
  unsigned depth = 0;
  while (!info->base.is_zero()) {
    if (++depth > ChunkSource::k_max_depth)
      throw CorruptError("object " + id.hex() + " is corrupt: delta chain longer than " +
                         std::to_string(ChunkSource::k_max_depth), {}, k_fsck_hint);
    const core::ObjectId base = info->base;
    info = m_impl->packs.find_info(base);
    if (!info) throw CorruptError("object " + id.hex() + " is corrupt: its delta base " + base.hex() + " is missing", {}, k_fsck_hint);
  }
  return depth;
}

core::ObjectId ObjectDb::write_metadata(const std::string& json) {
  const auto id = core::hash_bytes(std::string_view(json));
  if (m_impl->loose.has(id)) return id;
  const auto enc = delta::encode(as_bytes(json), core::DType::u8, {.zstd_level = 3});
  storage::ObjectInfo info;
  info.id = id;
  info.encoding = static_cast<std::uint8_t>(enc.encoding);
  info.raw_size = json.size();
  info.stored_size = enc.bytes.size();
  auto batch = m_impl->loose.begin_write();
  batch->put(info, enc.bytes);
  batch->commit();
  return id;
}

std::string ObjectDb::read_metadata(const core::ObjectId& id) const {
  const auto raw = decode_verified(m_impl->loose.get(id), id);
  return {reinterpret_cast<const char*>(raw.data()), raw.size()};
}

bool ObjectDb::has_metadata(const core::ObjectId& id) const { return m_impl->loose.has(id); }

std::vector<core::ObjectId> ObjectDb::find_metadata_by_prefix(std::string_view prefix) const {
  std::vector<core::ObjectId> out;
  if (prefix.size() < 2) return out;
  const auto dir = m_impl->layout.objects_dir() / std::string(prefix.substr(0, 2));
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string hex = std::string(prefix.substr(0, 2)) + e.path().filename().string();
    if (hex.size() != 32 || hex.compare(0, prefix.size(), prefix) != 0) continue;
    if (auto id = core::ObjectId::from_hex(hex)) out.push_back(*id);
  }
  return out;
}

Tree ObjectDb::read_tree(const core::ObjectId& id) const { return decode_tree(read_metadata(id), id); }

Commit ObjectDb::read_commit(const core::ObjectId& id) const {
  Commit c = decode_commit(read_metadata(id), id);
  c.pruned = pruned().contains(id);
  return c;
}

Tree ObjectDb::read_data_tree(const core::ObjectId& commit) const {
  const Commit c = read_commit(commit);
  if (c.pruned)
    throw NotFoundError("the data of commit " + commit.hex().substr(0, 12) + " was pruned", {},
                        "its message and metrics stay in 'coral log'; check out a commit that was kept");
  return read_tree(c.tree);
}

const std::set<core::ObjectId>& ObjectDb::pruned() const {
  std::lock_guard lock(m_impl->pruned_mutex);
  if (!m_impl->pruned) m_impl->pruned = read_pruned(m_impl->layout);
  return *m_impl->pruned;
}

void ObjectDb::mark_pruned(const std::set<core::ObjectId>& ids) {
  std::set<core::ObjectId> all = read_pruned(m_impl->layout);  // fresh: another process may have added some
  all.insert(ids.begin(), ids.end());
  write_pruned(m_impl->layout, all);
  std::lock_guard lock(m_impl->pruned_mutex);
  m_impl->pruned = std::move(all);
}

void ObjectDb::assume_pruned(const std::set<core::ObjectId>& ids) {
  std::set<core::ObjectId> all = pruned();
  all.insert(ids.begin(), ids.end());
  std::lock_guard lock(m_impl->pruned_mutex);
  m_impl->pruned = std::move(all);
}

void ObjectDb::refresh() {
  m_impl->packs.refresh();
  forget_pruned();
}

void ObjectDb::forget_pruned() {
  std::lock_guard lock(m_impl->pruned_mutex);
  m_impl->pruned.reset();
}

std::vector<storage::ObjectInfo> ObjectDb::list_metadata() const {
  std::vector<storage::ObjectInfo> out;
  for (const auto& [id, size] : m_impl->loose.files()) {
    storage::ObjectInfo info;
    info.id = id;
    info.stored_size = size;
    out.push_back(info);
  }
  return out;
}

void ObjectDb::remove_metadata(std::span<const core::ObjectId> ids) { m_impl->loose.remove(ids); }

core::ObjectId ObjectDb::write_tree(const Tree& tree) { return write_metadata(encode_tree(tree)); }

core::ObjectId ObjectDb::write_commit(Commit& commit) {
  commit.id = write_metadata(encode_commit(commit));
  return commit.id;
}

}  // namespace coral::vcs
