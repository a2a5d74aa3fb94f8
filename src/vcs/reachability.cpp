#include "reachability.hpp"

#include "coral/core/error.hpp"
#include "index.hpp"
#include "roots.hpp"

namespace coral::vcs {
namespace {

void add_files(Reachable& r, const std::vector<FileEntry>& files) {
  for (const FileEntry& f : files) {
    r.data.emplace(f.id, core::DType::u8);
    for (const TensorEntry& t : f.tensors) {
      const auto [it, fresh] = r.data.emplace(t.id, t.dtype);
      if (!fresh && it->second == core::DType::u8) it->second = t.dtype;  // also a whole file's bytes
    }
  }
}

}  // namespace

Reachable find_reachable(Repository& repo) {
  Reachable r;
  const ObjectDb& db = repo.objects();
  std::vector<core::ObjectId> todo;
  for (const Root& root : history_roots(repo)) {
    if (!root.commit) {
      r.errors.push_back((root.ref.empty() ? std::string() : root.ref + ": ") + root.error);
      continue;
    }
    if (root.object && *root.object != *root.commit) r.metadata.insert(*root.object);  // an annotated tag
    todo.push_back(*root.commit);
  }
  std::set<core::ObjectId> trees_with_data;
  while (!todo.empty()) {
    const core::ObjectId id = todo.back();
    todo.pop_back();
    if (!r.commits.insert(id).second) continue;
    r.metadata.insert(id);
    try {
      const Commit c = db.read_commit(id);
      for (const auto& p : c.parents) todo.push_back(p);
      r.metadata.insert(c.tree);
      if (c.pruned || !trees_with_data.insert(c.tree).second) continue;
      add_files(r, db.read_tree(c.tree).files);
    } catch (const Error& e) {
      r.errors.push_back("commit " + id.hex() + ": " + e.what());
    }
  }
  try {
    std::vector<FileEntry> staged;
    const Index index = Index::load(repo);
    for (const IndexEntry& e : index.entries()) staged.push_back(e.file);
    add_files(r, staged);
  } catch (const Error& e) {
    r.errors.push_back(std::string("index: ") + e.what());
  }
  return r;
}

}  // namespace coral::vcs
