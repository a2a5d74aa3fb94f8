// Rebuilding the similarity index from the objects (DESIGN.md §6: the index is a cache).

#include "chunk_source.hpp"
#include "coral/core/error.hpp"
#include "coral/core/log.hpp"
#include "coral/delta/chunks.hpp"
#include "coral/vcs/operations.hpp"
#include "reachability.hpp"
#include "similarity.hpp"

#include <cstring>

namespace coral::vcs {

std::size_t rebuild_similarity_index(Repository& repo) {
  std::vector<std::pair<core::ObjectId, Signature>> entries;
  const auto& store = repo.objects().data_store();
  const Reachable reach = find_reachable(repo);
  if (!reach.errors.empty()) throw CorruptError("cannot rebuild the similarity index: " + reach.errors.front());
  for (const auto& [id, dtype] : reach.data) {
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
