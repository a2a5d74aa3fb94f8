#pragma once
// The three-way part of a merge (docs/merge.md "What coral merge does"): from the merge base's tree and
// every side's tree, the result tree, one decision per file or tensor, and the tensors that a
// strategy must compute. Reads no data: only trees.
#include "coral/vcs/objects.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/merge.hpp"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace coral::vcs {

// A tensor changed on several sides, to be computed by `strategy`.
struct TensorJob {
  std::size_t file = 0;    // index into MergePlan::tree.files
  std::size_t tensor = 0;  // index into that file's tensors
  std::vector<TensorEntry> sides;        // the versions of the sides taking part, in side order
  std::vector<std::size_t> side_index;   // which side each one is (for per-side weights)
  std::optional<TensorEntry> base;
  MergeStrategy strategy;
  int rule = -1;
  std::size_t decision = 0;  // index into MergePlan::decisions
};

struct MergePlan {
  Tree tree;  // the result; the tensors of jobs have zero ids until computed
  std::vector<TensorJob> jobs;
  std::vector<MergeDecision> decisions;
  std::uint64_t conflicts = 0;
  std::vector<std::size_t> tensorwise;  // files (into tree.files) merged tensor by tensor, whose
                                        // skeleton checksums must be refreshed (merge_checksums.hpp)
  std::vector<std::string> skeletons;   // new skeleton objects to store: safetensors headers
                                        // written for tensors taken from several layouts
};

// Identifies a tensor file's layout apart from its tensors' content (LayoutKeys::key); by
// default the skeleton's id.
using LayoutKeyFn = std::function<core::ObjectId(const FileEntry&)>;
// A safetensors file's "__metadata__" as canonical JSON ("" when it has none).
using MetadataFn = std::function<std::string(const FileEntry&)>;

// `sides` and `labels` are parallel, ours first; `base` is null for unrelated histories. With
// strategy "soup" every tensor the sides hold differently is averaged, even when only one side
// changed it (a soup is the uniform average of its ingredients, not a three-way merge).
MergePlan plan_merge(const Tree* base, std::span<const Tree* const> sides, std::span<const std::string> labels,
                     const MergeStrategy& strategy, std::span<const MergeRule> rules, const LayoutKeyFn& layout_key = {},
                     const MetadataFn& metadata = {});

// "[4,8]", as the CLI prints shapes.
std::string shape_text(const std::vector<std::uint64_t>& shape);

}  // namespace coral::vcs
