// Rebuilding the similarity index from the objects (DESIGN.md §6: the index is a cache).

#include "chunk_source.hpp"
#include "coral/core/error.hpp"
#include "coral/core/log.hpp"
#include "coral/delta/chunks.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "index.hpp"
#include "roots.hpp"
#include "similarity.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace coral::vcs {
namespace {

// Every tensor of every commit reachable from a branch, a tag or HEAD, and of the index.
std::map<core::ObjectId, core::DType> reachable_tensors(Repository& repo) {
  std::map<core::ObjectId, core::DType> tensors;
  const auto collect = [&](const FileEntry& f) {
    for (const auto& t : f.tensors) tensors.emplace(t.id, t.dtype);
  };
  std::vector<core::ObjectId> todo;
  for (const Root& root : history_roots(repo)) {
    if (!root.commit) throw CorruptError(root.error);
    todo.push_back(*root.commit);
  }
  std::set<core::ObjectId> seen_commits, seen_trees;
  while (!todo.empty()) {
    const core::ObjectId id = todo.back();
    todo.pop_back();
    if (!seen_commits.insert(id).second) continue;
    const Commit c = repo.objects().read_commit(id);
    for (const auto& p : c.parents) todo.push_back(p);
    if (c.pruned || !seen_trees.insert(c.tree).second) continue;  // a pruned commit's data may be gone
    for (const auto& f : repo.objects().read_tree(c.tree).files) collect(f);
  }
  const Index index = Index::load(repo);
  for (const auto& e : index.entries()) collect(e.file);
  return tensors;
}

}  // namespace

std::size_t rebuild_similarity_index(Repository& repo) {
  std::vector<std::pair<core::ObjectId, Signature>> entries;
  const auto& store = repo.objects().data_store();
  for (const auto& [id, dtype] : reachable_tensors(repo)) {
    const auto info = store.find_info(id);
    if (!info || !core::is_float(dtype)) continue;
    const std::size_t width = core::dtype_size(dtype);
    if (info->raw_size / width < k_min_similarity_elements) continue;
    const auto source = ChunkSource::open(store, id);
    if (!source) continue;
    // Samples come in increasing order: each chunk is decoded at most once.
    std::vector<std::byte> chunk;
    std::uint64_t loaded = ~std::uint64_t{0};
    const auto signature = tensor_signature(info->raw_size / width, dtype, [&](std::uint64_t i, std::span<std::byte> out) {
      const std::uint64_t at = i * width, c = at >> source->chunk_log2();
      if (c != loaded) {
        chunk.resize(source->chunk_size(c));
        source->read_chunk(c, chunk);
        loaded = c;
      }
      std::memcpy(out.data(), chunk.data() + (at - (c << source->chunk_log2())), out.size());
    });
    if (signature) entries.emplace_back(id, *signature);
  }
  SimilarityIndex(repo.layout().similarity_dir()).rebuild(entries);
  core::log().info("similarity index rebuilt: {} tensors", entries.size());
  return entries.size();
}

}  // namespace coral::vcs
