// fsck: every root (branches, tags, HEAD, the index) down to every data object, then the pack
// lookup table against the packs. Read-only: no lock, nothing written (except --rebuild-index).

#include "chunk_source.hpp"
#include "coral/core/error.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"
#include "coral/vcs/refs.hpp"
#include "index.hpp"
#include "roots.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace coral::vcs {
namespace {

// Where an object was first met.
struct Context {
  std::string ref;
  std::optional<core::ObjectId> commit;
  std::string path, tensor;
};

struct DataObject {
  core::ObjectId id;
  Context where;
};

class Walker {
public:
  Walker(Repository& repo, FsckResult& result) : m_db(repo.objects()), m_result(result) {}

  void problem(const std::string& kind, const Context& where, const std::optional<core::ObjectId>& object,
               const std::string& message) {
    m_result.problems.push_back(
      {kind, object, where.commit, where.ref, where.path, where.tensor, std::string{}, message});
  }

  // The commits reachable from `start` (all parents), each once over the whole walk.
  void walk(const std::string& ref, const core::ObjectId& start) {
    std::vector<core::ObjectId> todo{start};
    while (!todo.empty()) {
      const core::ObjectId id = todo.back();
      todo.pop_back();
      if (!m_commits.insert(id).second) continue;
      ++m_result.commits;
      const Context where{ref, id, {}, {}};
      Commit c;
      try {
        c = m_db.read_commit(id);
      } catch (const NotFoundError&) {
        problem("missing", where, id, "commit " + id.hex() + " is missing");
        continue;
      } catch (const Error& e) {
        problem("corrupt", where, id, e.what());
        continue;
      }
      for (auto p = c.parents.rbegin(); p != c.parents.rend(); ++p) todo.push_back(*p);
      // A pruned commit keeps its commit and tree objects; its data may be gone by design, so
      // its files are not checked (a kept commit sharing the tree checks them).
      tree(where, c.tree, !c.pruned);
    }
  }

  void tree(const Context& where, const core::ObjectId& id, bool with_data) {
    auto [it, fresh] = m_trees.emplace(id, false);
    if (fresh) {
      ++m_result.trees;
    } else if (it->second || !with_data) {
      return;  // checked already (with its data when asked)
    }
    Tree t;
    try {
      t = m_db.read_tree(id);
    } catch (const NotFoundError&) {
      if (fresh) problem("missing", where, id, "tree " + id.hex() + " is missing");
      it->second = true;
      return;
    } catch (const Error& e) {
      if (fresh) problem("corrupt", where, id, e.what());
      it->second = true;
      return;
    }
    if (!with_data) return;
    it->second = true;
    files(where, t.files);
  }

  void files(const Context& where, const std::vector<FileEntry>& entries) {
    for (const FileEntry& f : entries) {
      Context at = where;
      at.path = f.path;
      data(at, f.id);
      for (const TensorEntry& t : f.tensors) {
        at.tensor = t.name;
        data(at, t.id);
      }
    }
  }

  std::vector<DataObject> take_objects() { return std::move(m_objects); }

private:
  void data(const Context& where, const core::ObjectId& id) {
    if (m_data.insert(id).second) m_objects.push_back({id, where});
  }

  ObjectDb& m_db;
  FsckResult& m_result;
  std::set<core::ObjectId> m_commits, m_data;
  std::map<core::ObjectId, bool> m_trees;  // tree -> its data was collected
  std::vector<DataObject> m_objects;       // in walk order
};

void walk_roots(Repository& repo, Walker& w) {
  // HEAD comes last: it adds anything only when detached.
  for (const Root& root : history_roots(repo)) {
    if (root.commit) w.walk(root.ref, *root.commit);
    else w.problem(root.missing ? "missing" : "corrupt", {root.ref, std::nullopt, {}, {}}, root.object, root.error);
  }
  try {
    const Index index = Index::load(repo);
    std::vector<FileEntry> staged;
    for (const IndexEntry& e : index.entries()) staged.push_back(e.file);
    w.files({"index", std::nullopt, {}, {}}, staged);
  } catch (const Error& e) {
    w.problem("corrupt", {"index", std::nullopt, {}, {}}, std::nullopt, e.what());
  }
}

// Present, its base chain opens and (full) it decodes to its id. Returns kind and message.
std::optional<std::pair<std::string, std::string>> check_object(const ObjectDb& db, const core::ObjectId& id,
                                                                bool full) {
  try {
    if (!db.has_data(id)) return std::pair<std::string, std::string>{"missing", "object " + id.hex() + " is missing"};
    ChunkSource::open(db.data_store(), id);  // nullptr: a coral 0.1 object that is only streamed
    if (full) db.stream_data(id, [](std::span<const std::byte>) {});
  } catch (const NotFoundError& e) {
    return std::pair<std::string, std::string>{"missing", e.what()};
  } catch (const Error& e) {
    return std::pair<std::string, std::string>{"corrupt", e.what()};
  }
  return std::nullopt;
}

// Checks the objects on the pool in batches; problems by index, so the order is the walk's.
void check_objects(Repository& repo, const std::vector<DataObject>& objects, bool full, FsckResult& result,
                   const core::ProgressFn& progress) {
  const ObjectDb& db = repo.objects();
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  std::vector<std::optional<std::pair<std::string, std::string>>> found(objects.size());
  const std::size_t batch = std::max<std::size_t>(64, pool.size() * 4);
  for (std::size_t begin = 0; begin < objects.size(); begin += batch) {
    const std::size_t n = std::min(batch, objects.size() - begin);
    pool.parallel_for(n, [&](std::size_t i) { found[begin + i] = check_object(db, objects[begin + i].id, full); });
    if (progress) progress({full ? "verifying objects" : "checking objects", begin + n, objects.size()});
  }
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (!found[i]) continue;
    const Context& at = objects[i].where;
    FsckProblem p{found[i]->first, objects[i].id, at.commit, at.ref, at.path, at.tensor, {}, found[i]->second};
    if (p.kind == "corrupt") {
      try {
        p.pack = db.data_store().find_pack_of(objects[i].id).value_or("");
      } catch (const Error&) {
      }
    }
    result.problems.push_back(std::move(p));
  }
}

FsckRebuild rebuild_indexes(Repository& repo) {
  const auto lock = repo.lock_for_write();
  FsckRebuild r;
  repo.objects().data_store().rebuild_lookup();
  r.packs = repo.objects().data_store().list_packs().size();
  try {
    r.similarity_tensors = rebuild_similarity_index(repo);
  } catch (const Error& e) {  // damage the check below names precisely
    r.similarity_error = e.what();
  }
  return r;
}

}  // namespace

FsckResult fsck(Repository& repo, const FsckOptions& options, const core::ProgressFn& progress) {
  FsckResult result;
  result.full = options.full;
  if (options.rebuild_index) result.rebuilt = rebuild_indexes(repo);
  Walker walker(repo, result);
  walk_roots(repo, walker);
  const std::vector<DataObject> objects = walker.take_objects();
  result.objects = objects.size();
  check_objects(repo, objects, options.full, result, progress);
  const storage::Hdf5Store& store = repo.objects().data_store();
  result.packs = store.list_packs().size();
  for (storage::LookupProblem& p : store.check_lookup())
    result.problems.push_back({"lookup", p.object, std::nullopt, {}, {}, {}, std::move(p.pack), std::move(p.message)});
  return result;
}

}  // namespace coral::vcs
