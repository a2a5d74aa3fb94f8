#include "coral/core/error.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "paths.hpp"
#include "scan.hpp"
#include "stage.hpp"

#include <filesystem>

namespace coral::vcs {

RmResult rm(Repository& repo, const RmOptions& o) {
  if (o.paths.empty()) throw UsageError("nothing specified, nothing removed");
  auto write_lock = repo.lock_for_write();
  auto index_lock = repo.lock_index();
  Index index = Index::load(repo);
  const Tree head = head_tree(repo, read_head(repo));
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  std::vector<std::string> selected;
  for (const auto& p : o.paths) {
    const std::string rel = to_repo_path(repo.worktree(), p);
    bool any = false;
    for (const auto& e : index.entries()) {
      if (!in_scope(e.file.path, rel)) continue;
      const bool exact = e.file.path == rel;
      if (!exact && !o.recursive) throw UsageError("not removing '" + p + "' recursively without -r");
      selected.push_back(e.file.path);
      any = true;
    }
    if (!any) throw NotFoundError("pathspec '" + p + "' did not match any tracked file");
  }
  // Refuse to lose changes that exist nowhere else, as git does.
  if (!o.force) {
    for (const auto& path : selected) {
      const IndexEntry& e = *index.find(path);
      const FileEntry* h = head.find(path);
      const bool staged = !h || !h->same_content(e.file);
      bool modified = false;
      if (const auto st = stat_worktree_file(repo.worktree(), path); st && !index.stat_clean(e, *st)) {
        try {
          ParsedFile pf = parse_worktree_file(repo.worktree(), path);
          modified = !hash_file(pf, pool).same_content(e.file);
        } catch (const InvalidInputError&) {
          modified = true;  // it no longer parses, so it differs from what was staged
        }
      }
      if ((staged && modified) || (!o.cached && (staged || modified)))
        throw ConflictError("'" + path + "' has changes that are not committed", {},
                            o.cached ? "pass -f to remove it anyway" : "use --cached to keep the file, or -f to remove it anyway");
    }
  }
  RmResult r;
  for (const auto& path : selected) {
    index.remove(path);
    if (!o.cached) {
      std::error_code ec;
      std::filesystem::remove(worktree_path_for_write(repo.worktree(), path), ec);
    }
    r.removed.push_back(path);
  }
  index.save(repo);
  return r;
}

}  // namespace coral::vcs
