#include "arguments.hpp"
#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/merge.hpp"

#include <memory>

namespace coral::cli {
namespace {

// Numbers stay strings until run_merge: an option that was not given leaves its parameter unset.
struct MergeArgs {
  std::vector<std::string> revs;
  std::string strategy;
  std::string weights, lambda, density, seed, t;
  bool no_normalize = false;
  std::string rules;
  std::string eval;
  bool maximize = false;
  bool minimize = false;
  std::string message, author, email;
  bool no_ff = false;
  bool ff_only = false;
  bool dry_run = false;
  bool allow_unrelated = false;
};

vcs::MergeOptions merge_options(const MergeArgs& a) {
  if (a.no_ff && a.ff_only) throw UsageError("--no-ff and --ff-only exclude each other", {}, "run 'coral help merge'");
  if (a.maximize && a.minimize)
    throw UsageError("--maximize and --minimize exclude each other", {}, "run 'coral help merge'");
  vcs::MergeOptions o;
  o.revs = a.revs;
  if (!a.strategy.empty()) o.strategy.name = a.strategy;
  if (!a.weights.empty()) o.strategy.weights = parse_number_list("--weights", a.weights);
  o.strategy.normalize = !a.no_normalize;
  if (!a.lambda.empty()) o.strategy.lambda = parse_number("--lambda", a.lambda);
  if (!a.density.empty()) o.strategy.density = parse_number("--density", a.density);
  if (!a.t.empty()) o.strategy.t = parse_number("--t", a.t);
  if (!a.seed.empty()) o.strategy.seed = parse_unsigned("--seed", a.seed);
  if (!a.rules.empty()) o.rules = vcs::parse_merge_rules(core::fs::read_file(a.rules), a.rules);
  o.message = a.message;
  o.author = a.author;
  o.email = a.email;
  o.fast_forward = a.no_ff ? vcs::FastForward::never : a.ff_only ? vcs::FastForward::only : vcs::FastForward::allow;
  o.dry_run = a.dry_run;
  o.allow_unrelated = a.allow_unrelated;
  o.eval_command = a.eval;
  o.maximize = !a.minimize;
  return o;
}

int run_merge(const MergeArgs& a, const GlobalOptions& g, Output& out) {
  const auto options = merge_options(a);
  // Names and parameters now; the number of sides only once merge has dropped revisions that
  // another one contains (HEAD too, when it is an ancestor of every revision), so 0 here.
  vcs::validate_merge_strategy(options.strategy, 0, "--strategy");
  auto repo = vcs::Repository::open(open_options(g));
  const auto result = vcs::merge(repo, options, out.progress());
  out.print_merge(result, options);
  if (result.conflicts == 0) return 0;
  const std::string n = std::to_string(result.conflicts) + (result.conflicts == 1 ? " conflict" : " conflicts");
  throw ConflictError(result.dry_run ? "merge would stop: " + n : "merge stopped: " + n + ", nothing written", {},
                      "choose a strategy with --strategy (average, ties, ...) or per-tensor rules with --rules");
}

}  // namespace

VerbSpec make_merge_verb() {
  auto a = std::make_shared<MergeArgs>();
  return {
    .name = "merge",
    .summary = "Merge branches into the current one, tensor by tensor",
    .synopsis = "coral merge REV... [--strategy S] [--weights W1,W2,...] [--no-normalize] [--lambda X] [--density D] "
                "[--seed N] [--t T] [--rules FILE.toml] [--eval CMD] [--maximize | --minimize] [-m MSG] "
                "[--author NAME] [--email EMAIL] [--no-ff | --ff-only] [--dry-run] [--allow-unrelated-histories]",
    .description =
      "Merges one or more revisions into the current branch, with their merge base (the best\n"
      "common ancestor) as the reference. The sides are HEAD and the revisions, in that order,\n"
      "minus any that another side contains: when HEAD is an ancestor of every revision\n"
      "(fine-tunes of it) HEAD is no side and no parent, as in git's octopus merge, unless\n"
      "--no-ff. One side left is a fast-forward (unless --no-ff).\n"
      "\n"
      "Otherwise, per file and tensor: a change made on one side only is taken with that side's\n"
      "bytes exactly; a tensor changed differently on several sides is merged by the strategy,\n"
      "or by the first --rules rule that matches it. A dtype or shape mismatch is always a\n"
      "conflict, and so are non-float tensors and other files unless ours/theirs. The merge\n"
      "commit has the sides as parents and records the strategy, its parameters, the merge base\n"
      "and the rules.\n"
      "\n"
      "Strategies: fail (default: list the conflicts, write nothing, exit 4), ours, theirs (two\n"
      "sides), average, weighted, task-arithmetic, ties, dare, dare-ties, slerp (two sides) and\n"
      "soup: greedy soup, where --eval CMD scores each candidate; '{}' in CMD is replaced by a\n"
      "directory holding the candidate model and the last number CMD prints is the score.\n"
      "\n"
      "Refuses (exit 4) on a detached HEAD, with staged changes, local changes to a file the\n"
      "merge writes or an untracked file where it writes one, for unrelated histories (unless\n"
      "--allow-unrelated-histories), and with\n"
      "--ff-only when a fast-forward is not possible. With conflicts nothing is written and\n"
      "'CONFLICT PATH:TENSOR: REASON' lines go to stderr. --dry-run prints every decision that\n"
      "changes something and writes nothing; --json prints the decision for every tensor.",
    .options =
      {
        {"--strategy", "S", "how tensors changed on several sides are merged (default: fail)", &a->strategy},
        {"--weights", "W1,W2,...", "one weight per side, in side order (weighted, task-arithmetic, ties, dare...)",
         &a->weights},
        {"--no-normalize", "", "weighted, ties, dare-ties: do not divide by the sum of the weights", &a->no_normalize},
        {"--lambda", "X", "task-arithmetic, ties, dare, dare-ties: scale of the summed task vectors (default 1)",
         &a->lambda},
        {"--density", "D", "ties: fraction kept by magnitude; dare(-ties): keep probability; in (0, 1] (default 1)",
         &a->density},
        {"--seed", "N", "dare, dare-ties: random seed, 0 to 2^64-1 (default 0)", &a->seed},
        {"--t", "T", "slerp: in [0, 1]; 0 gives the first side, 1 the second (default 0.5)", &a->t},
        {"--rules", "FILE.toml", "per-tensor strategies: [[rule]] tensor/file globs, strategy, parameters",
         &a->rules},
        {"--eval", "CMD", "soup: shell command printing the score of the candidate in directory {}", &a->eval},
        {"--maximize", "", "soup: a higher score is better (the default)", &a->maximize},
        {"--minimize", "", "soup: a lower score is better (a loss)", &a->minimize},
        {"-m,--message", "MSG", "the merge commit's message (default: \"Merge branch 'x'\")", &a->message},
        {"--author", "NAME", "author name for the merge commit", &a->author},
        {"--email", "EMAIL", "author email for the merge commit", &a->email},
        {"--no-ff", "", "make a merge commit even when a fast-forward is possible; HEAD stays a side", &a->no_ff},
        {"--ff-only", "", "only fast-forward; refuse (exit 4) when a merge commit would be needed", &a->ff_only},
        {"--dry-run", "", "print what would be merged and write nothing", &a->dry_run},
        {"--allow-unrelated-histories", "", "merge without a common ancestor (an empty tree as the base)",
         &a->allow_unrelated},
      },
    .positionals = {{"REV", "what to merge: branches, tags, commit ids, HEAD~N, REV^N", &a->revs, true}},
    .examples = "coral merge ft-de                          # fast-forward, or fail on conflicting tensors\n"
                "coral merge ft-de ft-py --strategy ties --density 0.2\n"
                "coral merge ft-de --strategy weighted --weights 0.7,0.3\n"
                "coral merge ft-de --strategy slerp --t 0.3 --dry-run\n"
                "coral merge ft-a ft-b --rules merge-rules.toml\n"
                "coral merge ft-a ft-b --strategy soup --eval 'python3 eval.py {}' --maximize\n"
                "coral --json merge ft-de --strategy average | jq '.decisions[] | select(.action != \"unchanged\")'",
    .exit_status = exit_status(
      {{0, "success: merged, fast-forwarded, already up to date, or a dry run without conflicts"},
       {2, "usage error: bad option or parameter, a strategy that does not fit the number of sides, bad --rules file"},
       {3, "not found: no repository, unknown revision, or the --rules file"},
       {4, "conflicts (nothing written), detached HEAD, local changes, unrelated histories, --ff-only impossible"},
       {1, "I/O or other failure; the soup's eval command failed or printed no number"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_merge(*a, g, out); },
  };
}

}  // namespace coral::cli
