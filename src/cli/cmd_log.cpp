#include "output.hpp"
#include "verb.hpp"

#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct LogArgs {
  std::string rev;
  std::int64_t max_count = -1;
  bool oneline = false;
};

int run_log(const LogArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  const auto commits = vcs::log(repo, {.rev = a.rev.empty() ? "HEAD" : a.rev, .max_count = a.max_count});
  out.print_log(commits, a.oneline);
  return 0;
}

}  // namespace

VerbSpec make_log_verb() {
  auto a = std::make_shared<LogArgs>();
  return {
    .name = "log",
    .summary = "Show the commit history",
    .synopsis = "coral log [-n N] [--oneline] [REV]",
    .description =
      "Lists the commits reachable from REV (default HEAD), newest first. Each entry shows the\n"
      "commit id, 'Merge:' with the parents' short ids for merges, the author, the date (ISO 8601\n"
      "with offset), for merge commits the strategy, merge base and rules, the metrics and the\n"
      "message. --oneline prints 'SHORT-ID SUBJECT' per commit;\n"
      "--json prints an array of commit objects (see docs/cli.md).",
    .options =
      {
        {"-n,--max-count", "N", "show at most N commits", &a->max_count},
        {"--oneline", "", "one line per commit: short id and subject", &a->oneline},
      },
    .positionals = {{"REV", "where to start: branch, tag, commit id or prefix, HEAD~N, REV^N", &a->rev}},
    .examples = "coral log\n"
                "coral log -n 5 --oneline\n"
                "coral log ft-de~2\n"
                "coral --json log | jq '.[] | .metrics.val_loss'",
    .exit_status = exit_status({{3, "not found: no repository, unknown revision, or no commits yet"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_log(*a, g, out); },
  };
}

}  // namespace coral::cli
