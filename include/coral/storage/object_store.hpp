#pragma once
// The object store interface: content-addressed, immutable records of encoded bytes.
//
// Storage keeps opaque encoded blobs plus their encoding id, delta base and raw size; it never
// decodes them and never knows what a commit or a tensor is. vcs decodes and verifies the hash.
// Implementations: Hdf5Store (pack files, the real one), LooseStore (one file per object, for
// small metadata objects), MemoryStore (tests). One conformance suite runs against all of them.

#include "coral/core/object_id.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace coral::storage {

struct ObjectInfo {
  core::ObjectId id;
  std::uint8_t encoding = 0;   // delta::Encoding value; opaque here
  core::ObjectId base;         // delta base, all zero when none
  std::uint64_t raw_size = 0;  // decoded size
  std::uint64_t stored_size = 0;
  bool operator==(const ObjectInfo&) const = default;
};

struct ObjectRecord {
  ObjectInfo info;
  std::vector<std::byte> data;  // encoded bytes, info.stored_size of them
};

// Objects put into a batch become visible to readers only after commit(). A batch destroyed
// without commit() leaves nothing behind but temp files (which gc removes). put() is thread-safe.
class WriteBatch {
public:
  virtual ~WriteBatch() = default;
  // Ignores an id that is already stored or already in this batch.
  virtual void put(const ObjectInfo& info, std::span<const std::byte> data) = 0;
  using PieceSink = std::function<void(std::span<const std::byte>)>;
  // Stores one object whose encoded bytes `produce` hands to its sink piece by piece, in order, so
  // they never have to be in memory whole, and then returns the object's info (stored_size is
  // taken from what was produced). `raw_size` bounds the stored size. Ignored (produce is not
  // called) when the id is already stored. Other puts into this batch wait meanwhile. When
  // `produce` throws, the batch is unusable (like a failed put). The default collects the pieces
  // and calls put().
  using Producer = std::function<ObjectInfo(const PieceSink&)>;
  virtual void put_stream(const core::ObjectId& id, std::uint64_t raw_size, const Producer& produce);
  // A second record of an object that is already stored (the same raw bytes, encoded another
  // way, e.g. as a delta against a newer object): stored unless this batch has the id already.
  // Readers may use either record until the old one is dropped. Only the pack store keeps
  // replacements; the default ignores them.
  virtual void put_replacement(const core::ObjectId& id, std::uint64_t raw_size, const Producer& produce);
  virtual void commit() = 0;
  // A hint between groups of objects (e.g. the files of an add): a store that writes containers
  // may close the current one when it holds at least min_bytes and start flushing it to disk
  // while later objects are written. The default does nothing.
  virtual void seal(std::uint64_t /*min_bytes*/) {}
};

class ObjectStore {
public:
  virtual ~ObjectStore() = default;
  virtual bool has(const core::ObjectId& id) const = 0;
  virtual std::optional<ObjectInfo> find_info(const core::ObjectId& id) const = 0;
  // Throws NotFoundError when absent, CorruptError/IoError when the container is unreadable.
  virtual ObjectRecord get(const core::ObjectId& id) const = 0;
  virtual std::unique_ptr<WriteBatch> begin_write() = 0;
  // Removes the objects (rewriting containers as needed); ids not stored are ignored.
  virtual void remove(std::span<const core::ObjectId> ids) = 0;
  // Every stored object, sorted by id.
  virtual std::vector<ObjectInfo> list() const = 0;
};

}  // namespace coral::storage
