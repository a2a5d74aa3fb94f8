#pragma once
// The pack store: immutable HDF5 pack files plus a lookup table over all packs
// (docs/format.md "Packs"). The only user of HDF5 in coral; HDF5 types never leave it.

#include "coral/storage/layout.hpp"
#include "coral/storage/object_store.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <memory>
#include <string>
#include <vector>

namespace coral::storage {

class PackReader;
struct IndexRow;

// An open stored object: its record and random access to its encoded bytes. Keeps its pack open
// (a concurrent remove cannot pull the file from under it). Thread-safe.
class PackObject {
public:
  PackObject(std::shared_ptr<const PackReader> reader, const IndexRow& row);
  ~PackObject();
  PackObject(PackObject&&) noexcept;
  PackObject& operator=(PackObject&&) noexcept;
  const ObjectInfo& info() const noexcept { return m_info; }
  // Reads out.size() encoded bytes starting `offset` bytes into the object; CorruptError when the
  // range is outside the object.
  void read(std::uint64_t offset, std::span<std::byte> out) const;

private:
  std::shared_ptr<const PackReader> m_reader;
  std::unique_ptr<IndexRow> m_row;
  ObjectInfo m_info;
};

// One record of an object in one pack.
struct StoredCopy {
  core::ObjectId id;
  std::string pack;  // "pack-<hex>"
};

// One record of an object in a pack, as the pack's index has it (Hdf5Store::records).
struct StoredRecord {
  ObjectInfo info;
  std::string pack;  // "pack-<hex>"
};

// One inconsistency between the pack lookup table and the packs (Hdf5Store::check_lookup).
struct LookupProblem {
  std::string pack;                   // "pack-<hex>"; empty when the table as a whole is at fault
  std::optional<core::ObjectId> object;
  std::string message;
};

struct Hdf5StoreOptions {
  std::uint64_t max_pack_bytes = 2ull << 30;  // a write batch starts a new pack past this size
  double lock_wait_seconds = 30;              // for the short lookup-table lock
  std::string verb = "write";                 // names this process in the lookup lock ("'coral add' (pid N)")
};

// Thread-safe. Packs are opened lazily (on the first get()/find_info() of an object in them) and
// kept in a bounded cache. A WriteBatch must not outlive the store that made it; its commit()
// publishes the batch's packs, then updates the lookup table under .coral/locks/lookup.lock.
class Hdf5Store final : public ObjectStore {
public:
  // Opens the packs under layout.packs_dir(): reads the lookup table, and the index of any pack
  // the table does not list yet (a writer killed between pack and table). Opens no other pack.
  // A damaged table (checksum, size) is logged as a warning and rebuilt in memory from the packs;
  // the file itself is rewritten by the next write or by rebuild_lookup(). A table of a newer
  // format version throws CorruptError.
  explicit Hdf5Store(Layout layout, Hdf5StoreOptions options = {});
  ~Hdf5Store() override;

  bool has(const core::ObjectId& id) const override;
  std::optional<ObjectInfo> find_info(const core::ObjectId& id) const override;
  ObjectRecord get(const core::ObjectId& id) const override;
  std::unique_ptr<WriteBatch> begin_write() override;
  // Writes the survivors of every pack holding one of `ids` into new packs, publishes them,
  // rewrites the lookup table, then deletes the old packs. Objects stay readable if killed at
  // any point (at worst duplicated across packs, or removed objects back until the next remove).
  void remove(std::span<const core::ObjectId> ids) override;
  std::vector<ObjectInfo> list() const override;

  // Reads an object's stored (encoded) bytes in pieces of at most `piece` bytes into `sink`, in
  // order, so that memory does not grow with the object; returns its info. NotFoundError when
  // absent.
  ObjectInfo read_stream(const core::ObjectId& id, std::size_t piece,
                         const std::function<void(std::span<const std::byte>)>& sink) const;

  // Drops the record of each object from the named pack (rewriting the pack without it), when
  // another pack holds a record of the same object: what a replacement superseded. Crash-safe
  // like remove(); a copy that is the last one is kept.
  void drop_copies(std::span<const StoredCopy> copies);

  // Writes the records of the named packs, except those in `drop`, into new packs (bounded by
  // max_pack_bytes, so small packs are consolidated), publishes them, rewrites the lookup table
  // without the named packs and deletes them. Crash-safe like remove(): a record is readable
  // at every instant, and dropped records may come back only if killed before the deletions.
  // The caller guarantees that what it drops has another record or is no longer needed.
  void rewrite_packs(const std::set<std::string>& packs, std::span<const StoredCopy> drop);
  // Every record of every listed pack, duplicates included, sorted by (id, pack); opens each
  // pack once.
  std::vector<StoredRecord> records() const;
  // Packs with records the catalog leaves out (their delta base has no record: a killed gc's
  // leftovers, which can never decode), and how many; opens every pack. gc rewrites them.
  std::map<std::string, std::size_t> left_out_records() const;

  // The object for random access to its encoded bytes; nullopt when absent.
  std::optional<PackObject> open_object(const core::ObjectId& id) const;

  // Names ("pack-<hex>") of the published packs.
  std::vector<std::string> list_packs() const;
  // Which pack holds an object (for fsck and messages).
  std::optional<std::string> find_pack_of(const core::ObjectId& id) const;
  // Undoes the publication of `added` packs (their records are copies that are not needed, e.g.
  // after a rewrite that failed): under the lookup lock, when the table file still lists every
  // `required` pack, rewrites it without `added` and deletes them; false (nothing done) when it
  // does not. Throws IoError when the table cannot be written.
  bool retire_if_listed(const std::set<std::string>& added, const std::set<std::string>& required);
  // Reads the lookup table and the packs directory again: what other processes wrote since this
  // store was opened (gc and prune call it once they hold the gc lock).
  void refresh();
  // Rewrites the lookup table from the packs themselves (opens every pack; an unreadable pack is
  // left out with a warning). Takes the lookup lock; throws LockedError on timeout.
  void rebuild_lookup();
  // Compares the lookup table file with the packs' own indexes (opens every pack): every row's
  // pack exists and holds that object at that row, and every object of every pack is listed
  // (there or in another pack). Read-only, no lock: one problem per inconsistency.
  std::vector<LookupProblem> check_lookup() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace coral::storage
