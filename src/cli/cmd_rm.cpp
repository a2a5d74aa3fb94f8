#include "output.hpp"
#include "verb.hpp"

#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct RmArgs {
  std::vector<std::string> paths;
  bool cached = false;
  bool recursive = false;
  bool force = false;
};

int run_rm(const RmArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  const auto result =
    vcs::rm(repo, {.paths = a.paths, .cached = a.cached, .recursive = a.recursive, .force = a.force});
  out.print_rm(result);
  return 0;
}

}  // namespace

VerbSpec make_rm_verb() {
  auto a = std::make_shared<RmArgs>();
  return {
    .name = "rm",
    .summary = "Stop tracking files (and delete them from the working tree)",
    .synopsis = "coral rm [--cached] [-r] [-f] PATH...",
    .description = "Removes the paths from the index, so the next commit no longer has them, and\n"
                   "deletes them from the working tree unless --cached is given. Prints one\n"
                   "\"rm 'PATH'\" line per removed file.",
    .options =
      {
        {"--cached", "", "only untrack; keep the files in the working tree", &a->cached},
        {"-r,--recursive", "", "allow directories (removes every tracked file below them)", &a->recursive},
        {"-f,--force", "", "remove even when a file has changes that are not committed", &a->force},
      },
    .positionals = {{"PATH", "tracked files, or directories with -r", &a->paths, true}},
    .examples = "coral rm old-checkpoint.safetensors\n"
                "coral rm --cached notes.txt\n"
                "coral rm -r checkpoints/epoch-1",
    .exit_status = exit_status({{3, "not found: no repository, or a path is not tracked"},
                                {4, "a file has uncommitted changes (use -f or --cached)"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_rm(*a, g, out); },
  };
}

}  // namespace coral::cli
