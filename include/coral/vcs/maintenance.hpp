#pragma once
// Repository maintenance verbs' core calls (fsck, stats), like those of operations.hpp.

#include "coral/core/object_id.hpp"
#include "coral/core/progress.hpp"
#include "coral/vcs/repository.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace coral::vcs {

// ---- fsck ----------------------------------------------------------------------------------
struct FsckOptions {
  bool full = false;           // also decode every reachable data object and check its hash
  bool rebuild_index = false;  // first rewrite the pack lookup table and the similarity index
};
// One problem, named as precisely as the walk knows it: the ref it was reached from (full name,
// "HEAD" or "index"), the commit, path and tensor, the object and the pack. Empty / unset: n/a.
struct FsckProblem {
  std::string kind;  // "missing", "corrupt" or "lookup"
  std::optional<core::ObjectId> object;
  std::optional<core::ObjectId> commit;
  std::string ref, path, tensor, pack;
  std::string message;  // what is wrong (a CorruptError's message for damage)
};
struct FsckRebuild {
  std::size_t packs = 0;               // packs the lookup table now lists
  std::size_t similarity_tensors = 0;  // tensors the similarity index now holds
  std::string similarity_error;        // set when the similarity index could not be rebuilt
};
struct FsckResult {
  std::uint64_t commits = 0, trees = 0, objects = 0, packs = 0;  // distinct ones checked
  bool full = false;
  std::optional<FsckRebuild> rebuilt;
  std::vector<FsckProblem> problems;  // in walk order (deterministic for any --jobs)
  bool ok() const noexcept { return problems.empty(); }
};
// Walks every branch, tag, HEAD and the index down to the data objects and checks the pack lookup
// table against the packs. Read-only (no lock) unless rebuild_index, which holds the write lock.
FsckResult fsck(Repository& repo, const FsckOptions& options, const core::ProgressFn& progress = {});

// ---- stats -----------------------------------------------------------------------------------
struct EncodingStats {
  std::uint64_t objects = 0;
  std::uint64_t raw_bytes = 0;     // decoded sizes
  std::uint64_t stored_bytes = 0;  // encoded sizes in the packs
};
struct StatsResult {
  std::uint64_t commits = 0;                // reachable commits
  std::uint64_t logical_bytes_head = 0;     // file sizes of HEAD's tree (0 when unborn)
  std::uint64_t logical_bytes_history = 0;  // file sizes of every reachable commit's tree, summed
  std::uint64_t stored_bytes = 0;           // every file under .coral/, recursively
  std::uint64_t pack_bytes = 0;             // the pack files
  std::uint64_t packs = 0;
  double ratio = 0;       // logical_bytes_history / stored_bytes (0 when nothing is stored)
  double ratio_head = 0;  // logical_bytes_head / stored_bytes
  std::uint64_t objects = 0;                           // distinct data objects in the packs
  std::map<std::string, EncodingStats> by_encoding;    // "raw", "zstd", "chunks" (docs/format.md)
  // Dedup: file and tensor references of every reachable (unpruned) commit's tree, each commit
  // counted, against the distinct objects they name; saved = raw bytes of the references minus
  // raw bytes of the distinct objects.
  std::uint64_t references = 0, distinct = 0, saved_bytes = 0;
  std::map<unsigned, std::uint64_t> delta_depth;  // delta chain depth -> stored objects
  // Data objects no root reaches (a live object's delta bases count as reached): what gc could
  // delete, and their stored bytes.
  std::uint64_t unreachable_objects = 0, reclaimable_bytes = 0;
};
// Storage statistics over every branch, tag, HEAD and the index. Read-only, no lock. A ref, HEAD
// or the index that cannot be read throws CorruptError; a damaged commit or tree is skipped
// (fsck names it).
StatsResult stats(Repository& repo);

}  // namespace coral::vcs
