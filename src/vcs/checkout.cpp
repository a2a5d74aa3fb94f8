#include "coral/core/error.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"
#include "materialize.hpp"
#include "paths.hpp"
#include "scan.hpp"
#include "stage.hpp"

#include <algorithm>
#include <set>
#include <sys/stat.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;
namespace {

bool same(const FileEntry* a, const FileEntry* b) { return (!a && !b) || (a && b && a->same_content(*b)); }

// Does the working-tree file still hold what the index says? A missing file is not a local
// change that checkout could lose.
bool worktree_matches(Repository& repo, const Index& index, const IndexEntry& e, core::ThreadPool& pool) {
  const auto abs = repo.worktree() / e.file.path;
  const auto st = stat_worktree_file(repo.worktree(), e.file.path);
  if (!st) return !stdfs::exists(abs);
  if (index.stat_clean(e, *st)) return true;
  if (st->size != e.file.size || st->mode != e.file.mode) return false;
  try {
    ParsedFile pf = parse_worktree_file(repo.worktree(), e.file.path);
    return hash_file(pf, pool).same_content(e.file);
  } catch (const InvalidInputError&) {
    return false;
  }
}

void remove_worktree_file(Repository& repo, const std::string& path) {
  const auto abs = worktree_path_for_write(repo.worktree(), path);
  std::error_code ec;
  stdfs::remove(abs, ec);
  for (auto dir = abs.parent_path(); dir != repo.worktree(); dir = dir.parent_path()) {
    if (!stdfs::is_empty(dir, ec) || ec) break;
    stdfs::remove(dir, ec);
  }
}

std::string join_paths(const std::vector<std::string>& paths) {
  std::string s;
  for (std::size_t i = 0; i < paths.size() && i < 10; ++i) s += (i ? ", " : "") + paths[i];
  if (paths.size() > 10) s += " and " + std::to_string(paths.size() - 10) + " more";
  return s;
}

// Paths in the working tree that would block writing `to_write`: an untracked file where a
// directory must go (or the reverse), or a directory holding files that are not being removed.
// Throws ConflictError naming them; with --force, returns the untracked files to delete first.
std::vector<std::string> find_obstacles(Repository& repo, const std::vector<const FileEntry*>& to_write,
                                        const std::vector<std::string>& to_remove, bool force) {
  const std::set<std::string> removed(to_remove.begin(), to_remove.end());
  std::set<std::string> blocked, untracked;
  for (const FileEntry* f : to_write) {
    // Each parent must be (or become) a directory.
    for (auto slash = f->path.find('/'); slash != std::string::npos; slash = f->path.find('/', slash + 1)) {
      const std::string parent = f->path.substr(0, slash);
      struct stat st {};
      if (::lstat((repo.worktree() / parent).c_str(), &st) != 0 || S_ISDIR(st.st_mode) || removed.count(parent)) continue;
      (force ? untracked : blocked).insert(parent);
    }
    // The path itself must not be a directory with anything left in it.
    const auto abs = repo.worktree() / f->path;
    struct stat st {};
    if (::lstat(abs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::error_code ec;
    for (auto it = stdfs::recursive_directory_iterator(abs, ec); !ec && it != stdfs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_directory()) continue;
      if (!removed.count(it->path().lexically_relative(repo.worktree()).generic_string())) blocked.insert(f->path);
    }
  }
  if (!blocked.empty())
    throw ConflictError("checkout would overwrite untracked files in " +
                            join_paths(std::vector<std::string>(blocked.begin(), blocked.end())),
                        {}, "move or remove them first");
  return {untracked.begin(), untracked.end()};
}

CheckoutResult restore_paths(Repository& repo, Index& index, const CheckoutOptions& o, core::ThreadPool& pool) {
  CheckoutResult r;
  r.head = read_head(repo);
  const Tree source = o.rev.empty() ? index.to_tree() : repo.objects().read_tree(repo.objects().read_commit(resolve_commit(repo, o.rev)).tree);
  std::vector<const FileEntry*> selected;
  for (const auto& p : o.paths) {
    const std::string rel = to_repo_path(repo.worktree(), p);
    bool any = false;
    for (const auto& f : source.files)
      if (in_scope(f.path, rel)) selected.push_back(&f), any = true;
    if (!any) throw NotFoundError("path '" + p + "' did not match any file known to coral" +
                                  (o.rev.empty() ? std::string() : " in '" + o.rev + "'"));
  }
  const auto stats = materialize_files(repo, selected, pool, {});
  for (std::size_t i = 0; i < selected.size(); ++i) {
    index.upsert({*selected[i], stats[i], true});
    ++r.files_written;
    r.bytes_written += selected[i]->size;
  }
  return r;
}

}  // namespace

CheckoutResult checkout(Repository& repo, const CheckoutOptions& o, const core::ProgressFn& progress) {
  auto write_lock = repo.lock_for_write();
  auto index_lock = repo.lock_index();
  Index index = Index::load(repo);
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  if (!o.paths.empty()) {
    CheckoutResult r = restore_paths(repo, index, o, pool);
    index.save(repo);
    return r;
  }

  const Head head = read_head(repo);
  std::optional<core::ObjectId> target_id;
  std::optional<std::string> target_branch;
  if (!o.new_branch.empty()) {
    validate_ref_name(o.new_branch);
    if (find_ref(repo, "refs/heads/" + o.new_branch)) throw ConflictError("branch '" + o.new_branch + "' already exists");
    target_id = o.rev.empty() ? head.commit : std::optional(resolve_commit(repo, o.rev));
    target_branch = o.new_branch;
  } else {
    if (o.rev.empty()) throw UsageError("checkout needs a revision, -b NAME, or -- PATH");
    if (o.rev == "HEAD" || o.rev == "@") target_branch = head.branch;  // stay where HEAD is
    else if (find_ref(repo, "refs/heads/" + o.rev)) target_branch = o.rev;
    target_id = resolve_commit(repo, o.rev);
  }
  const Tree current = head_tree(repo, head);
  const Tree target = target_id ? repo.objects().read_tree(repo.objects().read_commit(*target_id).tree) : Tree{};

  // Plan: which paths change, and may they?
  std::set<std::string> paths;
  for (const auto& e : index.entries()) paths.insert(e.file.path);
  for (const auto& f : target.files) paths.insert(f.path);
  Index next = index.successor();
  std::vector<const FileEntry*> to_write;
  std::vector<std::string> to_remove, conflicts;
  std::uint64_t total = 0;
  for (const auto& path : paths) {
    const IndexEntry* idx = index.find(path);
    const FileEntry* tgt = target.find(path);
    const FileEntry* cur = current.find(path);
    if (!cur && !tgt) {  // staged but never committed: keep it, even with --force (git does)
      if (idx) next.upsert(*idx);
      continue;
    }
    if (!o.force && same(cur, tgt)) {  // target does not touch it: local state carries over
      if (idx) next.upsert(*idx);
      continue;
    }
    // The index already holds the target's content: keep the working file as it is (git carries
    // an unstaged change over); --force restores it when it differs.
    if (idx && tgt && idx->file.same_content(*tgt) &&
        (!o.force || (stat_worktree_file(repo.worktree(), path) && worktree_matches(repo, index, *idx, pool)))) {
      next.upsert(*idx);
      continue;
    }
    if (!o.force) {
      const bool dirty = idx && (!same(&idx->file, cur) || !worktree_matches(repo, index, *idx, pool));
      if (dirty) conflicts.push_back(path);
    }
    if (tgt) {
      to_write.push_back(tgt);
      total += tgt->size;
    } else if (idx) {
      to_remove.push_back(path);
    }
  }
  if (!conflicts.empty())
    throw ConflictError("checkout would overwrite local changes in " + join_paths(conflicts), {},
                        "commit or stash them, or pass --force to discard them");
  const std::vector<std::string> untracked_files = find_obstacles(repo, to_write, to_remove, o.force);

  // Remove first (deepest first), so that a file can replace a directory and vice versa.
  CheckoutResult r;
  std::sort(to_remove.rbegin(), to_remove.rend());
  for (const auto& path : to_remove) {
    remove_worktree_file(repo, path);
    ++r.files_removed;
  }
  for (const auto& path : untracked_files) remove_worktree_file(repo, path);
  const auto stats = materialize_files(repo, to_write, pool, progress);
  for (std::size_t i = 0; i < to_write.size(); ++i) {
    next.upsert({*to_write[i], stats[i], true});
    ++r.files_written;
    r.bytes_written += to_write[i]->size;
  }
  next.save(repo);
  if (!o.new_branch.empty() && target_id) update_ref(repo, "refs/heads/" + o.new_branch, *target_id, std::nullopt);
  if (target_branch) set_head_branch(repo, *target_branch);
  else set_head_detached(repo, *target_id);
  r.head = read_head(repo);
  return r;
}

}  // namespace coral::vcs
