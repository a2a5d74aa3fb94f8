#include "coral/core/error.hpp"
#include "coral/core/log.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "base_selection.hpp"
#include "paths.hpp"
#include "scan.hpp"
#include "stage.hpp"
#include "worktree.hpp"

#include <set>

namespace coral::vcs {
namespace {

struct Candidates {
  std::set<std::string> files;    // present in the working tree
  std::set<std::string> missing;  // tracked, gone from the working tree
};

Candidates collect(Repository& repo, const Index& index, const AddOptions& o) {
  Candidates c;
  const auto ignore = IgnoreRules::load(repo.worktree());
  if (o.update_tracked) {
    std::vector<std::string> scopes;
    for (const auto& p : o.paths) scopes.push_back(to_repo_path(repo.worktree(), p));
    if (scopes.empty()) scopes.push_back("");
    for (const auto& e : index.entries()) {
      const auto& path = e.file.path;
      if (std::none_of(scopes.begin(), scopes.end(), [&](const std::string& s) { return in_scope(path, s); })) continue;
      (stat_worktree_file(repo.worktree(), path) ? c.files : c.missing).insert(path);
    }
    return c;
  }
  if (o.paths.empty()) throw UsageError("nothing specified, nothing added", {}, "try 'coral add .'");
  for (const auto& p : o.paths) {
    const std::string rel = to_repo_path(repo.worktree(), p);
    try {
      for (auto& f : list_worktree_files(repo.worktree(), rel, ignore)) c.files.insert(std::move(f));
      // Tracked files under a directory pathspec that are gone: stage their deletion (git 2.x).
      for (const auto& e : index.entries())
        if (in_scope(e.file.path, rel) && !c.files.count(e.file.path) &&
            !stat_worktree_file(repo.worktree(), e.file.path))
          c.missing.insert(e.file.path);
    } catch (const NotFoundError&) {
      // A deleted tracked file (or directory of them) stages its removal, as in git 2.x.
      bool any = false;
      for (const auto& e : index.entries())
        if (in_scope(e.file.path, rel)) {
          if (!stat_worktree_file(repo.worktree(), e.file.path)) c.missing.insert(e.file.path), any = true;
        }
      if (!any) throw NotFoundError("pathspec '" + p + "' did not match any file");
    }
  }
  return c;
}

}  // namespace

AddResult add_locked(Repository& repo, Index& index, const AddOptions& options, const core::ProgressFn& progress) {
  AddResult result;
  const Candidates cand = collect(repo, index, options);

  // Pass 1: stat, skip what the stat cache proves unchanged, map and validate the rest. A file
  // that fails validation aborts the whole call before anything is stored.
  std::vector<ParsedFile> todo;
  std::uint64_t total_bytes = 0;
  for (const auto& path : cand.files) {
    const auto st = stat_worktree_file(repo.worktree(), path);
    if (!st) throw NotFoundError("file '" + path + "' vanished while adding");
    const IndexEntry* cur = index.find(path);
    if (cur && index.stat_clean(*cur, *st)) {
      ++result.files_unchanged;
      continue;
    }
    todo.push_back(parse_worktree_file(repo.worktree(), path));
    total_bytes += todo.back().stat.size;
  }

  // Pass 2: hash and store, one pack for the whole call.
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  auto writer = repo.objects().begin_data();
  BaseSelector bases(repo.objects(), repo.max_chain(), repo.layout().similarity_dir());
  std::vector<IndexEntry> staged;
  std::uint64_t done = 0;
  for (auto& f : todo) {
    StoreContext ctx{.writer = writer.get(), .bases = &bases};
    if (const IndexEntry* before = index.find(f.path)) ctx.previous = &before->file;
    FileEntry entry = hash_file(f, pool, ctx);
    result.tensors += entry.tensors.size();
    result.bytes_scanned += f.stat.size;
    done += f.stat.size;
    if (progress) progress({"adding", done, total_bytes});
    staged.push_back({std::move(entry), f.stat, true});
    f.map.reset();
    writer->seal();
  }
  writer->commit();  // objects (and the lookup table) are durable before the index names them
  result.stored = writer->stats();
  repo.objects().drop_superseded(writer->superseded());  // records that re-encoded objects replace
  bases.publish();  // a cache: entries only for objects that are durable

  for (const auto& path : cand.missing) {  // first: a removed file "a" may make room for "a/b"
    if (index.remove(path)) result.removed.push_back(path);
  }
  for (auto& e : staged) {
    const IndexEntry* cur = index.find(e.file.path);
    if (!cur) result.added.push_back(e.file.path);
    else if (!cur->file.same_content(e.file)) result.modified.push_back(e.file.path);
    else ++result.files_unchanged;
    index.upsert(std::move(e));
  }
  core::log().info("added {} files ({} new objects, {} bytes stored)", staged.size(), result.stored.objects_written,
                   result.stored.bytes_stored);
  return result;
}

AddResult add(Repository& repo, const AddOptions& options, const core::ProgressFn& progress) {
  auto write_lock = repo.lock_for_write();
  auto index_lock = repo.lock_index();
  Index index = Index::load(repo);
  AddResult result = add_locked(repo, index, options, progress);
  index.save(repo);
  return result;
}

}  // namespace coral::vcs
