#pragma once
// The verbs' core calls: each CLI verb parses its options, calls one function here and prints
// the result. Every function takes the Repository explicitly and returns a result struct.
// Paths in options are as the user typed them (relative to the process's cwd).

#include "coral/core/progress.hpp"
#include "coral/vcs/object_db.hpp"
#include "coral/vcs/objects.hpp"
#include "coral/vcs/repository.hpp"

#include <cstdint>
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

// ---- identity --------------------------------------------------------------------------------
// --author/--email, then config user.name/user.email (whose own variables are CORAL_USER_NAME /
// CORAL_USER_EMAIL), then CORAL_AUTHOR_NAME/CORAL_AUTHOR_EMAIL, then the login name and host
// (DESIGN.md §10).
std::pair<std::string, std::string> resolve_identity(const Repository& repo, const std::string& author,
                                                     const std::string& email);

}  // namespace coral::vcs
