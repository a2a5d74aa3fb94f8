#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct BranchArgs {
  std::vector<std::string> args;
  bool remove = false;
  bool remove_force = false;
  bool move = false;
  bool force = false;
};

// The three forms that change refs; each is one vcs call.
RefChange change_branch(vcs::Repository& repo, const BranchArgs& a) {
  const auto& args = a.args;
  if (a.remove || a.remove_force) {
    if (args.size() != 1) throw UsageError("branch -d takes one branch name", {}, "run 'coral help branch'");
    vcs::delete_branch(repo, args[0], a.remove_force || a.force);
    return {.kind = "branch", .action = "deleted", .name = args[0], .old_name = {}};
  }
  if (a.move) {
    if (args.empty() || args.size() > 2) throw UsageError("branch -m takes [OLD] NEW", {}, "run 'coral help branch'");
    const std::string old_name = args.size() == 2 ? args[0] : vcs::read_head(repo).branch.value_or("");
    if (old_name.empty()) throw UsageError("HEAD is detached: name the branch to rename", {}, "coral branch -m OLD NEW");
    vcs::rename_branch(repo, old_name, args.back(), a.force);
    return {.kind = "branch", .action = "renamed", .name = args.back(), .old_name = old_name};
  }
  if (args.size() > 2) throw UsageError("branch takes NAME [REV]", {}, "run 'coral help branch'");
  vcs::create_branch(repo, args[0], args.size() == 2 ? args[1] : "HEAD", a.force);
  return {.kind = "branch", .action = "created", .name = args[0], .old_name = {}};
}

int run_branch(const BranchArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  if (a.args.empty() && !a.remove && !a.remove_force && !a.move) out.print_branches(vcs::list_branches(repo));
  else out.print_ref_change(change_branch(repo, a));
  return 0;
}

}  // namespace

VerbSpec make_branch_verb() {
  auto a = std::make_shared<BranchArgs>();
  return {
    .name = "branch",
    .summary = "List, create, delete or rename branches",
    .synopsis = "coral branch\n"
                "coral branch [-f] NAME [REV]\n"
                "coral branch (-d | -D) NAME\n"
                "coral branch -m [OLD] NEW",
    .description =
      "Without arguments: lists the branches, '* ' marking the current one. With NAME: creates\n"
      "branch NAME at REV (default HEAD) without switching to it (see 'coral checkout -b').\n"
      "-d deletes a branch that is merged into HEAD, -D deletes it regardless. -m renames OLD\n"
      "(default: the current branch) to NEW. Names follow git's rules (no spaces, '..', '~',\n"
      "'^', ':', ...).",
    .options =
      {
        {"-d,--delete", "", "delete the branch (it must be merged into HEAD)", &a->remove},
        {"-D", "", "delete the branch even when it is not merged", &a->remove_force},
        {"-m,--move", "", "rename a branch", &a->move},
        {"-f,--force", "", "create or rename over an existing branch", &a->force},
      },
    .positionals = {{"NAME", "branch name(s), and REV where a form takes one", &a->args}},
    .examples = "coral branch\n"
                "coral branch ft-de\n"
                "coral branch epoch-3-fix HEAD~4\n"
                "coral branch -m ft-de ft-german\n"
                "coral branch -d ft-german\n"
                "coral --json branch",
    .exit_status = exit_status({{3, "not found: no repository, unknown branch or revision"},
                                {4, "the branch exists (use -f), is current, or is not merged (use -D)"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_branch(*a, g, out); },
  };
}

}  // namespace coral::cli
