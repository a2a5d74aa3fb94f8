#pragma once
// Storing one data object in the chunked encoding (docs/format.md "Chunked objects"), or raw
// when that is not bigger. Chunks are encoded on the pool in windows of a few per thread and
// streamed into the pack in order, so memory stays bounded whatever the object's size and one
// huge tensor uses every core. The stored bytes depend only on the object and its base, never
// on the thread count.

#include "chunk_source.hpp"
#include "coral/core/dtype.hpp"
#include "coral/core/object_id.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/object_db.hpp"

#include <functional>
#include <span>

namespace coral::vcs {

struct ChunkJob {
  core::ObjectId id;
  std::uint64_t raw_size = 0;
  core::DType dtype = core::DType::u8;
  // Copies chunk i's raw bytes into out (chunk i of the 2^delta::k_chunk_log2 grid); called on
  // pool threads in any order. Throws (IoError) when the source no longer matches the id.
  using Fill = std::function<void(std::uint64_t i, std::span<std::byte> out)>;
  Fill fill;
  // Or, for an object already in private memory: its bytes (read in place, not copied).
  std::span<const std::byte> bytes;
  // The delta base (same raw size): its id and its chunks, or a zero id for none.
  core::ObjectId base_id;
  Fill base_fill;
  // Store a second record of an object that is stored already (DataWriter::put_replacement).
  bool replacement = false;
  // For a self-contained object: how many older versions will decode through it (the prefix
  // records it; base_selection.hpp).
  unsigned chain_height = 0;
};

// Chunks read from a stored object (decoded through its base chain).
ChunkJob::Fill base_chunks(std::shared_ptr<const ChunkSource> source);
// Chunks of bytes in memory.
ChunkJob::Fill memory_chunks(std::span<const std::byte> bytes);

// Encodes and stores the object (the caller has claimed job.id, unless it is a replacement).
// With a null pool, runs inline.
void store_chunked(DataWriter& writer, const ChunkJob& job, core::ThreadPool* pool);

}  // namespace coral::vcs
