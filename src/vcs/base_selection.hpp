#pragma once
// Choosing how an object being stored relates to what is stored already (DESIGN.md §5).
//
// For the same path and tensor name as in the index (the parent commit plus what is staged),
// the new version is stored self-contained and the previous version, when it is self-contained
// itself, is re-encoded as an XOR delta against the new one ("reverse", as git packs keep the
// newest whole): the newest checkpoint of a series always reads without decoding a chain, and
// the older ones cost a delta each. Every self-contained chunked object records in its prefix
// how many older versions decode through it (its chain height); re-encoding happens only while
// that stays within delta.max_chain, and the new object records height + 1. Past the bound the
// previous version stays whole and a new chain starts. (Heights live in the objects, so staged
// versions never committed and versions far back in history count too.) When the
// previous version is a delta already, the new one becomes a delta against it ("forward") if
// the chain stays within the bound. With no previous version, a similar tensor found by the
// similarity index (§6) and verified by cosine on the full data is a forward base. The encoder
// keeps a delta only for the chunks it makes smaller.

#include "chunk_source.hpp"
#include "coral/core/dtype.hpp"
#include "coral/vcs/object_db.hpp"
#include "similarity.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace coral::vcs {

// What the index holds for the same path and tensor name: the version being replaced.
struct Lineage {
  core::ObjectId previous;  // zero when none
  core::DType previous_dtype = core::DType::u8;
};

struct BasePlan {
  enum class Kind { none, forward, reverse };
  Kind kind = Kind::none;
  // forward: the base of the new object; reverse: the previous version, to be re-encoded
  // against the new object.
  std::shared_ptr<const ChunkSource> source;
  // The chain height the new object records (reverse: the previous version's + 1).
  unsigned chain_height = 0;
};

class BaseSelector {
public:
  // `similarity_dir` empty: no similarity lookups.
  BaseSelector(const ObjectDb& db, unsigned max_chain, const std::filesystem::path& similarity_dir);
  ~BaseSelector();

  // `raw`: the new object's bytes (read whole to verify a similarity candidate; `done_with`, when
  // given, is called with each piece read, e.g. to drop mapped pages); `signature`: its
  // similarity signature (similarity.hpp), if it has one. Thread-safe.
  using PieceDone = std::function<void(std::span<const std::byte>)>;
  BasePlan choose(const Lineage& lineage, core::DType dtype, std::span<const std::byte> raw,
                  const std::optional<Signature>& signature, const PieceDone& done_with = {}) const;
  // Notes a stored object for the similarity index (thread-safe); publish() writes what was noted,
  // once the objects are durable.
  void remember(const core::ObjectId& id, const std::optional<Signature>& signature);
  void publish();

private:
  std::shared_ptr<const ChunkSource> usable(const core::ObjectId& id, std::uint64_t raw_size) const;
  std::shared_ptr<const ChunkSource> similar(core::DType dtype, std::span<const std::byte> raw,
                                             const Signature& signature, const PieceDone& done_with) const;

  struct State;
  const ObjectDb& m_db;
  unsigned m_max_chain;
  std::unique_ptr<State> m_state;
};

}  // namespace coral::vcs
