#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/maintenance.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct PruneArgs {
  std::int64_t keep_last = 0;
  std::vector<std::string> keep_best;
  bool keep_tagged = false;
  bool no_keep_tagged = false;
  std::string branch;
  bool dry_run = false;
  bool gc = false;
};

int run_prune(const PruneArgs& a, const GlobalOptions& g, Output& out) {
  if (a.keep_last < 0) throw UsageError("--keep-last must be 0 or more, not " + std::to_string(a.keep_last));
  if (a.keep_tagged && a.no_keep_tagged) throw UsageError("--keep-tagged and --no-keep-tagged contradict each other");
  vcs::PruneOptions o;
  o.keep_last = static_cast<std::size_t>(a.keep_last);
  for (const auto& spec : a.keep_best) o.keep_best.push_back(vcs::parse_keep_best(spec));
  o.keep_tagged = !a.no_keep_tagged;
  o.branch = a.branch;
  o.dry_run = a.dry_run;
  o.gc = a.gc;
  auto repo = vcs::Repository::open(open_options(g));
  out.print_prune(vcs::prune(repo, o, out.progress()));
  return 0;
}

}  // namespace

VerbSpec make_prune_verb() {
  auto a = std::make_shared<PruneArgs>();
  return {
    .name = "prune",
    .summary = "Keep the checkpoints that matter: drop the data of the others, keep their history",
    .synopsis = "coral prune [--keep-last N] [--keep-best METRIC[:min|max]=K]... [--no-keep-tagged] [--branch B] [--dry-run] [--gc]",
    .description =
      "The retention policy of a training run. Considers the commits of branch B's history\n"
      "(default: the current branch), newest first as 'coral log' lists them, and keeps:\n"
      "the N newest (--keep-last), the K best by each metric recorded with 'commit --metric'\n"
      "(--keep-best; ':min', the default, keeps the smallest values, ':max' the largest; ties go\n"
      "to the newer commit; commits without the metric do not count), every tagged commit\n"
      "(unless --no-keep-tagged), every branch tip, HEAD, and the fork points of other branches\n"
      "(their merge bases with B: a later merge reads their data). The policies add up, like\n"
      "restic's.\n"
      "\n"
      "Every other commit is marked as pruned: it stays in 'coral log' and 'coral show' with its\n"
      "message and metrics, and its data is deleted by the next 'coral gc' (now, with --gc).\n"
      "Checking out, diffing or merging a pruned commit fails with exit 3. Kept checkpoints whose\n"
      "delta base goes are re-encoded by gc and stay byte-identical. Commits pruned before are\n"
      "neither counted nor kept; pruning cannot be undone. prune holds the gc lock exclusively\n"
      "(shared for --dry-run). --dry-run prints the same decisions (and with --gc the gc plan)\n"
      "and changes nothing.",
    .options =
      {
        {"--keep-last", "N", "keep the N newest commits", &a->keep_last},
        {"--keep-best", "METRIC[:min|max]=K", "keep the K best commits by a metric (repeatable)", &a->keep_best},
        {"--keep-tagged,--keep-tags", "", "keep tagged commits (the default)", &a->keep_tagged},
        {"--no-keep-tagged", "", "let the policy decide about tagged commits too", &a->no_keep_tagged},
        {"-b,--branch", "B", "the branch whose history to prune (default: the current one)", &a->branch},
        {"-n,--dry-run", "", "print what would be pruned, change nothing", &a->dry_run},
        {"--gc", "", "run gc afterwards, under the same lock", &a->gc},
      },
    .examples = "coral prune --keep-last 3 --keep-best val_loss:min=2 --dry-run\n"
                "coral prune --keep-last 3 --keep-best val_loss:min=2 --gc\n"
                "coral prune --branch run-7 --keep-best accuracy:max=5 --keep-last 1",
    .exit_status = exit_status({{2, "no policy given, a bad --keep-best, or HEAD is detached and no --branch given"},
                                {3, "the branch does not exist"},
                                {5, "another coral process holds the repository past --lock-wait"},
                                {6, "a branch, tag or HEAD cannot be read (nothing was marked), or --gc refused to run (the "
                                     "marks stay; gc deleted nothing)"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_prune(*a, g, out); },
  };
}

}  // namespace coral::cli
