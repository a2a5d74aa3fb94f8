#include "output.hpp"
#include "verb.hpp"

#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct StatusArgs {
  bool porcelain = false;
};

int run_status(const StatusArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  const auto result = vcs::status(repo, out.progress());
  out.print_status(result, a.porcelain);
  return 0;
}

}  // namespace

VerbSpec make_status_verb() {
  auto a = std::make_shared<StatusArgs>();
  return {
    .name = "status",
    .summary = "Show the working tree status",
    .synopsis = "coral status [--porcelain]",
    .description =
      "Shows the current branch (or the detached commit), then the changes to be committed\n"
      "(index against HEAD), the changes not staged for commit (working tree against the index)\n"
      "and the untracked files. Unchanged files are recognised by their size, mtime, inode and\n"
      "ctime, without reading them.\n"
      "\n"
      "--porcelain prints one stable 'XY PATH' line per path, as git's porcelain v1: X is the\n"
      "staged change and Y the unstaged one (A added, M modified, D deleted, space none), and\n"
      "untracked paths are '?? PATH'. --json gives the same as one document.",
    .options = {{"--porcelain", "", "machine-readable 'XY PATH' lines", &a->porcelain}},
    .positionals = {},
    .examples = "coral status\n"
                "coral status --porcelain\n"
                "coral --json status",
    .exit_status = exit_status({{0, "success, whether or not there are changes"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_status(*a, g, out); },
  };
}

}  // namespace coral::cli
