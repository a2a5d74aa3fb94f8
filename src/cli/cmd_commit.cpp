#include "arguments.hpp"
#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct CommitArgs {
  std::string message;
  bool all = false;
  std::string author;
  std::string email;
  std::vector<std::string> metrics;
  bool allow_empty = false;
  std::string branch;
};

int run_commit(const CommitArgs& a, const GlobalOptions& g, Output& out) {
  if (a.message.empty()) throw UsageError("missing commit message", {}, "pass one with -m MSG");
  const auto metrics = parse_metrics(a.metrics);
  auto repo = vcs::Repository::open(open_options(g));
  const auto result = vcs::commit(repo,
                                  {.message = a.message,
                                   .author = a.author,
                                   .email = a.email,
                                   .metrics = metrics,
                                   .all = a.all,
                                   .allow_empty = a.allow_empty,
                                   .branch = a.branch},
                                  out.progress());
  out.print_commit(result);
  return 0;
}

}  // namespace

VerbSpec make_commit_verb() {
  auto a = std::make_shared<CommitArgs>();
  return {
    .name = "commit",
    .summary = "Record the staged tree as a new commit",
    .synopsis = "coral commit -m MSG [-a] [--author NAME] [--email EMAIL] [--metric NAME=VALUE]... [--allow-empty] [--branch NAME]",
    .description =
      "Records the index (the full tree of tracked files, not only what changed) as a new commit\n"
      "on the current branch, or on the detached HEAD. The data was stored by 'coral add', so\n"
      "this is fast.\n"
      "\n"
      "The author is --author/--email, else config user.name/user.email, else CORAL_AUTHOR_NAME/\n"
      "CORAL_AUTHOR_EMAIL, else the login name and host. Metrics are recorded with the commit\n"
      "and shown by 'coral log'.\n"
      "\n"
      "With --branch NAME the commit goes onto NAME (its parent is NAME's tip, or HEAD when NAME\n"
      "does not exist yet); HEAD and the working tree do not change.\n"
      "\n"
      "Prints '[BRANCH SHORT-ID] SUBJECT' ('detached HEAD' for BRANCH when detached,\n"
      "'(root-commit)' for the first commit) and the number of files changed.",
    .options =
      {
        {"-m,--message", "MSG", "the commit message (required)", &a->message},
        {"-a,--all", "", "first stage changes and deletions of tracked files (as add -u)", &a->all},
        {"--author", "NAME", "author name for this commit", &a->author},
        {"--email", "EMAIL", "author email for this commit", &a->email},
        {"--metric", "NAME=VALUE", "record a metric (repeatable); NAME is [A-Za-z0-9_.:/-]+", &a->metrics},
        {"--allow-empty", "", "commit even when the tree equals the parent's", &a->allow_empty},
        {"--branch", "NAME", "commit onto branch NAME (created at HEAD if missing) without switching to it",
         &a->branch},
      },
    .positionals = {},
    .examples = "coral commit -m \"epoch 7\" --metric val_loss=2.61 --metric acc=0.91\n"
                "coral commit -a -m \"fine-tune on de\"\n"
                "coral commit --branch run-42 -m \"step 1000\"   # HEAD stays where it is\n"
                "coral commit -m \"baseline\" --author \"CI\" --email ci@example.com",
    .exit_status = exit_status({{1, "nothing to commit (the tree equals the parent's), or an I/O failure"},
                                {4, "the branch moved while committing (another commit won the race)"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_commit(*a, g, out); },
  };
}

}  // namespace coral::cli
