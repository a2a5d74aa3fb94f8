// stats: logical vs stored bytes, objects by encoding, dedup, delta depths and what a gc could
// reclaim (gc's own plan). The walk follows fsck's: every branch, tag, HEAD and the index.
// Read-only, no lock.

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/delta/codec.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"
#include "coral/vcs/refs.hpp"
#include "gc_run.hpp"
#include "roots.hpp"

#include <filesystem>
#include <set>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

namespace coral::vcs {
namespace {

namespace fs = std::filesystem;
using InfoMap = std::unordered_map<core::ObjectId, storage::ObjectInfo, core::ObjectIdHash>;
using IdSet = std::unordered_set<core::ObjectId, core::ObjectIdHash>;

// What one tree contributes each time a commit names it.
struct TreeSummary {
  std::uint64_t logical = 0;
  std::vector<core::ObjectId> refs;  // skeleton / whole-file and tensor objects, with repeats
};

class Walker {
public:
  Walker(const ObjectDb& db, const InfoMap& infos, StatsResult& result) : m_db(db), m_infos(infos), m_r(result) {}

  // Every commit reachable from `start` (all parents), each once over the whole walk.
  void walk(const core::ObjectId& start) {
    std::vector<core::ObjectId> todo{start};
    while (!todo.empty()) {
      const core::ObjectId id = todo.back();
      todo.pop_back();
      if (!m_commits.insert(id).second) continue;
      Commit c;
      try {
        c = m_db.read_commit(id);
      } catch (const Error&) {
        continue;  // damaged: fsck names it
      }
      ++m_r.commits;
      for (const auto& p : c.parents) todo.push_back(p);
      const TreeSummary* t = tree(c.tree);
      if (!t) continue;
      if (c.pruned) {  // its data may be gone by design
        ++m_r.pruned_commits;
        m_r.logical_bytes_pruned += t->logical;
        continue;
      }
      m_r.logical_bytes_history += t->logical;
      for (const auto& ref : t->refs) {
        ++m_r.references;
        m_ref_raw += raw_size(ref);
        if (m_distinct.insert(ref).second) m_distinct_raw += raw_size(ref);
      }
    }
  }

  std::uint64_t head_logical(const core::ObjectId& commit) {
    try {
      const TreeSummary* t = tree(m_db.read_commit(commit).tree);
      return t ? t->logical : 0;
    } catch (const Error&) {
      return 0;
    }
  }

  void finish() {
    m_r.distinct = m_distinct.size();
    m_r.saved_bytes = m_ref_raw - m_distinct_raw;
  }

private:
  std::uint64_t raw_size(const core::ObjectId& id) const {
    const auto it = m_infos.find(id);
    return it == m_infos.end() ? 0 : it->second.raw_size;
  }

  const TreeSummary* tree(const core::ObjectId& id) {
    if (const auto it = m_trees.find(id); it != m_trees.end()) return &it->second;
    Tree t;
    try {
      t = m_db.read_tree(id);
    } catch (const Error&) {
      return nullptr;
    }
    TreeSummary s;
    for (const FileEntry& f : t.files) {
      s.logical += f.size;
      s.refs.push_back(f.id);
      for (const auto& tensor : f.tensors) s.refs.push_back(tensor.id);
    }
    return &m_trees.emplace(id, std::move(s)).first->second;
  }

  const ObjectDb& m_db;
  const InfoMap& m_infos;
  StatsResult& m_r;
  std::set<core::ObjectId> m_commits;
  std::unordered_map<core::ObjectId, TreeSummary, core::ObjectIdHash> m_trees;
  IdSet m_distinct;
  std::uint64_t m_ref_raw = 0, m_distinct_raw = 0;
};

// Branches, tags (an annotated tag's commit) and HEAD; a root that cannot be read throws
// CorruptError.
void walk_roots(Repository& repo, Walker& w, StatsResult& r) {
  for (const Root& root : history_roots(repo)) {
    if (!root.commit) {
      if (root.missing) continue;  // a tag naming nothing: fsck reports it
      throw CorruptError("cannot read the repository's roots: " + root.error);
    }
    w.walk(*root.commit);
    if (root.ref == "HEAD") r.logical_bytes_head = w.head_logical(*root.commit);
  }
}

// What a gc would reclaim now: its plan (gc_plan.hpp) over the live objects.
void reclaimable(Repository& repo, StatsResult& r) {
  const GcSurvey survey = survey_for_gc(repo, false);
  for (const std::string& e : survey.reach.errors)
    if (e.rfind("index: ", 0) == 0) throw CorruptError("cannot read the repository's roots: " + e);
  const GcPlanned& plan = survey.plan;
  r.unreachable_objects = plan.dead_objects;
  std::uint64_t replaced = 0;
  for (const GcReencode& e : plan.reencode) replaced += e.old_stored;
  r.reclaimable_bytes = plan.drop_bytes - replaced;
  r.reencode_objects = plan.reencode.size();
  r.reencode_bytes = replaced;
  r.unreachable_metadata = survey.dead_metadata.size();
  r.reclaimable_metadata_bytes = survey.dead_metadata_bytes;
}

// Delta steps from each object to a self-contained one, memoized; a chain through a missing
// base stops there.
using DepthMemo = std::unordered_map<core::ObjectId, unsigned, core::ObjectIdHash>;
unsigned depth_of(const core::ObjectId& id, const InfoMap& infos, DepthMemo& memo) {
  std::vector<core::ObjectId> chain;
  core::ObjectId at = id;
  unsigned depth = 0;
  while (chain.size() <= infos.size()) {
    if (const auto m = memo.find(at); m != memo.end()) {
      depth = m->second;
      break;
    }
    const auto it = infos.find(at);
    if (it == infos.end() || it->second.base.is_zero()) break;
    chain.push_back(at);
    at = it->second.base;
  }
  for (auto c = chain.rbegin(); c != chain.rend(); ++c) memo[*c] = ++depth;
  return depth;
}

void disk_usage(const storage::Layout& layout, const std::vector<std::string>& packs, StatsResult& r) {
  r.stored_bytes = core::fs::tree_bytes(layout.coral_dir());
  r.packs = packs.size();
  for (const auto& p : packs) {
    std::error_code fec;
    const auto size = fs::file_size(layout.pack(p), fec);
    if (!fec) r.pack_bytes += size;
  }
}

}  // namespace

StatsResult stats(Repository& repo) {
  StatsResult r;
  const storage::Hdf5Store& store = repo.objects().data_store();
  InfoMap infos;
  for (const auto& info : store.list()) infos.emplace(info.id, info);
  r.objects = infos.size();

  Walker walker(repo.objects(), infos, r);
  walk_roots(repo, walker, r);
  walker.finish();
  reclaimable(repo, r);

  DepthMemo memo;
  for (const auto& [id, info] : infos) {
    EncodingStats& e = r.by_encoding[delta::encoding_name(static_cast<delta::Encoding>(info.encoding))];
    ++e.objects;
    e.raw_bytes += info.raw_size;
    e.stored_bytes += info.stored_size;
    ++r.delta_depth[depth_of(id, infos, memo)];
  }

  disk_usage(repo.layout(), store.list_packs(), r);
  if (r.stored_bytes > 0) {
    r.ratio = static_cast<double>(r.logical_bytes_history) / static_cast<double>(r.stored_bytes);
    r.ratio_head = static_cast<double>(r.logical_bytes_head) / static_cast<double>(r.stored_bytes);
  }
  return r;
}

}  // namespace coral::vcs
