#pragma once
// Random access to the decoded chunks of a stored data object, following its delta base chain
// (DESIGN.md §5, docs/format.md "Chunked objects").
//
// Bytes decoded here are not hash-checked: a reader of a whole object hashes what comes out
// (ObjectDb::stream_data), and an encoder that uses an object as a delta base needs no check
// either, because a delta taken against whatever the base decodes to restores the same bytes
// whenever the base decodes the same way (and a damaged base is reported when it is read itself).

#include "coral/core/object_id.hpp"
#include "coral/storage/hdf5_store.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace coral::vcs {

class ChunkSource {
public:
  // Chains longer than this are damage (a cycle), whatever delta.max_chain says.
  static constexpr unsigned k_max_depth = 64;

  // The object and its base chain, opened; nullptr when `id` is not stored, or when it cannot be
  // read in chunks (a coral 0.1 zstd object bigger than 64 MiB: stream it instead). Throws
  // CorruptError for damaged framing, a missing base or a chain deeper than k_max_depth.
  static std::shared_ptr<const ChunkSource> open(const storage::Hdf5Store& store, const core::ObjectId& id);

  const storage::ObjectInfo& info() const noexcept { return m_object.info(); }
  std::uint64_t raw_size() const noexcept { return m_object.info().raw_size; }
  unsigned chunk_log2() const noexcept { return m_chunk_log2; }
  std::uint64_t chunk_count() const noexcept;
  std::size_t chunk_size(std::uint64_t i) const noexcept;
  unsigned width() const noexcept { return m_width; }
  // Delta steps to a self-contained object (0: none).
  unsigned depth() const noexcept { return m_depth; }
  // For a self-contained chunked object: how many older versions decode through it (recorded in
  // its prefix when it was written). nullopt when not recorded (raw and zstd objects).
  std::optional<unsigned> chain_height() const noexcept { return m_chain_height; }

  // Decodes chunk i (of the grid 2^chunk_log2) into out, which must be chunk_size(i) bytes long.
  // Thread-safe. Throws CorruptError.
  void read_chunk(std::uint64_t i, std::span<std::byte> out) const;
  // The same for the grid of another object (a dependent of this one): raw and whole-zstd objects
  // serve any grid; chunked objects only their own.
  void read_chunk(std::uint64_t i, unsigned chunk_log2, std::span<std::byte> out) const;

private:
  explicit ChunkSource(storage::PackObject object);
  const std::vector<std::byte>& whole() const;  // decoded zstd object (small ones only)

  storage::PackObject m_object;
  unsigned m_chunk_log2;
  unsigned m_width = 1;
  unsigned m_depth = 0;
  std::optional<unsigned> m_chain_height;
  std::vector<std::uint64_t> m_offsets;  // stored offset of each chunk, plus the end
  std::shared_ptr<const ChunkSource> m_base;
  mutable std::once_flag m_whole_once;
  mutable std::vector<std::byte> m_whole;
};

}  // namespace coral::vcs
