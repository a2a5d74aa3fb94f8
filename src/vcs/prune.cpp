// prune: the retention policy of a training run (DESIGN.md §8). Marks the commits of a branch
// outside the kept set as pruned (pruned.hpp); their data goes at the next gc.

#include "coral/core/error.hpp"
#include "coral/vcs/maintenance.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "gc_run.hpp"
#include "merge_base.hpp"
#include "roots.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

namespace coral::vcs {
namespace {

std::string subject_of(const std::string& message) { return message.substr(0, message.find('\n')); }

// Commits kept whatever the policy, with why: branch tips, HEAD, tags (when kept), and the merge
// bases of the pruned branch with every other branch (a later merge reads their data).
std::map<core::ObjectId, std::vector<std::string>> protected_commits(Repository& repo, const core::ObjectId& tip,
                                                                     const std::string& branch, bool keep_tagged) {
  std::map<core::ObjectId, std::vector<std::string>> out;
  for (const Root& root : history_roots(repo)) {
    if (root.commit && root.ref.rfind("refs/heads/", 0) == 0 && root.ref != "refs/heads/" + branch) {
      const core::ObjectId heads[2] = {tip, *root.commit};
      for (const core::ObjectId& base : merge_bases(repo.objects(), heads))
        if (base != *root.commit && base != tip) out[base].push_back("merge base of " + root.ref.substr(11));
    }
    if (!root.commit)
      throw CorruptError("prune changed nothing: cannot read " + (root.ref.empty() ? std::string("the refs") : root.ref) +
                         ": " + root.error, {}, "run 'coral fsck'");
    if (root.ref.rfind("refs/heads/", 0) == 0) out[*root.commit].push_back("branch tip " + root.ref.substr(11));
    else if (root.ref.rfind("refs/tags/", 0) == 0 && keep_tagged) out[*root.commit].push_back("tagged " + root.ref.substr(10));
    else if (root.ref == "HEAD") out[*root.commit].push_back("HEAD");
  }
  return out;
}

}  // namespace

KeepBest parse_keep_best(const std::string& spec) {
  const auto bad = [&] {
    return UsageError("invalid --keep-best '" + spec + "'", {},
                      "use METRIC[:min|max]=K, e.g. val_loss:min=2 or accuracy:max=3");
  };
  const std::size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0) throw bad();
  KeepBest k;
  std::string name = spec.substr(0, eq);
  if (const std::size_t colon = name.rfind(':'); colon != std::string::npos) {
    const std::string dir = name.substr(colon + 1);
    if (dir != "min" && dir != "max") throw bad();
    k.maximize = dir == "max";
    name.resize(colon);
  }
  if (name.empty()) throw bad();
  k.metric = name;
  const char* first = spec.data() + eq + 1;
  const char* last = spec.data() + spec.size();
  const auto [end, ec] = std::from_chars(first, last, k.count);
  if (ec != std::errc() || end != last || first == last || k.count == 0) throw bad();
  return k;
}

void select_kept(std::vector<PruneCommit>& history, const PruneOptions& options) {
  // Commits already pruned have no data to keep: the policy counts the others.
  std::vector<PruneCommit*> candidates;
  for (PruneCommit& c : history)
    if (!c.already_pruned) candidates.push_back(&c);
  for (std::size_t i = 0; i < candidates.size() && i < options.keep_last; ++i)
    candidates[i]->reasons.push_back("last " + std::to_string(options.keep_last));
  for (const KeepBest& best : options.keep_best) {
    std::vector<std::pair<double, std::size_t>> ranked;  // value, position (newer first on ties)
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const auto it = candidates[i]->metrics.find(best.metric);
      if (it != candidates[i]->metrics.end() && std::isfinite(it->second)) ranked.emplace_back(it->second, i);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
      if (a.first != b.first) return best.maximize ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    });
    for (std::size_t r = 0; r < ranked.size() && r < best.count; ++r)
      candidates[ranked[r].second]->reasons.push_back("best " + best.metric + " (" + std::to_string(r + 1) + ")");
  }
  for (PruneCommit& c : history) c.kept = !c.already_pruned && !c.reasons.empty();
}

PruneResult prune(Repository& repo, const PruneOptions& options, const core::ProgressFn& progress) {
  if (options.keep_last == 0 && options.keep_best.empty())
    throw UsageError("prune needs a retention policy", {},
                     "give --keep-last N and/or --keep-best METRIC[:min|max]=K; nothing was pruned");
  const core::FileLock lock = options.dry_run ? repo.lock_for_write() : repo.lock_for_gc();
  repo.objects().refresh();  // writers may have added packs while this process waited
  PruneResult r;
  r.dry_run = options.dry_run;
  r.branch = options.branch;
  if (r.branch.empty()) {
    const Head head = read_head(repo);
    if (!head.branch)
      throw UsageError("HEAD is detached: name the branch to prune", {}, "use 'coral prune --branch NAME ...'");
    r.branch = *head.branch;
  }
  const auto tip = find_ref(repo, "refs/heads/" + r.branch);
  if (!tip)
    throw NotFoundError("branch '" + r.branch + "' does not exist" +
                        (options.branch.empty() ? " yet (no commit on it)" : ""));

  const auto protect = protected_commits(repo, *tip, r.branch, options.keep_tagged);
  for (const Commit& c : log(repo, {.rev = tip->hex(), .max_count = -1})) {
    PruneCommit p{c.id, subject_of(c.message), c.metrics, {}, false, c.pruned};
    if (const auto it = protect.find(c.id); it != protect.end() && !c.pruned) p.reasons = it->second;
    r.commits.push_back(std::move(p));
  }
  select_kept(r.commits, options);
  std::set<core::ObjectId> newly;
  for (const PruneCommit& c : r.commits) {
    if (c.already_pruned) ++r.already_pruned;
    else if (c.kept) ++r.kept;
    else newly.insert(c.id);
  }
  r.pruned = newly.size();
  if (!options.dry_run) {
    if (!newly.empty()) repo.objects().mark_pruned(newly);
    if (options.gc) r.gc = run_gc_locked(repo, {.dry_run = false, .repack = false}, progress);
    return r;
  }
  if (options.gc) {  // the plan of a gc after this prune
    repo.objects().assume_pruned(newly);
    try {
      r.gc = run_gc_locked(repo, {.dry_run = true, .repack = false}, progress);
    } catch (...) {
      repo.objects().forget_pruned();
      throw;
    }
    repo.objects().forget_pruned();
  }
  return r;
}

}  // namespace coral::vcs
