#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct CheckoutArgs {
  std::string rev;
  std::string new_branch;
  std::vector<std::string> paths;
  bool force = false;
};

int run_checkout(const CheckoutArgs& a, const GlobalOptions& g, Output& out) {
  if (a.rev.empty() && a.new_branch.empty() && a.paths.empty())
    throw UsageError("missing argument REV", {}, "run 'coral help checkout'");
  auto repo = vcs::Repository::open(open_options(g));
  const auto result = vcs::checkout(
    repo, {.rev = a.rev, .new_branch = a.new_branch, .paths = a.paths, .force = a.force}, out.progress());
  CheckoutNote note{.new_branch = a.new_branch, .paths = !a.paths.empty(), .source = a.rev, .commit = {}};
  if (!note.paths && result.head.detached() && result.head.commit)
    note.commit = repo.objects().read_commit(*result.head.commit);  // for "HEAD is now at ..."
  out.print_checkout(result, note);
  return 0;
}

}  // namespace

VerbSpec make_checkout_verb() {
  auto a = std::make_shared<CheckoutArgs>();
  return {
    .name = "checkout",
    .summary = "Switch branches or restore files",
    .synopsis = "coral checkout [-f] REV\n"
                "coral checkout -b NAME [REV]\n"
                "coral checkout [REV] -- PATH...",
    .description =
      "With REV: writes the tree of REV into the working tree, byte-identical to what was added,\n"
      "removes tracked files that REV does not have, and moves HEAD: to the branch when REV is a\n"
      "branch name, else detached at the commit. Refuses to overwrite local changes unless -f.\n"
      "\n"
      "With -b NAME: creates branch NAME at REV (default HEAD) and switches to it.\n"
      "\n"
      "With '-- PATH...': restores only those paths, from REV or, without REV, from the index.\n"
      "HEAD does not move and local changes to those paths are overwritten.\n"
      "\n"
      "Messages ('Switched to branch ...', 'HEAD is now at ...') go to stderr; --json prints the\n"
      "new HEAD and counts on stdout.",
    .options =
      {
        {"-b", "NAME", "create branch NAME at REV and switch to it", &a->new_branch},
        {"-f,--force", "", "overwrite local changes; with HEAD, restores changed or deleted files", &a->force},
      },
    .positionals = {{"REV", "branch, tag, commit id or prefix, HEAD~N, REV^N", &a->rev}},
    .after_dashdash = &a->paths,
    .examples = "coral checkout ft-de\n"
                "coral checkout v1.2            # detached HEAD\n"
                "coral checkout -b ft-py main\n"
                "coral checkout HEAD~2 -- config.json\n"
                "coral checkout --force HEAD",
    .exit_status = exit_status({{4, "local changes would be overwritten (use -f), or the branch exists"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_checkout(*a, g, out); },
  };
}

}  // namespace coral::cli
