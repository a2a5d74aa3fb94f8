// SimilarityIndex: a directory of immutable segments (similarity_segment.hpp).
//
// Writers publish one new segment per add() (temp + fsync + rename + dir fsync), so a reader sees
// either all of a batch or none of it. When a writer sees more than k_max_segments segments, it
// tries a non-blocking exclusive flock on "merge.lock" (persistent, never deleted); the holder
// re-lists, merges the smallest segments into one, publishes it and only then deletes the inputs.
// A reader that listed a segment that was merged meanwhile either maps it before the delete (the
// mapping stays valid) or finds it gone and skips it: its entries are in the merged segment, which
// the next listing sees. Duplicates across segments are dropped at lookup.

#include "similarity.hpp"

#include "similarity_segment.hpp"

#include "coral/core/error.hpp"
#include "coral/core/file_lock.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <system_error>

namespace coral::vcs {
namespace {

using similarity::Record;
using similarity::Segment;

constexpr std::size_t k_max_segments = 8;    // more than this: merge
constexpr std::size_t k_merged_segments = 4;  // a merge leaves at most this many
constexpr double k_rebuild_lock_wait = 30;
constexpr auto k_stale_temp_age = std::chrono::hours(1);
constexpr const char* k_lock_name = "merge.lock";

struct OpenProblem {
  bool vanished = false;  // merged and removed since it was listed
  bool damaged = false;
};

// Opens a segment; nullptr (logged unless it vanished) when it vanished, is damaged or unreadable.
std::unique_ptr<Segment> try_open(const std::filesystem::path& path, OpenProblem* problem = nullptr) {
  try {
    return Segment::open(path);
  } catch (const NotFoundError&) {
    if (problem) problem->vanished = true;
    return nullptr;
  } catch (const Error& e) {
    core::log().warn("similarity index: ignoring {}: {} ({})", path.string(), e.what(), e.detail());
    if (problem) problem->damaged = e.kind() == ErrorKind::corrupt;
    return nullptr;
  }
}

void remove_quietly(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) core::log().debug("similarity index: cannot remove {}: {}", path.string(), ec.message());
}

// Temp files left by killed writers (older than an hour: no live writer keeps one that long).
void remove_stale_temps(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!core::fs::is_temp_name(it->path().filename().string())) continue;
    std::error_code ec2;
    const auto mtime = it->last_write_time(ec2);
    if (!ec2 && now - mtime > k_stale_temp_age) remove_quietly(it->path());
  }
}

std::string write_segment(const std::filesystem::path& dir, std::vector<Record> records) {
  auto seg = similarity::encode_segment(std::move(records));
  core::fs::create_directories_durable(dir);
  core::fs::AtomicFile file(dir / seg.name);
  file.write(seg.bytes);
  file.commit();
  core::log().debug("similarity index: wrote {} ({} bytes)", (dir / seg.name).string(), seg.bytes.size());
  return seg.name;
}

std::vector<Record> to_records(std::span<const std::pair<core::ObjectId, Signature>> entries) {
  std::vector<Record> records;
  records.reserve(entries.size());
  for (const auto& [id, sig] : entries)
    if (similarity::dtype_code(sig.dtype) != 0) records.push_back({id, sig});
  return records;
}

}  // namespace

struct SimilarityIndex::Loaded {
  std::vector<std::unique_ptr<Segment>> segments;
};

SimilarityIndex::SimilarityIndex(std::filesystem::path dir) : m_dir(std::move(dir)) {}
SimilarityIndex::~SimilarityIndex() = default;

std::shared_ptr<const SimilarityIndex::Loaded> SimilarityIndex::loaded() const {
  std::lock_guard lock(m_mutex);
  if (m_loaded) return m_loaded;
  auto state = std::make_shared<Loaded>();
  try {
    // A segment that vanished between listing and opening was merged: list again (a few times)
    // to pick up the merged segment.
    for (int attempt = 0; attempt < 3; ++attempt) {
      state->segments.clear();
      bool vanished = false;
      for (const auto& path : similarity::list_segments(m_dir)) {
        OpenProblem problem;
        if (auto seg = try_open(path, &problem)) state->segments.push_back(std::move(seg));
        vanished = vanished || problem.vanished;
      }
      if (!vanished) break;
    }
  } catch (const Error& e) {
    core::log().warn("similarity index: {} ({})", e.what(), e.detail());
  }
  m_loaded = state;
  return m_loaded;
}

void SimilarityIndex::invalidate() const {
  std::lock_guard lock(m_mutex);
  m_loaded.reset();
}

std::vector<core::ObjectId> SimilarityIndex::candidates(const Signature& s, std::size_t max) const {
  if (max == 0 || similarity::dtype_code(s.dtype) == 0) return {};
  const auto state = loaded();
  ++m_lookups;
  std::uint64_t keys[k_lsh_bands], masks[k_lsh_bands];
  for (std::size_t b = 0; b < k_lsh_bands; ++b) {
    keys[b] = similarity::band_key(s, b);
    masks[b] = lsh_band_mask(b);
  }
  std::vector<std::pair<int, core::ObjectId>> found;  // (distance, id)
  std::uint64_t slots = 0, records = 0;
  for (const auto& seg : state->segments) {
    for (std::size_t b = 0; b < k_lsh_bands; ++b) {
      slots += seg->probe(keys[b], [&](std::uint64_t index, std::uint64_t bits) {
        const int distance = std::popcount(bits ^ s.bits);
        if (distance > k_max_candidate_distance || ((bits ^ s.bits) & masks[b]) != 0) return;
        const Record r = seg->record(index);  // only near entries cost a record read
        ++records;
        if (r.sig == Signature{s.dtype, s.elements, bits}) found.emplace_back(distance, r.id);
      });
    }
  }
  m_slots_probed += slots;
  m_records_read += records;
  // One entry per id (its smallest distance), then nearest first.
  std::sort(found.begin(), found.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second < y.second : x.first < y.first;
  });
  found.erase(std::unique(found.begin(), found.end(), [](const auto& x, const auto& y) { return x.second == y.second; }),
              found.end());
  std::sort(found.begin(), found.end());
  std::vector<core::ObjectId> out;
  for (std::size_t i = 0; i < found.size() && i < max; ++i) out.push_back(found[i].second);
  return out;
}

void SimilarityIndex::add(std::span<const std::pair<core::ObjectId, Signature>> entries) {
  auto records = to_records(entries);
  if (records.empty()) return;
  write_segment(m_dir, std::move(records));
  invalidate();
  try {
    merge_if_needed();
  } catch (const Error& e) {  // the entries are safe in their own segment; merging can wait
    core::log().warn("similarity index: merge failed: {} ({})", e.what(), e.detail());
  }
}

void SimilarityIndex::merge_if_needed() {
  if (similarity::list_segments(m_dir).size() <= k_max_segments) return;
  std::optional<core::FileLock> lock;
  try {
    lock = core::FileLock::acquire(m_dir / k_lock_name, core::LockMode::exclusive, 0, "similarity index", "merge");
  } catch (const LockedError&) {
    core::log().debug("similarity index: another process is merging");
    return;
  }
  // Re-list under the lock: another merger may have finished meanwhile.
  std::vector<std::unique_ptr<Segment>> segments;
  std::vector<std::filesystem::path> damaged;
  for (const auto& path : similarity::list_segments(m_dir)) {
    OpenProblem problem;
    if (auto seg = try_open(path, &problem)) segments.push_back(std::move(seg));
    else if (problem.damaged) damaged.push_back(path);
  }
  if (segments.size() > k_max_segments) {
    std::stable_sort(segments.begin(), segments.end(),
                     [](const auto& x, const auto& y) { return x->record_count() < y->record_count(); });
    const std::size_t inputs = segments.size() - k_merged_segments + 1;
    std::vector<Record> records;
    for (std::size_t i = 0; i < inputs; ++i) {
      auto part = segments[i]->records();
      records.insert(records.end(), part.begin(), part.end());
    }
    const std::string name = write_segment(m_dir, std::move(records));
    for (std::size_t i = 0; i < inputs; ++i)
      if (segments[i]->path().filename() != name) remove_quietly(segments[i]->path());
    core::fs::fsync_dir(m_dir);
    ++m_merges;
    core::log().debug("similarity index: merged {} segments into {}", inputs, name);
  }
  for (const auto& path : damaged) remove_quietly(path);  // a cache: a damaged segment only hides entries
  remove_stale_temps(m_dir);
  invalidate();
}

void SimilarityIndex::rebuild(std::span<const std::pair<core::ObjectId, Signature>> entries) {
  core::fs::create_directories_durable(m_dir);
  auto lock = core::FileLock::acquire(m_dir / k_lock_name, core::LockMode::exclusive, k_rebuild_lock_wait,
                                      "similarity index", "rebuild");
  const auto old = similarity::list_segments(m_dir);
  auto records = to_records(entries);
  const std::string name = records.empty() ? std::string() : write_segment(m_dir, std::move(records));
  for (const auto& path : old)
    if (path.filename() != name) remove_quietly(path);
  core::fs::fsync_dir(m_dir);
  remove_stale_temps(m_dir);
  invalidate();
}

std::size_t SimilarityIndex::retain(const std::function<bool(const core::ObjectId&)>& keep) {
  std::vector<std::pair<core::ObjectId, Signature>> kept;
  std::size_t dropped = 0;
  for (const auto& segment : loaded()->segments)
    for (const similarity::Record& r : segment->records()) {
      if (keep(r.id)) kept.emplace_back(r.id, r.sig);
      else ++dropped;
    }
  if (dropped > 0) rebuild(kept);
  return dropped;
}

SimilarityIndex::Stats SimilarityIndex::stats() const {
  Stats s;
  {
    std::lock_guard lock(m_mutex);
    s.segments = m_loaded ? m_loaded->segments.size() : 0;
  }
  s.lookups = m_lookups;
  s.slots_probed = m_slots_probed;
  s.records_read = m_records_read;
  s.merges = m_merges;
  return s;
}

}  // namespace coral::vcs
