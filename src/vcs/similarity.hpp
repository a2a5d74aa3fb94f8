#pragma once
// The similarity index (DESIGN.md §6): finds a stored tensor to use as an xor delta base when no
// tensor of the same file and name exists in the parent (a rename, a new file name, a fine-tune
// committed on another branch).
//
// A tensor's signature is a 64-bit SimHash of a fixed sample of its elements (O(1) in its size).
// The index maps LSH bands of signatures to object ids. It is a cache: rebuildable from the stored
// objects, and a missing or damaged index only gives fewer candidates. Candidates are hints; the
// caller verifies them on the full data (CosineAccumulator) before using one.
//
// On disk (docs/format.md "Similarity index"): .coral/similarity/ holds immutable segment files
// "<32 hex>.seg" (the grammar is in similarity_segment.hpp) and a persistent "merge.lock".

#include "coral/core/dtype.hpp"
#include "coral/core/object_id.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace coral::vcs {

struct Signature {
  core::DType dtype = core::DType::f32;
  std::uint64_t elements = 0;
  std::uint64_t bits = 0;  // 64-bit SimHash of the sample
  bool operator==(const Signature&) const = default;
};

// Tensors with fewer elements get no signature (they are cheap to store without a base).
inline constexpr std::uint64_t k_min_similarity_elements = 16384;
// Elements read per signature, at positions that depend only on the element count.
inline constexpr std::size_t k_signature_samples = 1024;
// LSH: 20 bands of 12 signature bits each (5 bands from each of 4 fixed permutations of 0..63).
// Measured on Gaussian tensors: a tensor with cosine 0.98 (0.95) to a stored one is a candidate
// with probability 99.7% (97.6%); an unrelated one (cosine ~0) shares a band with probability
// 0.48% and is a candidate (within k_max_candidate_distance) with probability 0.0002%.
inline constexpr std::size_t k_lsh_bands = 20;
inline constexpr std::size_t k_lsh_band_bits = 12;
// Candidates further than this (Hamming distance of signatures, i.e. an estimated angle above
// ~39 degrees, cosine below ~0.77) are dropped: no use as a delta base, and each candidate costs
// the caller a full read to verify. A cosine-0.95 tensor is further only with probability ~0.2%.
inline constexpr int k_max_candidate_distance = 14;

// The index of the element read as sample j (j < k_signature_samples) of a tensor of `elements`
// elements (elements >= k_min_similarity_elements).
std::uint64_t signature_sample_index(std::uint64_t elements, std::size_t j) noexcept;

// SimHash of the sample of `raw` (little-endian elements of `dtype`). nullopt for dtypes other
// than f64, f32, f16 and bf16, for fewer than k_min_similarity_elements elements, and when the
// sample is all zero or non-finite. Non-finite sample values count as 0. raw.size() must be a
// multiple of the element size (trailing bytes are ignored).
std::optional<Signature> tensor_signature(std::span<const std::byte> raw, core::DType dtype);
// The same for a tensor of `elements` elements read one element at a time (`read(i, out)` fills
// out with element i's bytes), e.g. with pread, so that a mapped file is not touched.
using ElementReader = std::function<void(std::uint64_t i, std::span<std::byte> out)>;
std::optional<Signature> tensor_signature(std::uint64_t elements, core::DType dtype, const ElementReader& read);

// Band b (b < k_lsh_bands) of a signature: k_lsh_band_bits bits, packed low.
std::uint32_t lsh_band(std::uint64_t bits, std::size_t band) noexcept;
// The signature bits that band b takes: two signatures share band b iff (x ^ y) & mask == 0.
std::uint64_t lsh_band_mask(std::size_t band) noexcept;

class SimilarityIndex {
public:
  // Counters for tests and benchmarks (cumulative over this object's lifetime).
  struct Stats {
    std::size_t segments = 0;          // segments loaded by the last load
    std::uint64_t lookups = 0;         // candidates() calls
    std::uint64_t slots_probed = 0;    // hash-table slots read
    std::uint64_t records_read = 0;    // records read (tag matched, band shared, near enough)
    std::uint64_t merges = 0;          // merges this object performed
  };

  // dir: e.g. .coral/similarity; created on the first write. Nothing is read until first use.
  explicit SimilarityIndex(std::filesystem::path dir);
  ~SimilarityIndex();
  SimilarityIndex(const SimilarityIndex&) = delete;
  SimilarityIndex& operator=(const SimilarityIndex&) = delete;

  // Ids of entries with the same dtype and element count whose signature shares an LSH band with
  // s and is within k_max_candidate_distance bits, nearest first (then by id), at most `max`.
  // Lists the directory and maps the segments on first use; then O(#segments * bands) probes, at
  // most 64 slots per band and segment. Never throws for a missing, damaged or vanishing segment
  // (logged at warn, skipped). Thread-safe.
  std::vector<core::ObjectId> candidates(const Signature& s, std::size_t max = 4) const;

  // Records entries as one new segment (temp + fsync + rename), then merges segments when there
  // are more than 8 and no other process is merging. Safe with concurrent writers (threads or
  // processes) and with a kill at any instant. Call once per batch: each call writes a file.
  // Throws IoError when the segment cannot be written.
  void add(std::span<const std::pair<core::ObjectId, Signature>> entries);

  // Replaces the whole index by these entries (rebuild from the stored objects): publishes one
  // segment, then removes the segments that existed before. Throws IoError, or LockedError if a
  // merge holds the lock for more than 30 s.
  void rebuild(std::span<const std::pair<core::ObjectId, Signature>> entries);
  // Drops the entries of objects `keep` rejects (gc removed them): rebuilds the index from the
  // rest when any is dropped. Returns how many were dropped. Throws like rebuild().
  std::size_t retain(const std::function<bool(const core::ObjectId&)>& keep);

  Stats stats() const;

private:
  struct Loaded;
  std::shared_ptr<const Loaded> loaded() const;
  void invalidate() const;
  void merge_if_needed();

  std::filesystem::path m_dir;
  mutable std::mutex m_mutex;
  mutable std::shared_ptr<const Loaded> m_loaded;  // guarded by m_mutex
  mutable std::atomic<std::uint64_t> m_lookups{0}, m_slots_probed{0}, m_records_read{0};
  std::atomic<std::uint64_t> m_merges{0};
};

// Cosine similarity of two tensors of the same dtype and size, fed chunk by chunk (a and b of
// equal length, whole elements). Accumulated in double; f64 is rescaled as it goes so that values
// near 1e308 or 1e-300 neither overflow nor vanish. Non-finite elements count as 0 (on either
// side). value() is 0 when either norm is 0. Works for every dtype (non-float ones slowly).
class CosineAccumulator {
public:
  explicit CosineAccumulator(core::DType dtype);
  void add(std::span<const std::byte> a, std::span<const std::byte> b);
  double value() const;

private:
  core::DType m_dtype;
  double m_ab = 0, m_aa = 0, m_bb = 0;
  int m_exp_a = 0, m_exp_b = 0;  // f64 only: the sums hold a * 2^-m_exp_a and b * 2^-m_exp_b
};

}  // namespace coral::vcs
