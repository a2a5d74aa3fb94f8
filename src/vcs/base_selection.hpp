#pragma once
// Choosing the delta base of an object being stored (DESIGN.md §5): the object of the same path
// and tensor name in the index (the parent commit plus what is staged), else a similar tensor
// found by the similarity index (§6) and verified by cosine on the full data, else none. A base
// is used only when it keeps the chain a read decodes within delta.max_chain; the encoder then
// uses it only for the chunks it makes smaller.

#include "chunk_source.hpp"
#include "coral/core/dtype.hpp"
#include "coral/vcs/object_db.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace coral::vcs {

class BaseSelector {
public:
  // `similarity_dir` empty: no similarity lookups.
  BaseSelector(const ObjectDb& db, unsigned max_chain, const std::filesystem::path& similarity_dir);
  ~BaseSelector();

  // `previous`: the id of the same path and tensor in the index (zero when none) and its dtype.
  // `raw`: the new object's bytes (sampled for the signature, read whole to verify a candidate;
  // `done_with`, when given, is called with each piece read, e.g. to drop mapped pages).
  // Thread-safe.
  using PieceDone = std::function<void(std::span<const std::byte>)>;
  std::shared_ptr<const ChunkSource> choose(const core::ObjectId& previous, core::DType previous_dtype,
                                            core::DType dtype, std::span<const std::byte> raw,
                                            const PieceDone& done_with = {}) const;
  // Notes a stored object for the similarity index (thread-safe); publish() writes what was noted,
  // once the objects are durable.
  void remember(const core::ObjectId& id, core::DType dtype, std::span<const std::byte> raw);
  void publish();

  // A base usable for an object of raw_size bytes, or null (absent, other size, chain too long).
  std::shared_ptr<const ChunkSource> usable(const core::ObjectId& id, std::uint64_t raw_size) const;

private:
  std::shared_ptr<const ChunkSource> similar(core::DType dtype, std::span<const std::byte> raw,
                                             const PieceDone& done_with) const;

  struct State;
  const ObjectDb& m_db;
  unsigned m_max_chain;
  std::unique_ptr<State> m_state;
};

}  // namespace coral::vcs
