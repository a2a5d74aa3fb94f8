#include "output.hpp"
#include "verb.hpp"

#include "coral/vcs/repository.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct InitArgs {
  std::string directory;
};

int run_init(const InitArgs& a, const GlobalOptions& g, Output& out) {
  const auto repo = vcs::Repository::init(a.directory.empty() ? "." : a.directory, open_options(g));
  out.print_init(repo.layout().coral_dir());
  return 0;
}

}  // namespace

VerbSpec make_init_verb() {
  auto a = std::make_shared<InitArgs>();
  return {
    .name = "init",
    .summary = "Create an empty repository",
    .synopsis = "coral init [DIR]",
    .description = "Creates DIR/.coral (DIR defaults to the current directory, and is created if\n"
                   "missing). The new repository has no commits; HEAD names the branch 'main'.",
    .options = {},
    .positionals = {{"DIR", "where to create the repository (default: the current directory)", &a->directory}},
    .examples = "coral init\n"
                "coral init models/llama-ft\n"
                "coral -C models/llama-ft init",
    .exit_status = exit_status({{4, "a repository already exists in DIR"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_init(*a, g, out); },
  };
}

}  // namespace coral::cli
