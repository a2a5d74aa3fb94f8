// gc: plan (gc_plan.hpp), then execute under the exclusive gc lock (DESIGN.md §8, STYLE.md §9.6).
//
// Execution order, each step leaving a valid repository when killed:
//  1. live objects whose delta base goes are re-encoded into a new pack (a second record each,
//     both valid while the old base still exists);
//  2. the packs holding dropped records are rewritten, and small packs consolidated
//     (Hdf5Store::rewrite_packs: new packs, then the lookup table, then the deletions);
//  3. loose metadata objects no root reaches are deleted;
//  4. the similarity index forgets removed objects; leftovers of killed processes are deleted.

#include "chunk_encoder.hpp"
#include "chunk_source.hpp"
#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/maintenance.hpp"
#include "gc_leftovers.hpp"
#include "gc_plan.hpp"
#include "gc_run.hpp"
#include "reachability.hpp"
#include "similarity.hpp"

#include <algorithm>
#include <filesystem>
#include <mutex>

namespace coral::vcs {
namespace {

// Forwards replacement records to the store's batch (none: a dry run) and notes each one's size.
class RecordingBatch final : public storage::WriteBatch {
public:
  explicit RecordingBatch(std::unique_ptr<storage::WriteBatch> inner) : m_inner(std::move(inner)) {}
  void put(const storage::ObjectInfo&, std::span<const std::byte>) override {
    CORAL_ASSERT(!"gc stores replacement records only");
  }
  void put_replacement(const core::ObjectId& id, std::uint64_t raw_size, const Producer& produce) override {
    std::uint64_t size = 0;
    const auto counted = [&](const PieceSink& sink) {
      return produce([&](std::span<const std::byte> piece) {
        size += piece.size();
        if (sink) sink(piece);
      });
    };
    if (m_inner) m_inner->put_replacement(id, raw_size, counted);
    else counted(PieceSink{});
    std::lock_guard lock(m_mutex);
    m_bytes += size;
  }
  void commit() override {
    if (m_inner) m_inner->commit();
  }
  std::uint64_t bytes() const {
    std::lock_guard lock(m_mutex);
    return m_bytes;
  }

private:
  std::unique_ptr<storage::WriteBatch> m_inner;
  mutable std::mutex m_mutex;
  std::uint64_t m_bytes = 0;
};

// Re-encodes the planned objects (stored, or only measured for a dry run); returns their new
// stored bytes.
std::uint64_t reencode(Repository& repo, const GcPlanned& plan, const Reachable& reach, bool dry_run,
                       const core::ProgressFn& progress) {
  if (plan.reencode.empty()) return 0;
  storage::Hdf5Store& store = repo.objects().data_store();
  auto recording = std::make_unique<RecordingBatch>(dry_run ? nullptr : store.begin_write());
  RecordingBatch& batch = *recording;
  DataWriter writer(std::move(recording), store, repo.objects().options().zstd_level);
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  std::uint64_t done = 0, total = 0;
  for (const GcReencode& r : plan.reencode) total += r.raw_size;
  for (const GcReencode& r : plan.reencode) {
    const auto source = ChunkSource::open(store, r.id);
    if (!source) throw CorruptError("object " + r.id.hex() + " cannot be re-encoded: it is not stored in chunks");
    ChunkJob job;
    job.id = r.id;
    job.raw_size = r.raw_size;
    const auto dtype = reach.data.find(r.id);
    job.dtype = dtype == reach.data.end() ? core::DType::u8 : dtype->second;
    job.fill = base_chunks(source);
    job.replacement = true;
    job.chain_height = r.chain_height;
    if (!r.base.is_zero()) {
      job.base_id = r.base;
      job.base_fill = base_chunks(ChunkSource::open(store, r.base));
    }
    store_chunked(writer, job, &pool);
    done += r.raw_size;
    if (progress) progress({"re-encoding", done, total});
  }
  writer.commit();
  return batch.bytes();
}

}  // namespace

GcSurvey survey_for_gc(Repository& repo, bool repack) {
  GcSurvey s;
  s.reach = find_reachable(repo);
  GcPlanInput input;
  input.records = repo.objects().data_store().records();
  input.left_out = repo.objects().data_store().left_out_records();
  for (const auto& [id, dtype] : s.reach.data) input.live.insert(id);
  input.max_pack_bytes = repo.objects().options().max_pack_bytes;
  input.repack = repack;
  s.plan = plan_gc(input);
  for (const auto& info : repo.objects().list_metadata()) {
    s.metadata_bytes += info.stored_size;
    if (s.reach.metadata.contains(info.id)) continue;
    s.dead_metadata.push_back(info.id);
    s.dead_metadata_bytes += info.stored_size;
  }
  return s;
}

GcResult gc(Repository& repo, const GcOptions& options, const core::ProgressFn& progress) {
  const core::FileLock lock = options.dry_run ? repo.lock_for_write() : repo.lock_for_gc();
  repo.objects().refresh();  // writers may have added packs while this process waited
  return run_gc_locked(repo, options, progress);
}

GcResult run_gc_locked(Repository& repo, const GcOptions& options, const core::ProgressFn& progress) {
  GcResult r;
  r.dry_run = options.dry_run;
  if (!options.dry_run) r.disk_bytes_before = core::fs::tree_bytes(repo.layout().coral_dir());

  // Plan.
  const GcSurvey survey = survey_for_gc(repo, options.repack);
  const Reachable& reach = survey.reach;
  const GcPlanned& plan = survey.plan;
  if (!reach.errors.empty())
    throw CorruptError("gc deleted nothing: cannot read " + reach.errors.front(), {},
                       "run 'coral fsck' to find the damage; gc runs once every root reads");
  if (!plan.missing.empty())
    throw CorruptError("gc deleted nothing: object " + plan.missing.front().hex() +
                           (plan.missing.size() > 1 ? " (and " + std::to_string(plan.missing.size() - 1) + " more)" : "") +
                           " that a commit or the index needs is missing or cannot be decoded",
                       {}, "run 'coral fsck' to see which commits it damages");
  storage::Hdf5Store& store = repo.objects().data_store();
  const std::vector<Leftover> leftovers = find_leftovers(repo);

  r.objects_removed = plan.dead_objects;
  r.metadata_removed = survey.dead_metadata.size();
  r.records_dropped = plan.drop.size() - plan.dead_records - plan.reencode.size();
  r.objects_reencoded = plan.reencode.size();
  const std::vector<std::string> packs_before = store.list_packs();
  r.packs_before = packs_before.size();
  r.packs_removed = plan.remove.size();
  r.packs_rewritten = plan.rewrite.size() - plan.remove.size();
  r.packs_consolidated = plan.consolidated;
  r.bytes_before = plan.record_bytes + survey.metadata_bytes;
  r.temp_files_removed = leftovers.size();
  for (const Leftover& l : leftovers) r.temp_bytes += l.bytes;

  // Execute (a dry run only measures the re-encodings, which decide bytes_after).
  const std::uint64_t reencoded_bytes = reencode(repo, plan, reach, options.dry_run, progress);
  r.bytes_after = r.bytes_before - plan.drop_bytes - survey.dead_metadata_bytes + reencoded_bytes;
  if (options.dry_run) return r;
  // The packs of the re-encoded records join the rewrite (when small), so that they do not stay
  // behind as small packs of their own.
  std::set<std::string> rewrite = plan.rewrite, reencoded_packs;
  for (const std::string& name : store.list_packs())
    if (!std::binary_search(packs_before.begin(), packs_before.end(), name)) reencoded_packs.insert(name);
  for (const std::string& name : reencoded_packs) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(repo.layout().pack(name), ec);
    if (!rewrite.empty() && !ec && 2 * size < repo.objects().options().max_pack_bytes) rewrite.insert(name);
  }
  if (progress && !rewrite.empty()) progress({"rewriting packs", 0, rewrite.size()});
  try {
    store.rewrite_packs(rewrite, plan.drop);
  } catch (const Error&) {
    // Failed before its lookup table was written (e.g. the disk is full): the re-encoded records
    // are copies nothing needs yet; take them back so that the repository is as it was.
    try {
      if (!store.retire_if_listed(reencoded_packs, plan.rewrite))
        core::log().debug("gc failed after rewriting the lookup table; its re-encoded records stay");
    } catch (const Error& undo) {
      core::log().warn("could not take back the re-encoded records (they are valid; the next gc settles them): {}",
                       undo.what());
    }
    throw;
  }
  repo.objects().remove_metadata(survey.dead_metadata);
  if (plan.dead_objects > 0) {
    try {
      SimilarityIndex(repo.layout().similarity_dir()).retain([&](const core::ObjectId& id) { return store.has(id); });
    } catch (const Error& e) {
      core::log().warn("could not update the similarity index (a cache; 'coral fsck --rebuild-index' rebuilds it): {}",
                       e.what());
    }
  }
  remove_leftovers(leftovers);
  r.packs_after = store.list_packs().size();
  r.disk_bytes_after = core::fs::tree_bytes(repo.layout().coral_dir());
  core::log().debug("gc: {} objects removed, {} re-encoded, {} packs rewritten, {} removed", r.objects_removed,
                    r.objects_reencoded, r.packs_rewritten, r.packs_removed);
  return r;
}

}  // namespace coral::vcs
