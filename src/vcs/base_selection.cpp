#include "base_selection.hpp"

#include "coral/core/error.hpp"
#include "coral/core/log.hpp"
#include "coral/storage/hdf5_store.hpp"

#include <algorithm>
#include <mutex>

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
        // Re-encoding the previous version makes every version below it one step deeper.
        const auto height = source->chain_height();
        if (!height || *height + 1 > m_max_chain) return {};
        return {BasePlan::Kind::reverse, std::move(source), *height + 1};
      }
      if (source->depth() + 1 > m_max_chain) return {};
      return {BasePlan::Kind::forward, std::move(source)};
    }
  }
  if (!signature) return {};
  if (auto source = similar(dtype, raw, *signature, done_with)) return {BasePlan::Kind::forward, std::move(source)};
  return {};
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
