#pragma once
// The verbs' core calls: each CLI verb parses its options, calls one function here and prints
// the result. Every function takes the Repository explicitly and returns a result struct.
// Paths in options are as the user typed them (relative to the process's cwd).

#include "coral/core/progress.hpp"
#include "coral/vcs/object_db.hpp"
#include "coral/vcs/objects.hpp"
#include "coral/vcs/repository.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coral/vcs/refs.hpp"

namespace coral::vcs {

// ---- add / rm --------------------------------------------------------------------------------
struct AddOptions {
  std::vector<std::string> paths;  // files or directories; "." allowed
  bool update_tracked = false;     // stage changes and deletions of tracked files only (commit -a)
};
struct AddResult {
  std::vector<std::string> added;     // new paths
  std::vector<std::string> modified;  // tracked paths whose content changed
  std::vector<std::string> removed;   // tracked paths gone from the working tree (update_tracked)
  std::uint64_t files_unchanged = 0;
  std::uint64_t bytes_scanned = 0;    // bytes read and hashed
  std::uint64_t tensors = 0;          // tensor extents seen
  StoreStats stored;                  // new objects written
};
// Stages files: objects are stored at once (one pack), then the index is rewritten.
// InvalidInputError (exit 7) for a file that fails validation: nothing of the call is staged.
AddResult add(Repository& repo, const AddOptions& options, const core::ProgressFn& progress = {});

struct RmOptions {
  std::vector<std::string> paths;
  bool cached = false;     // keep the working-tree file
  bool recursive = false;  // -r: directories
  bool force = false;      // remove even when the file has unstaged changes
};
struct RmResult {
  std::vector<std::string> removed;
};
RmResult rm(Repository& repo, const RmOptions& options);

// ---- status ----------------------------------------------------------------------------------
enum class Change : char { none = ' ', added = 'A', modified = 'M', deleted = 'D', untracked = '?' };
struct StatusEntry {
  std::string path;
  Change staged = Change::none;    // index vs HEAD
  Change unstaged = Change::none;  // working tree vs index
};
struct StatusResult {
  Head head;
  std::vector<StatusEntry> entries;  // sorted by path; untracked last-level paths included
  bool clean() const noexcept;
  std::uint64_t files_hashed = 0;    // files whose stat did not match and were re-read
};
StatusResult status(Repository& repo, const core::ProgressFn& progress = {});

// ---- commit ----------------------------------------------------------------------------------
struct CommitOptions {
  std::string message;
  std::string author;  // empty: config user.name, CORAL_AUTHOR_NAME, login name
  std::string email;   // empty: config user.email, CORAL_AUTHOR_EMAIL, login@host
  std::vector<std::pair<std::string, double>> metrics;
  bool all = false;          // -a: stage tracked changes first
  bool allow_empty = false;  // commit even when the tree equals the parent's
  std::string branch;        // commit onto this branch instead of HEAD's (created from HEAD when
                             // missing); HEAD and the working tree are left as they are
};
struct CommitResult {
  Commit commit;
  std::optional<std::string> branch;  // unset when HEAD is detached
  bool root = false;
  std::uint64_t files_changed = 0;    // vs first parent
};
// "nothing to commit" (tree equals the parent's and no --allow-empty) is a coral::Error with
// exit 1, as git exits 1.
CommitResult commit(Repository& repo, const CommitOptions& options, const core::ProgressFn& progress = {});

// ---- log / show ------------------------------------------------------------------------------
struct LogOptions {
  std::string rev = "HEAD";
  std::int64_t max_count = -1;  // -n
};
// Newest first; merges included (parents in order). An unborn HEAD gives NotFoundError.
std::vector<Commit> log(Repository& repo, const LogOptions& options);

struct ShowResult {
  // "REV": the commit and its changes against the first parent.
  std::optional<Commit> commit;
  std::vector<std::pair<std::string, Change>> changes;  // path, added/modified/deleted
  // "REV:PATH": the file entry.
  std::optional<FileEntry> file;
};
ShowResult show(Repository& repo, const std::string& spec);

// ---- diff ------------------------------------------------------------------------------------
struct TensorStats {
  double max_abs_diff = 0;  // max |a - b|
  double rel_l2 = 0;        // ||a - b|| / ||a||  (inf when ||a|| == 0 and a != b)
  double cosine = 1;        // a.b / (||a|| ||b||); 1 when both are zero
  std::uint64_t nan_mismatches = 0;  // elements where exactly one side is NaN
};
struct TensorDiff {
  std::string name;
  Change change = Change::modified;
  std::optional<TensorEntry> old_entry;
  std::optional<TensorEntry> new_entry;
  std::optional<TensorStats> stats;  // float tensors of equal dtype and shape
};
struct FileDiff {
  std::string path;
  Change change = Change::modified;
  std::optional<FileEntry> old_entry;
  std::optional<FileEntry> new_entry;
  std::vector<TensorDiff> tensors;  // changed tensors only
  bool skeleton_changed = false;    // headers/metadata differ (or the whole file, for raw files)
};
struct DiffOptions {
  std::vector<std::string> revs;  // 0: index vs working tree; 1: REV vs working tree; 2: REV vs REV
  bool stats = true;              // compute TensorStats (reads both tensors)
};
std::vector<FileDiff> diff(Repository& repo, const DiffOptions& options);

// ---- checkout --------------------------------------------------------------------------------
struct CheckoutOptions {
  std::string rev;                  // empty with paths: restore from the index
  std::string new_branch;           // -b NAME: create at rev (default HEAD) and switch
  std::vector<std::string> paths;   // after "--": restore these paths only, HEAD unchanged
  bool force = false;
};
struct CheckoutResult {
  Head head;  // after
  std::uint64_t files_written = 0;
  std::uint64_t files_removed = 0;
  std::uint64_t bytes_written = 0;
};
// ConflictError (exit 4) listing the paths when local changes would be overwritten (no --force).
CheckoutResult checkout(Repository& repo, const CheckoutOptions& options, const core::ProgressFn& progress = {});

// ---- branch / tag ----------------------------------------------------------------------------
struct BranchInfo {
  std::string name;
  core::ObjectId commit;
  bool current = false;
};
std::vector<BranchInfo> list_branches(Repository& repo);

// Rewrites the similarity index (.coral/similarity/, a cache) from the float tensors of every
// commit reachable from a branch, a tag or HEAD, and of the index. Returns the tensors indexed.
std::size_t rebuild_similarity_index(Repository& repo);
void create_branch(Repository& repo, const std::string& name, const std::string& start_rev, bool force);
void delete_branch(Repository& repo, const std::string& name, bool force);
void rename_branch(Repository& repo, const std::string& old_name, const std::string& new_name, bool force);

struct TagInfo {
  std::string name;
  core::ObjectId commit;
  std::optional<TagObject> annotation;  // for tags made with -m
};
std::vector<TagInfo> list_tags(Repository& repo);
void create_tag(Repository& repo, const std::string& name, const std::string& rev, const std::string& message,
                const std::string& tagger, const std::string& email, bool force);
void delete_tag(Repository& repo, const std::string& name);

// ---- merge (docs/merge.md) ----------------------------------------------------------------
// A strategy and its parameters, as given on the command line or in a rule. Unset parameters
// take the documented defaults (lambda 1, density 1, t 0.5, seed 0, weights all 1).
struct MergeStrategy {
  std::string name = "fail";  // fail ours theirs average weighted task-arithmetic ties dare dare-ties slerp soup
  std::vector<double> weights;
  bool normalize = true;      // weighted: divide by the sum of the weights; ties, dare-ties: the
                              // disjoint mean (--no-normalize: the plain sum, mergekit's dare_ties)
  std::optional<double> lambda, density, t;
  std::optional<std::uint64_t> seed;
  // The parameters that apply to `name`, canonical strings (what a merge commit records).
  std::map<std::string, std::string> parameters() const;
};
// Checks the name and the parameters it takes (UsageError naming the fault); `where` prefixes
// messages ("--strategy", "rules.toml: rule 2").
void validate_merge_strategy(const MergeStrategy& strategy, std::size_t sides, const std::string& where);

// --rules FILE.toml: [[rule]] tables with `tensor` (a glob on tensor names), optional `file` (a
// glob on file paths), `strategy` and its parameters; the first rule that matches wins.
struct MergeRule {
  std::string tensor = "*";
  std::string file = "*";
  MergeStrategy strategy;
};
// UsageError ("FILE: rule N: fault") for bad TOML, unknown keys or invalid strategies.
std::vector<MergeRule> parse_merge_rules(std::string_view toml_text, const std::string& file_name);

enum class FastForward { allow, never, only };  // default, --no-ff, --ff-only

struct MergeOptions {
  std::vector<std::string> revs;  // what to merge into the current branch (branches or any revision)
  MergeStrategy strategy;         // for tensors no rule matches, and for whole files (ours/theirs)
  std::vector<MergeRule> rules;
  std::string message;            // empty: "Merge branch 'x'" / "Merge branches 'x' and 'y'"
  std::string author, email;
  FastForward fast_forward = FastForward::allow;
  bool dry_run = false;
  bool allow_unrelated = false;   // --allow-unrelated-histories: an empty tree as the base
  // soup: the eval command ("{}" is replaced by a directory holding the candidate model), and
  // whether a higher score is better.
  std::string eval_command;
  bool maximize = true;
  // Tensors of more bytes are merged piece by piece from the packs (bounded memory); smaller
  // ones in memory. The bytes are the same either way.
  std::uint64_t stream_above = std::uint64_t{64} << 20;
};

// What happened to one file (tensor empty) or one tensor of a tensor file.
struct MergeDecision {
  std::string path;
  std::string tensor;               // empty: the file as a whole
  std::string action;               // unchanged, take, delete, merge, conflict
  std::vector<std::string> from;    // take/delete: the sides (labels) whose version is used
  std::string strategy;             // merge: the strategy applied
  int rule = -1;                    // merge/take by a rule: its index in MergeOptions::rules
  std::string reason;               // conflict: why, with both dtypes/shapes when they differ
};

struct SoupStep {
  std::vector<std::string> ingredients;  // the sides averaged in this candidate
  double score = 0;
  bool kept = false;                     // the candidate became the soup
};

struct MergeResult {
  enum class Kind { up_to_date, fast_forward, merge };
  Kind kind = Kind::merge;
  Head head;                                   // before
  // The sides, which are the merge commit's parents: the current branch, then each revision, minus
  // any that another side contains (so HEAD is no side when a revision contains it, as in git,
  // unless --no-ff) and revisions HEAD already contains.
  std::vector<std::string> labels;
  std::vector<core::ObjectId> heads;           // their commits
  std::optional<core::ObjectId> base;          // the merge base used (unset: unrelated histories)
  std::vector<core::ObjectId> base_candidates; // every best common ancestor (several: criss-cross)
  std::vector<MergeDecision> decisions;        // by path, then tensor order
  std::vector<SoupStep> soup;                  // soup only: every candidate evaluated, in order
  std::vector<std::pair<std::string, double>> soup_scores;  // soup: each side's own score
  std::vector<std::string> soup_selected;      // soup: the sides averaged into the result
  MergeInfo info;                              // what the merge commit records (or would): strategy,
                                               // parameters (soup's scores too), base, rules
  std::optional<Commit> commit;                // the merge commit (unset: dry run, conflict, ff)
  core::ObjectId target;                       // what HEAD's branch points to after (or would)
  bool dry_run = false;
  std::uint64_t conflicts = 0;                 // decisions with action "conflict"
  std::uint64_t tensors_merged = 0;
  std::uint64_t files_written = 0, files_removed = 0;
};
// Merges into HEAD's branch. With conflicts (strategy fail, or a conflict no strategy resolves)
// nothing is written and the result lists them (the CLI exits 4). ConflictError when HEAD is
// detached, the index or a file the merge would change has local changes, histories are
// unrelated (without allow_unrelated) or --ff-only cannot fast-forward.
MergeResult merge(Repository& repo, const MergeOptions& options, const core::ProgressFn& progress = {});

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

// ---- identity --------------------------------------------------------------------------------
// --author/--email, then config user.name/user.email (whose own variables are CORAL_USER_NAME /
// CORAL_USER_EMAIL), then CORAL_AUTHOR_NAME/CORAL_AUTHOR_EMAIL, then the login name and host
// (DESIGN.md §10).
std::pair<std::string, std::string> resolve_identity(const Repository& repo, const std::string& author,
                                                     const std::string& email);

}  // namespace coral::vcs
