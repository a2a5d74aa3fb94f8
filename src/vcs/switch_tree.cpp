#include "switch_tree.hpp"

#include "coral/core/error.hpp"
#include "materialize.hpp"
#include "paths.hpp"
#include "scan.hpp"

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
                                        const std::vector<std::string>& to_remove, bool force,
                                        const std::string& verb) {
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
    throw ConflictError(verb + " would overwrite untracked files in " +
                            join_paths(std::vector<std::string>(blocked.begin(), blocked.end())),
                        {}, "move or remove them first");
  return {untracked.begin(), untracked.end()};
}

}  // namespace

TreeSwitch plan_switch(Repository& repo, const Index& index, const Tree& current, const Tree& target, bool force,
                       core::ThreadPool& pool, const std::string& verb) {
  std::set<std::string> paths;
  for (const auto& e : index.entries()) paths.insert(e.file.path);
  for (const auto& f : target.files) paths.insert(f.path);
  TreeSwitch plan{index.successor(), {}, {}, {}};
  std::vector<std::string> conflicts, untracked;
  for (const auto& path : paths) {
    const IndexEntry* idx = index.find(path);
    const FileEntry* tgt = target.find(path);
    const FileEntry* cur = current.find(path);
    if (!cur && !tgt) {  // staged but never committed: keep it, even with --force (git does)
      if (idx) plan.next.upsert(*idx);
      continue;
    }
    if (!force && same(cur, tgt)) {  // target does not touch it: local state carries over
      if (idx) plan.next.upsert(*idx);
      continue;
    }
    // The index already holds the target's content: keep the working file as it is (git carries
    // an unstaged change over); --force restores it when it differs.
    if (idx && tgt && idx->file.same_content(*tgt) &&
        (!force || (stat_worktree_file(repo.worktree(), path) && worktree_matches(repo, index, *idx, pool)))) {
      plan.next.upsert(*idx);
      continue;
    }
    if (!force) {
      const bool dirty = idx && (!same(&idx->file, cur) || !worktree_matches(repo, index, *idx, pool));
      if (dirty) conflicts.push_back(path);
      // A file coral does not track would be replaced (git refuses too).
      if (!idx && tgt && stat_worktree_file(repo.worktree(), path)) untracked.push_back(path);
    }
    if (tgt) plan.to_write.push_back(tgt);
    else if (idx) plan.to_remove.push_back(path);
  }
  if (!conflicts.empty())
    throw ConflictError(verb + " would overwrite local changes in " + join_paths(conflicts), {},
                        verb == "checkout" ? "commit or stash them, or pass --force to discard them"
                                           : "commit or stash them first");
  if (!untracked.empty())
    throw ConflictError(verb + " would overwrite untracked files in " + join_paths(untracked), {},
                        verb == "checkout" ? "move or remove them, or pass --force to overwrite them"
                                           : "move or remove them first");
  plan.untracked_to_remove = find_obstacles(repo, plan.to_write, plan.to_remove, force, verb);
  return plan;
}

CheckoutResult apply_switch(Repository& repo, TreeSwitch& plan, core::ThreadPool& pool,
                            const core::ProgressFn& progress) {
  // Remove first (deepest first), so that a file can replace a directory and vice versa.
  CheckoutResult r;
  std::sort(plan.to_remove.rbegin(), plan.to_remove.rend());
  for (const auto& path : plan.to_remove) {
    remove_worktree_file(repo, path);
    ++r.files_removed;
  }
  for (const auto& path : plan.untracked_to_remove) remove_worktree_file(repo, path);
  const auto stats = materialize_files(repo, plan.to_write, pool, progress);
  for (std::size_t i = 0; i < plan.to_write.size(); ++i) {
    plan.next.upsert({*plan.to_write[i], stats[i], true});
    ++r.files_written;
    r.bytes_written += plan.to_write[i]->size;
  }
  plan.next.save(repo);
  return r;
}

}  // namespace coral::vcs
