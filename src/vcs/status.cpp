#include "coral/core/error.hpp"
#include "coral/core/file_lock.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "scan.hpp"
#include "stage.hpp"
#include "worktree.hpp"

#include <map>

namespace coral::vcs {

bool StatusResult::clean() const noexcept {
  for (const auto& e : entries)
    if (e.staged != Change::none || e.unstaged != Change::none) return false;
  return true;
}

StatusResult status(Repository& repo, const core::ProgressFn& progress) {
  StatusResult result;
  result.head = read_head(repo);
  Index index = Index::load(repo);
  const Tree head = head_tree(repo, result.head);
  std::map<std::string, StatusEntry> out;
  auto entry = [&](const std::string& path) -> StatusEntry& {
    auto& e = out[path];
    e.path = path;
    return e;
  };

  // Staged: index vs HEAD.
  for (const auto& e : index.entries()) {
    const FileEntry* h = head.find(e.file.path);
    if (!h) entry(e.file.path).staged = Change::added;
    else if (!h->same_content(e.file)) entry(e.file.path).staged = Change::modified;
  }
  for (const auto& f : head.files)
    if (!index.find(f.path)) entry(f.path).staged = Change::deleted;

  // Unstaged: working tree vs index, trusting the stat cache when it proves a file unchanged.
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  bool refreshed = false;
  std::vector<IndexEntry> updates;
  std::uint64_t done = 0;
  for (const auto& e : index.entries()) {
    const auto abs = repo.worktree() / e.file.path;
    const auto st = stat_worktree_file(repo.worktree(), e.file.path);
    if (!st) {
      entry(e.file.path).unstaged = Change::deleted;
      continue;
    }
    if (index.stat_clean(e, *st)) continue;
    if (st->size != e.file.size || st->mode != e.file.mode) {
      entry(e.file.path).unstaged = Change::modified;
      continue;
    }
    ++result.files_hashed;
    try {
      ParsedFile pf = parse_worktree_file(repo.worktree(), e.file.path);
      const FileEntry now = hash_file(pf, pool);
      if (now.same_content(e.file)) {
        updates.push_back({e.file, pf.stat, true});
        refreshed = true;
      } else {
        entry(e.file.path).unstaged = Change::modified;
      }
    } catch (const InvalidInputError&) {
      entry(e.file.path).unstaged = Change::modified;  // it no longer parses: it changed
    } catch (const NotFoundError&) {
      entry(e.file.path).unstaged = Change::deleted;   // vanished while we looked
    } catch (const IoError&) {
      entry(e.file.path).unstaged = Change::modified;  // changed while it was being read
    }
    done += st->size;
    if (progress) progress({"checking", done, 0});
  }

  // Untracked files.
  const auto ignore = IgnoreRules::load(repo.worktree());
  for (const auto& path : list_worktree_files(repo.worktree(), "", ignore))
    if (!index.find(path)) entry(path).unstaged = Change::untracked;

  for (auto& [path, e] : out)
    if (e.staged != Change::none || e.unstaged != Change::none) result.entries.push_back(std::move(e));

  // Refresh the stat cache of files that were re-read and found unchanged, so the next status
  // does not read them again. Best effort: skipped when another process holds the index.
  if (refreshed) {
    try {
      auto lock = core::FileLock::acquire(repo.layout().lock("index"), core::LockMode::exclusive, 0, "index", repo.verb());
      Index current = Index::load(repo);
      for (auto& u : updates) {
        const IndexEntry* cur = current.find(u.file.path);
        if (cur && cur->file == u.file) current.upsert(std::move(u));
      }
      current.save(repo);
    } catch (const LockedError&) {
    }
  }
  return result;
}

}  // namespace coral::vcs
