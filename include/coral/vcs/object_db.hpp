#pragma once
// The object database: pack store (tensor, skeleton and whole-file objects) plus loose store
// (trees, commits, tags). Every read decodes, hashes and compares with the id: a mismatch is a
// CorruptError naming the object, never wrong data returned.

#include "coral/core/object_id.hpp"
#include "coral/storage/layout.hpp"
#include "coral/storage/object_store.hpp"
#include "coral/vcs/objects.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace coral::storage {
class Hdf5Store;
class ObjectStore;
class WriteBatch;
struct StoredCopy;
}  // namespace coral::storage

namespace coral::vcs {

struct StoreStats {
  std::uint64_t objects_written = 0;
  std::uint64_t bytes_raw = 0;     // raw bytes of the objects written
  std::uint64_t bytes_stored = 0;  // encoded bytes written
};

// Collects data objects for one pack write (vcs's chunk encoder feeds it: chunk_encoder.hpp). Every
// method is thread-safe; objects become visible at commit(). claim() tells whether an object
// still has to be stored.
class DataWriter {
public:
  DataWriter(std::unique_ptr<storage::WriteBatch> batch, storage::ObjectStore& store, int zstd_level);
  ~DataWriter();
  bool has(const core::ObjectId& id) const;
  // For callers that encode themselves: true (once) when `id` is neither stored nor claimed yet;
  // the caller must then put_encoded() it or abandon the whole batch.
  bool claim(const core::ObjectId& id);
  // Stores bytes already encoded with `encoding` (a delta::Encoding value) for a claimed id.
  void put_encoded(const core::ObjectId& id, std::uint8_t encoding, std::span<const std::byte> stored,
                   std::uint64_t raw_size, const core::ObjectId& base = {});
  // The same for bytes produced piece by piece (storage::WriteBatch::put_stream).
  void put_stream(const core::ObjectId& id, std::uint64_t raw_size,
                  const std::function<storage::ObjectInfo(const std::function<void(std::span<const std::byte>)>&)>& produce);
  // A second record of an object that is stored already (re-encoded as a delta against a newer
  // object); the pack record it supersedes is listed by superseded() for dropping after commit().
  void put_replacement(
      const core::ObjectId& id, std::uint64_t raw_size,
      const std::function<storage::ObjectInfo(const std::function<void(std::span<const std::byte>)>&)>& produce);
  std::vector<storage::StoredCopy> superseded() const;
  // Between files: lets the pack written so far be flushed to disk while the next file is
  // encoded (storage::WriteBatch::seal).
  void seal();
  int zstd_level() const noexcept;
  void commit();
  StoreStats stats() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

struct ObjectDbOptions {
  int zstd_level = 1;                          // core.compression_level
  std::uint64_t max_pack_bytes = 2ull << 30;   // pack.max_bytes
  double lock_wait_seconds = 10;               // core.lock_wait (for the lookup-table lock)
  std::string verb = "coral";                  // names this process in lock messages
};

class ObjectDb {
public:
  explicit ObjectDb(const storage::Layout& layout, const ObjectDbOptions& options = {});
  ~ObjectDb();
  const ObjectDbOptions& options() const noexcept;

  // Data objects (pack store).
  bool has_data(const core::ObjectId& id) const;
  std::vector<std::byte> read_data(const core::ObjectId& id) const;  // decoded and verified
  // Decodes in pieces into `sink` while hashing; throws CorruptError after the last piece when the
  // hash does not match (so a caller writing a temp file must not publish it then).
  void stream_data(const core::ObjectId& id, const std::function<void(std::span<const std::byte>)>& sink) const;
  std::unique_ptr<DataWriter> begin_data();
  // Drops pack records superseded by replacements (DataWriter::superseded(), after its commit()).
  // Best effort: a failure is logged and leaves both records, which stay valid.
  void drop_superseded(std::span<const storage::StoredCopy> copies);
  storage::Hdf5Store& data_store();
  const storage::Hdf5Store& data_store() const;
  // Delta steps from the object to a self-contained one (0 for none); nullopt when not stored.
  std::optional<unsigned> delta_depth(const core::ObjectId& id) const;

  // Metadata objects (loose store): canonical JSON, written durably before anything names them.
  core::ObjectId write_metadata(const std::string& json);
  std::string read_metadata(const core::ObjectId& id) const;  // verified; NotFoundError if absent
  bool has_metadata(const core::ObjectId& id) const;
  // Ids of metadata objects whose hex starts with `prefix` (>= 4 hex digits).
  std::vector<core::ObjectId> find_metadata_by_prefix(std::string_view prefix) const;

  // Forgets what was read of the packs' catalog and the pruned marker: for a process that has
  // just taken the gc lock, after other processes wrote.
  void refresh();
  // Every metadata object's id with stored_size = its file's size (sorted; the files are not
  // read, so a damaged one is listed too), and removal of some (gc).
  std::vector<storage::ObjectInfo> list_metadata() const;
  void remove_metadata(std::span<const core::ObjectId> ids);

  Tree read_tree(const core::ObjectId& id) const;
  // CorruptError when not a commit; Commit::pruned is set from the pruned marker (pruned.hpp).
  Commit read_commit(const core::ObjectId& id) const;
  // The tree of a commit whose data is about to be read (checkout, diff, merge): NotFoundError
  // (exit 3) saying so when prune dropped the commit's data.
  Tree read_data_tree(const core::ObjectId& commit) const;
  // The commits prune marked (read once, then cached; mark_pruned() updates both).
  const std::set<core::ObjectId>& pruned() const;
  // Adds commits to the pruned marker (durably, before returning). The caller holds the gc lock
  // exclusively.
  void mark_pruned(const std::set<core::ObjectId>& ids);
  // The same in this process's view only (prune --dry-run --gc plans with it), until
  // forget_pruned() makes the next read load the marker again.
  void assume_pruned(const std::set<core::ObjectId>& ids);
  void forget_pruned();
  core::ObjectId write_tree(const Tree& tree);
  core::ObjectId write_commit(Commit& commit);  // sets commit.id

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace coral::vcs
