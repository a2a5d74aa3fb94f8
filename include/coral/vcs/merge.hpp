#pragma once
// coral merge (docs/merge.md): strategies, per-tensor rules, options and the result. The verb's
// core call, like those of operations.hpp.

#include "coral/core/progress.hpp"
#include "coral/vcs/objects.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/repository.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coral::vcs {

// ---- merge (docs/merge.md) ----------------------------------------------------------------
// A strategy and its parameters, as given on the command line or in a rule. Unset parameters
// take the documented defaults (lambda 1, density 1, t 0.5, seed 0, weights all 1).
struct MergeStrategy {
  std::string name = "fail";  // fail ours theirs average weighted task-arithmetic ties dare dare-ties slerp soup
  std::vector<double> weights;
  bool normalize = true;      // weighted: divide by the sum of the weights; ties, dare-ties: the
                              // disjoint mean (--no-normalize: the plain sum, mergekit's dare_ties)
  std::optional<double> lambda, density, t;
  std::optional<std::uint64_t> seed;
  // The parameters that apply to `name`, canonical strings (what a merge commit records).
  std::map<std::string, std::string> parameters() const;
};
// Checks the name and the parameters it takes (UsageError naming the fault); `where` prefixes
// messages ("--strategy", "rules.toml: rule 2").
void validate_merge_strategy(const MergeStrategy& strategy, std::size_t sides, const std::string& where);

// --rules FILE.toml: [[rule]] tables with `tensor` (a glob on tensor names), optional `file` (a
// glob on file paths), `strategy` and its parameters; the first rule that matches wins.
struct MergeRule {
  std::string tensor = "*";
  std::string file = "*";
  MergeStrategy strategy;
};
// UsageError ("FILE: rule N: fault") for bad TOML, unknown keys or invalid strategies.
std::vector<MergeRule> parse_merge_rules(std::string_view toml_text, const std::string& file_name);

enum class FastForward { allow, never, only };  // default, --no-ff, --ff-only

struct MergeOptions {
  std::vector<std::string> revs;  // what to merge into the current branch (branches or any revision)
  MergeStrategy strategy;         // for tensors no rule matches, and for whole files (ours/theirs)
  std::vector<MergeRule> rules;
  std::string message;            // empty: "Merge branch 'x'" / "Merge branches 'x' and 'y'"
  std::string author, email;
  FastForward fast_forward = FastForward::allow;
  bool dry_run = false;
  bool allow_unrelated = false;   // --allow-unrelated-histories: an empty tree as the base
  // soup: the eval command ("{}" is replaced by a directory holding the candidate model), and
  // whether a higher score is better.
  std::string eval_command;
  bool maximize = true;
  // Tensors of more bytes are merged piece by piece from the packs (bounded memory); smaller
  // ones in memory. The bytes are the same either way.
  std::uint64_t stream_above = std::uint64_t{64} << 20;
};

// What happened to one file (tensor empty) or one tensor of a tensor file.
struct MergeDecision {
  std::string path;
  std::string tensor;               // empty: the file as a whole
  std::string action;               // unchanged, take, delete, merge, conflict
  std::vector<std::string> from;    // take/delete: the sides (labels) whose version is used
  std::string strategy;             // merge: the strategy applied
  int rule = -1;                    // merge/take by a rule: its index in MergeOptions::rules
  std::string reason;               // conflict: why, with both dtypes/shapes when they differ
};

struct SoupStep {
  std::vector<std::string> ingredients;  // the sides averaged in this candidate
  double score = 0;
  bool kept = false;                     // the candidate became the soup
};

struct MergeResult {
  enum class Kind { up_to_date, fast_forward, merge };
  Kind kind = Kind::merge;
  Head head;                                   // before
  // The sides, which are the merge commit's parents: the current branch, then each revision, minus
  // any that another side contains (so HEAD is no side when a revision contains it, as in git,
  // unless --no-ff) and revisions HEAD already contains.
  std::vector<std::string> labels;
  std::vector<core::ObjectId> heads;           // their commits
  std::optional<core::ObjectId> base;          // the merge base used (unset: unrelated histories)
  std::vector<core::ObjectId> base_candidates; // every best common ancestor (several: criss-cross)
  std::vector<MergeDecision> decisions;        // by path, then tensor order
  std::vector<SoupStep> soup;                  // soup only: every candidate evaluated, in order
  std::vector<std::pair<std::string, double>> soup_scores;  // soup: each side's own score
  std::vector<std::string> soup_selected;      // soup: the sides averaged into the result
  MergeInfo info;                              // what the merge commit records (or would): strategy,
                                               // parameters (soup's scores too), base, rules
  std::optional<Commit> commit;                // the merge commit (unset: dry run, conflict, ff)
  core::ObjectId target;                       // what HEAD's branch points to after (or would)
  bool dry_run = false;
  std::uint64_t conflicts = 0;                 // decisions with action "conflict"
  std::uint64_t tensors_merged = 0;
  std::uint64_t files_written = 0, files_removed = 0;
};
// Merges into HEAD's branch. With conflicts (strategy fail, or a conflict no strategy resolves)
// nothing is written and the result lists them (the CLI exits 4). ConflictError when HEAD is
// detached, the index or a file the merge would change has local changes, histories are
// unrelated (without allow_unrelated) or --ff-only cannot fast-forward.
MergeResult merge(Repository& repo, const MergeOptions& options, const core::ProgressFn& progress = {});

}  // namespace coral::vcs
