#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct DiffArgs {
  std::vector<std::string> revs;
  bool stat = false;
};

int run_diff(const DiffArgs& a, const GlobalOptions& g, Output& out) {
  if (a.revs.size() > 2) throw UsageError("diff takes at most two revisions", {}, "run 'coral help diff'");
  auto repo = vcs::Repository::open(open_options(g));
  const auto files = vcs::diff(repo, {.revs = a.revs, .stats = !a.stat});
  out.print_diff(files, a.stat);
  return 0;
}

}  // namespace

VerbSpec make_diff_verb() {
  auto a = std::make_shared<DiffArgs>();
  return {
    .name = "diff",
    .summary = "Show changes per file and per tensor",
    .synopsis = "coral diff [--stat] [REV [REV]]",
    .description =
      "Without REV: the working tree against the index (changes not staged). With one REV: the\n"
      "working tree against REV. With two: REV against REV.\n"
      "\n"
      "Each changed file is one 'X PATH' line (A added, M modified, D deleted), followed for\n"
      "tensor files by one line per changed tensor:\n"
      "  + NAME DTYPE [SHAPE]            tensor added\n"
      "  - NAME DTYPE [SHAPE]            tensor removed\n"
      "  ~ NAME DTYPE [SHAPE] max|Δ|=1.2e-3 relL2=4.5e-4 cos=0.99999\n"
      "                                  values changed: largest absolute difference, relative\n"
      "                                  L2 change ||a-b||/||a|| and cosine similarity\n"
      "  ~ NAME F32 [10] -> F16 [10]      dtype or shape changed\n"
      "  ~ (header/metadata)             bytes outside the tensors changed\n"
      "--stat prints one line per file with the number of tensors added, removed and changed,\n"
      "and a total line; it does not read tensor data.",
    .options = {{"--stat", "", "summary: tensor counts per file and a total", &a->stat}},
    .positionals = {{"REV", "zero, one or two revisions", &a->revs}},
    .examples = "coral diff\n"
                "coral diff HEAD\n"
                "coral diff epoch-3 epoch-7\n"
                "coral diff --stat main ft-de\n"
                "coral --json diff HEAD~1 HEAD",
    .exit_status = exit_status({{0, "success, whether or not there are differences"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_diff(*a, g, out); },
  };
}

}  // namespace coral::cli
