#include "coral/core/error.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/revision.hpp"
#include "scan.hpp"
#include "stage.hpp"
#include "tensor_stats.hpp"

#include <map>
#include <set>

namespace coral::vcs {
namespace {

// One side of a diff: a tree, plus the working-tree files it was read from (if any), whose
// tensor bytes come from the file rather than the object store.
struct Side {
  Tree tree;
  std::map<std::string, ParsedFile> files;

  std::vector<std::byte> tensor_bytes(Repository& repo, const std::string& path, const TensorEntry& t) const {
    auto it = files.find(path);
    if (it != files.end()) {
      const auto span = extent_bytes(it->second, t);
      return {span.begin(), span.end()};
    }
    return repo.objects().read_data(t.id);
  }
};

Side commit_side(Repository& repo, const std::string& rev) {
  return {repo.objects().read_data_tree(resolve_commit(repo, rev)), {}};
}

// Tracked files as they are in the working tree (files the stat cache proves unchanged are taken
// from the index without reading them).
Side worktree_side(Repository& repo, const Index& index) {
  Side side;
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  for (const auto& e : index.entries()) {
    const auto abs = repo.worktree() / e.file.path;
    const auto st = stat_worktree_file(repo.worktree(), e.file.path);
    if (!st) continue;
    if (index.stat_clean(e, *st)) {
      side.tree.files.push_back(e.file);
      continue;
    }
    ParsedFile pf = parse_worktree_file(repo.worktree(), e.file.path);
    side.tree.files.push_back(hash_file(pf, pool));
    side.files.emplace(e.file.path, std::move(pf));
  }
  return side;
}

void diff_tensors(Repository& repo, const Side& a, const Side& b, FileDiff& fd, bool with_stats) {
  std::map<std::string, const TensorEntry*> old_t, new_t;
  if (fd.old_entry) for (const auto& t : fd.old_entry->tensors) old_t[t.name] = &t;
  if (fd.new_entry) for (const auto& t : fd.new_entry->tensors) new_t[t.name] = &t;
  std::set<std::string> names;
  for (const auto& [n, _] : old_t) names.insert(n);
  for (const auto& [n, _] : new_t) names.insert(n);
  for (const auto& name : names) {
    const auto* o = old_t.count(name) ? old_t[name] : nullptr;
    const auto* n = new_t.count(name) ? new_t[name] : nullptr;
    TensorDiff td;
    td.name = name;
    if (o) td.old_entry = *o;
    if (n) td.new_entry = *n;
    if (!o) td.change = Change::added;
    else if (!n) td.change = Change::deleted;
    else if (o->id == n->id && o->dtype == n->dtype && o->shape == n->shape) continue;
    else td.change = Change::modified;
    if (o && n && with_stats && o->dtype == n->dtype && o->shape == n->shape && core::is_float(o->dtype)) {
      const auto x = a.tensor_bytes(repo, fd.path, *o);
      const auto y = b.tensor_bytes(repo, fd.path, *n);
      td.stats = compute_tensor_stats(o->dtype, x, o->big_endian, y, n->big_endian);
    }
    fd.tensors.push_back(std::move(td));
  }
}

}  // namespace

std::vector<FileDiff> diff(Repository& repo, const DiffOptions& options) {
  if (options.revs.size() > 2) throw UsageError("diff takes at most two revisions");
  Side a, b;
  if (options.revs.size() == 2) {
    a = commit_side(repo, options.revs[0]);
    b = commit_side(repo, options.revs[1]);
  } else {
    const Index index = Index::load(repo);
    a = options.revs.empty() ? Side{index.to_tree(), {}} : commit_side(repo, options.revs[0]);
    b = worktree_side(repo, index);
  }
  std::vector<FileDiff> out;
  std::set<std::string> paths;
  for (const auto& f : a.tree.files) paths.insert(f.path);
  for (const auto& f : b.tree.files) paths.insert(f.path);
  for (const auto& path : paths) {
    const FileEntry* o = a.tree.find(path);
    const FileEntry* n = b.tree.find(path);
    if (o && n && o->same_content(*n)) continue;
    FileDiff fd;
    fd.path = path;
    if (o) fd.old_entry = *o;
    if (n) fd.new_entry = *n;
    fd.change = !o ? Change::added : !n ? Change::deleted : Change::modified;
    fd.skeleton_changed = o && n && (o->id != n->id || o->format != n->format);
    diff_tensors(repo, a, b, fd, options.stats);
    out.push_back(std::move(fd));
  }
  return out;
}

}  // namespace coral::vcs
