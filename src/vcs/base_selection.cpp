#include "base_selection.hpp"

#include "coral/core/error.hpp"
#include "coral/core/log.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/refs.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace coral::vcs {
namespace {

// A similar tensor is worth decoding as a base only when it is nearly the same tensor: XOR
// deltas pay off when signs, exponents and high mantissa bits agree (a fine-tune, the next
// epoch), which a cosine this high implies. The encoder still keeps a chunk's delta only when it
// is smaller.
constexpr double k_min_cosine = 0.95;
// Candidates verified on the full data, best signature first.
constexpr std::size_t k_verified_candidates = 2;

}  // namespace

struct History::State {
  Repository* repo;
  unsigned depth;
  std::once_flag loaded;
  std::vector<Tree> trees;
  std::mutex mutex;
  // path -> per tree, tensor name -> id (built on first use of the path)
  std::unordered_map<std::string, std::vector<std::unordered_map<std::string, core::ObjectId>>> by_path;
};

History::History(Repository& repo, unsigned depth) : m_state(std::make_unique<State>()) {
  m_state->repo = &repo;
  m_state->depth = depth;
}

History::~History() = default;

std::vector<core::ObjectId> History::versions(const std::string& path, const std::string& name) const {
  State& s = *m_state;
  std::call_once(s.loaded, [&] {
    std::optional<core::ObjectId> at = read_head(*s.repo).commit;
    while (at && s.trees.size() < s.depth) {
      const Commit c = s.repo->objects().read_commit(*at);
      s.trees.push_back(s.repo->objects().read_tree(c.tree));
      at = c.parents.empty() ? std::nullopt : std::optional<core::ObjectId>(c.parents.front());
    }
  });
  std::lock_guard lock(s.mutex);
  auto [it, fresh] = s.by_path.try_emplace(path);
  if (fresh) {
    for (const Tree& t : s.trees) {
      auto& names = it->second.emplace_back();
      const FileEntry* f = t.find(path);
      if (!f) continue;
      if (f->tensors.empty()) names.emplace("", f->id);
      for (const auto& x : f->tensors) names.emplace(x.name, x.id);
    }
  }
  std::vector<core::ObjectId> out;
  for (const auto& names : it->second)
    if (const auto found = names.find(name); found != names.end()) out.push_back(found->second);
  return out;
}

struct BaseSelector::State {
  std::unique_ptr<SimilarityIndex> index;
  std::mutex mutex;
  std::vector<std::pair<core::ObjectId, Signature>> noted;
};

BaseSelector::BaseSelector(const ObjectDb& db, unsigned max_chain, const std::filesystem::path& similarity_dir)
  : m_db(db), m_max_chain(max_chain), m_state(std::make_unique<State>()) {
  if (!similarity_dir.empty()) m_state->index = std::make_unique<SimilarityIndex>(similarity_dir);
}

BaseSelector::~BaseSelector() = default;

std::shared_ptr<const ChunkSource> BaseSelector::usable(const core::ObjectId& id, std::uint64_t raw_size) const {
  if (m_max_chain == 0 || id.is_zero()) return nullptr;
  auto source = ChunkSource::open(m_db.data_store(), id);
  if (!source || source->raw_size() != raw_size || source->depth() + 1 > m_max_chain) return nullptr;
  return source;
}

BasePlan BaseSelector::choose(const Lineage& lineage, core::DType dtype, std::span<const std::byte> raw,
                              const std::optional<Signature>& signature, const PieceDone& done_with) const {
  if (raw.empty() || m_max_chain == 0) return {};
  if (!lineage.previous.is_zero() && lineage.previous_dtype == dtype) {
    const auto info = m_db.data_store().find_info(lineage.previous);
    if (info && info->raw_size == raw.size()) {
      auto source = ChunkSource::open(m_db.data_store(), lineage.previous);
      if (!source) return {};
      if (source->depth() == 0) {
        if (height(lineage.previous, lineage) + 1 > m_max_chain) return {};
        return {BasePlan::Kind::reverse, std::move(source)};
      }
      if (source->depth() + 1 > m_max_chain) return {};
      return {BasePlan::Kind::forward, std::move(source)};
    }
  }
  if (!signature) return {};
  if (auto source = similar(dtype, raw, *signature, done_with)) return {BasePlan::Kind::forward, std::move(source)};
  return {};
}

unsigned BaseSelector::height(const core::ObjectId& id, const Lineage& lineage) const {
  if (!lineage.history) return 0;
  const auto history = lineage.history->versions(lineage.path, lineage.name);
  unsigned h = 0;
  core::ObjectId head = id;
  for (bool found = true; found && h <= m_max_chain;) {
    found = false;
    for (const auto& older : history) {
      if (older == head) continue;
      const auto info = m_db.data_store().find_info(older);
      if (info && info->base == head) {
        head = older;
        ++h;
        found = true;
        break;
      }
    }
  }
  return h;
}

std::shared_ptr<const ChunkSource> BaseSelector::similar(core::DType dtype, std::span<const std::byte> raw,
                                                         const Signature& signature, const PieceDone& done_with) const {
  if (!m_state->index) return nullptr;
  std::shared_ptr<const ChunkSource> best;
  double best_cosine = k_min_cosine;
  std::vector<std::byte> chunk;
  for (const auto& id : m_state->index->candidates(signature, k_verified_candidates)) {
    auto source = usable(id, raw.size());
    if (!source) continue;
    CosineAccumulator cosine(dtype);
    try {
      for (std::uint64_t i = 0; i < source->chunk_count(); ++i) {
        chunk.resize(source->chunk_size(i));
        source->read_chunk(i, chunk);
        const auto piece = raw.subspan(static_cast<std::size_t>(i << source->chunk_log2()), chunk.size());
        cosine.add(piece, chunk);
        if (done_with) done_with(piece);
      }
    } catch (const CorruptError& e) {
      core::log().warn("not using {} as a delta base: {}", id.hex(), e.what());
      continue;
    }
    if (cosine.value() > best_cosine) {
      best_cosine = cosine.value();
      best = std::move(source);
    }
  }
  return best;
}

void BaseSelector::remember(const core::ObjectId& id, const std::optional<Signature>& signature) {
  if (!m_state->index || !signature) return;
  std::lock_guard lock(m_state->mutex);
  m_state->noted.emplace_back(id, *signature);
}

void BaseSelector::publish() {
  if (!m_state->index || m_state->noted.empty()) return;
  auto& noted = m_state->noted;
  std::sort(noted.begin(), noted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  try {
    m_state->index->add(noted);
  } catch (const Error& e) {  // a cache: losing entries only costs compression
    core::log().warn("could not update the similarity index: {}", e.what());
  }
  noted.clear();
}

}  // namespace coral::vcs
