// `coral merge` (docs/merge.md): merge base, fast-forward, the three-way plan (merge_plan.hpp),
// the tensors a strategy computes (merge_math.hpp), the merge commit and the working tree.
#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/merge.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"
#include "chunk_encoder.hpp"
#include "merge_base.hpp"
#include "merge_checksums.hpp"
#include "merge_plan.hpp"
#include "merge_soup.hpp"
#include "merge_store.hpp"
#include "stage.hpp"
#include "switch_tree.hpp"

#include <chrono>
#include <fmt/format.h>
#include <map>

namespace coral::vcs {
namespace {

std::string default_message(const std::vector<std::string>& revs, const std::vector<bool>& is_branch) {
  bool all_branches = true;
  for (bool b : is_branch) all_branches = all_branches && b;
  std::string names;
  for (std::size_t i = 0; i < revs.size(); ++i)
    names += (i == 0 ? "" : i + 1 == revs.size() ? " and " : ", ") + ("'" + revs[i] + "'");
  const char* what = all_branches ? (revs.size() > 1 ? "branches" : "branch") : (revs.size() > 1 ? "revisions" : "revision");
  return std::string("Merge ") + what + " " + names;
}

// Computes the plan's tensor jobs and stores the results: the plan's tree with every id filled in.
Tree build_tree(Repository& repo, const MergePlan& plan, std::uint64_t stream_above, core::ThreadPool& pool,
                const core::ProgressFn& progress) {
  Tree tree = plan.tree;
  ObjectDb& db = repo.objects();
  auto writer = db.begin_data();
  std::uint64_t total = 0, done = 0;
  for (const auto& job : plan.jobs) total += job.sides[0].length;
  for (const auto& job : plan.jobs) {
    FileEntry& file = tree.files[job.file];
    TensorEntry& out = file.tensors[job.tensor];
    out.id = store_merged_tensor(repo, *writer, job, out, file.path, stream_above, pool);
    done += out.length;
    if (progress) progress({"merging", done, total});
  }
  // Headers written for tensors taken from several layouts.
  for (const auto& skeleton : plan.skeletons) {
    const auto bytes = std::as_bytes(std::span(skeleton));
    const core::ObjectId id = core::hash_bytes(bytes);
    if (!writer->claim(id)) continue;
    ChunkJob job;
    job.id = id;
    job.raw_size = bytes.size();
    job.bytes = bytes;
    store_chunked(*writer, job, &pool);
  }
  writer->commit();
  // Skeletons that keep checksums of their tensors (.npz), once the tensors can be read back.
  if (!plan.tensorwise.empty()) {
    auto skeletons = db.begin_data();
    for (const auto i : plan.tensorwise) tree.files[i].id = refresh_checksums(db, *skeletons, tree.files[i], pool);
    skeletons->commit();
  }
  return tree;
}

}  // namespace

MergeResult merge(Repository& repo, const MergeOptions& o, const core::ProgressFn& progress) {
  if (o.revs.empty()) throw UsageError("nothing to merge", {}, "name one or more branches: coral merge BRANCH...");
  const bool soup = o.strategy.name == "soup";
  if (soup && o.eval_command.empty()) throw UsageError("strategy 'soup' needs --eval 'CMD {}'");
  if (!soup && !o.eval_command.empty()) throw UsageError("--eval applies to strategy 'soup' only");
  if (soup && o.eval_command.find("{}") == std::string::npos)
    throw UsageError("--eval: the command must contain {} (replaced by the candidate model's directory)");
  if (soup && !o.rules.empty()) throw UsageError("--rules does not combine with strategy 'soup'");

  auto write_lock = repo.lock_for_write();
  auto index_lock = repo.lock_index();
  ObjectDb& db = repo.objects();
  MergeResult r;
  r.dry_run = o.dry_run;
  r.head = read_head(repo);
  if (r.head.detached())
    throw ConflictError("cannot merge into a detached HEAD", {},
                        "check out the branch to merge into first: coral checkout BRANCH");
  const std::string branch = *r.head.branch;

  // The revisions, minus those already merged.
  std::vector<std::string> revs;
  std::vector<bool> is_branch;
  std::vector<core::ObjectId> theirs;
  for (const auto& rev : o.revs) {
    const core::ObjectId id = resolve_commit(repo, rev);
    if (r.head.commit && is_ancestor(db, id, *r.head.commit)) continue;
    bool duplicate = false;
    for (const auto& t : theirs) duplicate = duplicate || t == id;
    if (duplicate) continue;
    revs.push_back(rev);
    is_branch.push_back(find_ref(repo, "refs/heads/" + rev).has_value());
    theirs.push_back(id);
  }
  if (theirs.empty()) {
    r.kind = MergeResult::Kind::up_to_date;
    r.target = *r.head.commit;
    r.labels = {branch};
    r.heads = {*r.head.commit};
    return r;
  }
  if (!r.head.commit && (theirs.size() > 1 || o.fast_forward == FastForward::never))
    throw UsageError("an unborn branch can only take one revision, by a fast-forward",
                     {}, o.fast_forward == FastForward::never ? "drop --no-ff" : "merge one revision first");
  // The sides: HEAD and the revisions, minus any that another one contains (git's reduce_heads),
  // unless --no-ff keeps HEAD. Main as the base of three fine-tunes is then no side and no parent.
  std::vector<std::pair<std::string, core::ObjectId>> candidates;
  if (r.head.commit) candidates.emplace_back(branch, *r.head.commit);
  for (std::size_t i = 0; i < revs.size(); ++i) candidates.emplace_back(revs[i], theirs[i]);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    bool contained = false;
    for (std::size_t j = 0; j < candidates.size() && !contained; ++j)
      contained = j != i && !(i == 0 && r.head.commit && o.fast_forward == FastForward::never) &&
                  is_ancestor(db, candidates[i].second, candidates[j].second);
    if (contained) continue;
    r.labels.push_back(candidates[i].first);
    r.heads.push_back(candidates[i].second);
  }
  const std::size_t sides = r.heads.size();

  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  Index index = Index::load(repo);
  const Tree current = head_tree(repo, r.head);
  if (!tree_changes(current, index.to_tree()).empty())
    throw ConflictError("cannot merge: the index has staged changes", {}, "commit them first, or unstage them");

  // Fast-forward: one revision contains HEAD and every other one.
  if (sides == 1) {
    r.kind = MergeResult::Kind::fast_forward;
    r.target = r.heads[0];
    const Tree target = db.read_data_tree(r.target);
    TreeSwitch sw = plan_switch(repo, index, current, target, false, pool, "merge");
    if (o.dry_run) return r;
    // The working tree and index first, then the ref (as git and checkout do): a merge killed
    // in between leaves the branch where it was.
    const CheckoutResult written = apply_switch(repo, sw, pool, progress);
    update_ref(repo, "refs/heads/" + branch, r.target, r.head.commit);
    r.files_written = written.files_written;
    r.files_removed = written.files_removed;
    return r;
  }
  if (o.fast_forward == FastForward::only)
    throw ConflictError("not possible to fast-forward: '" + branch + "' and " + default_message(revs, is_branch).substr(6) +
                          " have diverged",
                        {}, "merge without --ff-only to make a merge commit");
  // Weights are per side, and HEAD may be no side: name the sides when the count is wrong.
  auto check_weights = [&](const MergeStrategy& s, const std::string& where) {
    if (s.weights.empty() || s.weights.size() == sides) return;
    std::string names;
    for (const auto& label : r.labels) names += (names.empty() ? "" : ", ") + label;
    throw UsageError(where + ": " + std::to_string(s.weights.size()) + " weights for " + std::to_string(sides) +
                     " sides (" + names + ")");
  };
  // theirs and slerp need two sides: name them, since HEAD may be none of them.
  auto check_sides = [&](const MergeStrategy& s, const std::string& where) {
    if ((s.name != "theirs" && s.name != "slerp") || sides == 2) return;
    std::string names;
    for (const auto& label : r.labels) names += (names.empty() ? "" : ", ") + label;
    throw UsageError(where + ": strategy '" + s.name + "' needs exactly two sides, not " + std::to_string(sides) +
                     " (" + names + ")");
  };
  check_sides(o.strategy, "--strategy");
  check_weights(o.strategy, "--weights");
  validate_merge_strategy(o.strategy, sides, "--strategy");
  for (std::size_t i = 0; i < o.rules.size(); ++i) {
    check_sides(o.rules[i].strategy, "--rules: rule " + std::to_string(i + 1));
    check_weights(o.rules[i].strategy, "--rules: rule " + std::to_string(i + 1));
    validate_merge_strategy(o.rules[i].strategy, sides, "--rules: rule " + std::to_string(i + 1));
  }

  // The merge base and every side's tree.
  r.base_candidates = merge_bases(db, r.heads);
  if (r.base_candidates.empty() && !o.allow_unrelated)
    throw ConflictError("refusing to merge unrelated histories", {},
                        "pass --allow-unrelated-histories to merge against an empty base");
  if (!r.base_candidates.empty()) r.base = r.base_candidates[0];
  std::optional<Tree> base_tree;
  if (r.base) base_tree = db.read_data_tree(*r.base);
  std::vector<Tree> trees;
  for (const auto& id : r.heads) trees.push_back(db.read_data_tree(id));
  LayoutKeys layout_keys(db);
  auto plan_for = [&](const std::vector<std::size_t>& subset, const MergeStrategy& strategy,
                      std::span<const MergeRule> rules) {
    std::vector<const Tree*> side_trees;
    std::vector<std::string> labels;
    for (auto i : subset) {
      side_trees.push_back(&trees[i]);
      labels.push_back(r.labels[i]);
    }
    return plan_merge(base_tree ? &*base_tree : nullptr, side_trees, labels, strategy, rules,
                      [&](const FileEntry& f) { return layout_keys.key(f); },
                      [&](const FileEntry& f) { return layout_keys.metadata(f); });
  };
  std::vector<std::size_t> all(sides);
  for (std::size_t i = 0; i < sides; ++i) all[i] = i;

  MergeInfo info{o.strategy.name, o.strategy.parameters(), r.base, {}};
  for (const auto& rule : o.rules)
    info.rules.push_back({rule.tensor, rule.file, rule.strategy.name, rule.strategy.parameters()});
  MergePlan plan;
  std::optional<Tree> merged;
  if (soup) {
    // Conflicts first: an average of every side must be possible.
    plan = plan_for(all, o.strategy, {});
    if (plan.conflicts == 0) {
      // The soup may end up with any side's files: no tracked file may have local changes and
      // no untracked file may stand where a side has one. Checked before hours of evaluation
      // (and by a dry run).
      plan_switch(repo, index, current, Tree{}, false, pool, "merge");
      plan_switch(repo, index, current, plan.tree, false, pool, "merge");
    }
    if (plan.conflicts == 0 && !o.dry_run) {
      remove_stale_soup_dirs(repo);
      std::map<std::vector<std::size_t>, Tree> built;
      const SoupOutcome outcome = greedy_soup(r.labels, o.maximize, [&](const std::vector<std::size_t>& subset) {
        Tree t = build_tree(repo, plan_for(subset, o.strategy, {}), o.stream_above, pool, {});
        std::string what;
        for (auto i : subset) what += (what.empty() ? "" : "+") + r.labels[i];
        const double score = evaluate_tree(repo, t, o.eval_command, what, pool);
        built.emplace(subset, std::move(t));
        return score;
      });
      for (std::size_t i = 0; i < sides; ++i) r.soup_scores.emplace_back(r.labels[i], outcome.side_scores[i]);
      r.soup = outcome.steps;
      plan = plan_for(outcome.selected, o.strategy, {});
      merged = built.at(outcome.selected);
      std::string scores, selected;
      for (const auto& [label, score] : r.soup_scores) scores += (scores.empty() ? "" : ",") + label + "=" + fmt::format("{}", score);
      for (auto i : outcome.selected) {
        selected += (selected.empty() ? "" : ",") + r.labels[i];
        r.soup_selected.push_back(r.labels[i]);
      }
      info.parameters["eval"] = o.eval_command;
      info.parameters["goal"] = o.maximize ? "maximize" : "minimize";
      info.parameters["scores"] = scores;
      info.parameters["selected"] = selected;
    }
  } else {
    plan = plan_for(all, o.strategy, o.rules);
  }
  r.info = info;
  r.decisions = plan.decisions;
  r.conflicts = plan.conflicts;
  r.tensors_merged = plan.jobs.size();
  if (plan.conflicts > 0) return r;
  // Nothing may be overwritten: checked before computing anything (and by a dry run too).
  plan_switch(repo, index, current, plan.tree, false, pool, "merge");
  if (o.dry_run) return r;
  if (!merged) merged = build_tree(repo, plan, o.stream_above, pool, progress);

  Commit c;
  c.tree = db.write_tree(*merged);
  c.parents = r.heads;
  std::tie(c.author, c.email) = resolve_identity(repo, o.author, o.email);
  c.time = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  c.tz_offset = local_tz_offset_minutes(c.time);
  c.message = o.message.empty() ? default_message(revs, is_branch) : o.message;
  c.merge = std::move(info);
  db.write_commit(c);
  TreeSwitch sw = plan_switch(repo, index, current, *merged, false, pool, "merge");
  const CheckoutResult written = apply_switch(repo, sw, pool, progress);
  update_ref(repo, "refs/heads/" + branch, c.id, r.head.commit);
  r.files_written = written.files_written;
  r.files_removed = written.files_removed;
  r.target = c.id;
  r.commit = std::move(c);
  return r;
}

}  // namespace coral::vcs
