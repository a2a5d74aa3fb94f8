#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/revision.hpp"
#include "stage.hpp"

#include <algorithm>

#include <map>
#include <queue>

namespace coral::vcs {

std::vector<Commit> log(Repository& repo, const LogOptions& options) {
  const core::ObjectId start = resolve_commit(repo, options.rev);
  // Every reachable commit and how many of its children are reachable (git's --date-order:
  // newest first, but never a parent before one of its children, even when clocks tie).
  std::map<core::ObjectId, Commit> commits;
  std::map<core::ObjectId, std::size_t> children;
  std::vector<core::ObjectId> todo{start};
  commits.emplace(start, repo.objects().read_commit(start));
  while (!todo.empty()) {
    const core::ObjectId id = todo.back();
    todo.pop_back();
    for (const auto& p : commits.at(id).parents) {
      ++children[p];
      if (commits.count(p)) continue;
      commits.emplace(p, repo.objects().read_commit(p));
      todo.push_back(p);
    }
  }
  auto later = [](const Commit* a, const Commit* b) { return a->time != b->time ? a->time < b->time : a->id < b->id; };
  std::priority_queue<const Commit*, std::vector<const Commit*>, decltype(later)> ready(later);
  ready.push(&commits.at(start));
  std::vector<Commit> out;
  while (!ready.empty()) {
    if (options.max_count >= 0 && static_cast<std::int64_t>(out.size()) >= options.max_count) break;
    const Commit* c = ready.top();
    ready.pop();
    for (const auto& p : c->parents)
      if (--children[p] == 0) ready.push(&commits.at(p));
    out.push_back(*c);
  }
  return out;
}

ShowResult show(Repository& repo, const std::string& spec) {
  ShowResult r;
  const RevPath rp = split_rev_path(spec);
  const core::ObjectId id = resolve_commit(repo, rp.rev.empty() ? "HEAD" : rp.rev);
  const Commit c = repo.objects().read_commit(id);
  const Tree tree = repo.objects().read_tree(c.tree);
  if (!rp.path.empty() || spec.find(':') != std::string::npos) {
    std::string path = rp.path;
    while (!path.empty() && path.back() == '/') path.pop_back();
    const FileEntry* f = tree.find(path);
    if (!f) throw NotFoundError("path '" + path + "' does not exist in '" + rp.rev + "'");
    r.file = *f;
    return r;
  }
  const Tree parent = c.parents.empty() ? Tree{} : repo.objects().read_tree(repo.objects().read_commit(c.parents[0]).tree);
  r.changes = tree_changes(parent, tree);
  r.commit = c;
  return r;
}

}  // namespace coral::vcs
