#pragma once
// Repository maintenance verbs' core calls (gc, prune, fsck, stats), like those of operations.hpp.

#include "coral/core/object_id.hpp"
#include "coral/core/progress.hpp"
#include "coral/vcs/repository.hpp"

#include <cstdint>
#include <map>
#include <set>
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
  std::uint64_t logical_bytes_history = 0;  // file sizes of every reachable unpruned commit's tree, summed
  std::uint64_t pruned_commits = 0;         // reachable commits whose data prune dropped
  std::uint64_t logical_bytes_pruned = 0;   // their trees' file sizes, summed (not in the ratio)
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
  // What gc would do now (its own plan): data objects no root keeps alive, and the stored bytes
  // of every record it would drop (theirs and superseded copies of live objects), not counting
  // the records it would re-encode (reencode_*: their current stored bytes; the size of the new
  // encoding is known only by encoding, as `gc --dry-run` does). Loose metadata
  // (commits, trees, tags) no root reaches is counted apart.
  std::uint64_t unreachable_objects = 0, reclaimable_bytes = 0;
  std::uint64_t reencode_objects = 0, reencode_bytes = 0;
  std::uint64_t unreachable_metadata = 0, reclaimable_metadata_bytes = 0;
};
// Storage statistics over every branch, tag, HEAD and the index. Read-only, no lock. A ref, HEAD
// or the index that cannot be read throws CorruptError; a damaged commit or tree is skipped
// (fsck names it).
StatsResult stats(Repository& repo);

// ---- gc ------------------------------------------------------------------------------------
struct GcOptions {
  bool dry_run = false;  // plan only: nothing is written or deleted
  bool repack = false;   // also consolidate packs however big they are
};
// What gc does (or, dry run, would do): the same numbers either way. Bytes are encoded object
// bytes (pack records and loose objects); pack file overhead is in disk_bytes_*.
struct GcResult {
  bool dry_run = false;
  std::uint64_t objects_removed = 0;      // data objects no root keeps alive
  std::uint64_t metadata_removed = 0;     // commits, trees and tag objects no root reaches
  std::uint64_t records_dropped = 0;      // extra records of live objects (superseded encodings)
  std::uint64_t objects_reencoded = 0;    // live objects whose delta base went
  std::uint64_t packs_before = 0;
  std::uint64_t packs_removed = 0;        // deleted, nothing in them survived
  std::uint64_t packs_rewritten = 0;      // survivors moved to new packs
  std::uint64_t packs_consolidated = 0;   // of those, rewritten only because they were small
  std::uint64_t bytes_before = 0, bytes_after = 0;
  std::uint64_t temp_files_removed = 0, temp_bytes = 0;  // leftovers of killed processes
  // Measured after a real run (0 for a dry run): packs, and every file under .coral/.
  std::uint64_t packs_after = 0, disk_bytes_before = 0, disk_bytes_after = 0;
};
// Takes the gc lock exclusively (shared for a dry run), walks every branch, tag, HEAD and the
// index, and removes what none of them keeps alive (DESIGN.md §8). Deletes nothing and throws
// CorruptError when a root, commit or tree cannot be read or a live object is missing.
GcResult gc(Repository& repo, const GcOptions& options, const core::ProgressFn& progress = {});

// ---- prune -------------------------------------------------------------------------------
struct KeepBest {
  std::string metric;
  bool maximize = false;  // false: the smallest values are best
  std::size_t count = 0;
};
struct PruneOptions {
  std::size_t keep_last = 0;
  std::vector<KeepBest> keep_best;
  bool keep_tagged = true;
  std::string branch;  // empty: the current branch
  bool dry_run = false;
  bool gc = false;     // run gc afterwards (under the same lock)
};
// "val_loss=2", "val_loss:min=2", "acc:max=3" (METRIC[:min|max]=K, K >= 1): UsageError for
// anything else.
KeepBest parse_keep_best(const std::string& spec);
// Why a commit of the branch is kept (several reasons may hold).
struct PruneCommit {
  core::ObjectId id;
  std::string subject;
  std::map<std::string, double> metrics;
  // "last N", "best METRIC (RANK)", "tagged NAME", "branch tip NAME", "merge base of NAME", "HEAD"
  std::vector<std::string> reasons;
  bool kept = false;
  bool already_pruned = false;
};
struct PruneResult {
  std::string branch;
  bool dry_run = false;
  std::vector<PruneCommit> commits;  // the branch's history, newest first (log order)
  std::uint64_t kept = 0, pruned = 0, already_pruned = 0;
  std::optional<GcResult> gc;
};
// The retention policy (pure): which of `history` (log order, newest first) to keep. Commits
// that already have reasons (tags, branch tips, HEAD) are kept whatever the policy; the policy
// adds its reasons ("last N", "best METRIC (rank)") and sets `kept`. Already pruned commits
// are neither counted nor kept.
void select_kept(std::vector<PruneCommit>& history, const PruneOptions& options);
// Marks the commits of the branch's history outside the kept set as pruned (their data goes at
// the next gc, or now with options.gc). Holds the gc lock exclusively.
PruneResult prune(Repository& repo, const PruneOptions& options, const core::ProgressFn& progress = {});

}  // namespace coral::vcs
