#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/revision.hpp"
#include "stage.hpp"

#include <algorithm>

#include <queue>
#include <set>

namespace coral::vcs {

std::vector<Commit> log(Repository& repo, const LogOptions& options) {
  std::vector<Commit> out;
  const core::ObjectId start = resolve_commit(repo, options.rev);
  // Newest first across merges (git's default date order), each commit once.
  auto later = [](const Commit& a, const Commit& b) { return a.time != b.time ? a.time < b.time : a.id < b.id; };
  std::priority_queue<Commit, std::vector<Commit>, decltype(later)> queue(later);
  std::set<core::ObjectId> seen{start};
  queue.push(repo.objects().read_commit(start));
  while (!queue.empty()) {
    if (options.max_count >= 0 && static_cast<std::int64_t>(out.size()) >= options.max_count) break;
    Commit c = queue.top();
    queue.pop();
    for (const auto& p : c.parents)
      if (seen.insert(p).second) queue.push(repo.objects().read_commit(p));
    out.push_back(std::move(c));
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
