#include "output.hpp"
#include "verb.hpp"

#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct ShowArgs {
  std::string spec;
};

int run_show(const ShowArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  const auto result = vcs::show(repo, a.spec.empty() ? "HEAD" : a.spec);
  out.print_show(result);
  return 0;
}

}  // namespace

VerbSpec make_show_verb() {
  auto a = std::make_shared<ShowArgs>();
  return {
    .name = "show",
    .summary = "Show a commit, or a file of a commit with its tensors",
    .synopsis = "coral show [REV]\n"
                "coral show REV:PATH",
    .description =
      "With REV (default HEAD): the commit as 'coral log' shows it, then one 'X<TAB>PATH' line\n"
      "per file changed against the first parent (A added, M modified, D deleted).\n"
      "\n"
      "With REV:PATH: the file as committed in REV: path, format, size, mode and object id,\n"
      "then a table of its tensors (name, dtype, shape, bytes).",
    .options = {},
    .positionals = {{"SPEC", "REV, or REV:PATH for one file", &a->spec}},
    .examples = "coral show\n"
                "coral show v1.2\n"
                "coral show HEAD~1:model.safetensors\n"
                "coral --json show main:model-00001-of-00002.safetensors",
    .exit_status = exit_status({{3, "not found: no repository, unknown revision, or PATH not in REV"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_show(*a, g, out); },
  };
}

}  // namespace coral::cli
