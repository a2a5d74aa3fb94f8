#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct TagArgs {
  std::vector<std::string> args;
  std::string message;
  bool remove = false;
  bool force = false;
};

RefChange change_tag(vcs::Repository& repo, const TagArgs& a) {
  const auto& args = a.args;
  if (a.remove) {
    if (args.size() != 1) throw UsageError("tag -d takes one tag name", {}, "run 'coral help tag'");
    vcs::delete_tag(repo, args[0]);
    return {.kind = "tag", .action = "deleted", .name = args[0], .old_name = {}};
  }
  if (args.empty() || args.size() > 2) throw UsageError("tag takes NAME [REV]", {}, "run 'coral help tag'");
  // Annotated tags record a tagger, resolved as a commit's author is.
  const auto [tagger, email] = a.message.empty() ? std::pair<std::string, std::string>{}
                                                 : vcs::resolve_identity(repo, "", "");
  vcs::create_tag(repo, args[0], args.size() == 2 ? args[1] : "HEAD", a.message, tagger, email, a.force);
  return {.kind = "tag", .action = "created", .name = args[0], .old_name = {}};
}

int run_tag(const TagArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  if (a.args.empty() && !a.remove && a.message.empty()) out.print_tags(vcs::list_tags(repo));
  else out.print_ref_change(change_tag(repo, a));
  return 0;
}

}  // namespace

VerbSpec make_tag_verb() {
  auto a = std::make_shared<TagArgs>();
  return {
    .name = "tag",
    .summary = "List, create or delete tags",
    .synopsis = "coral tag\n"
                "coral tag [-f] [-m MSG] NAME [REV]\n"
                "coral tag -d NAME",
    .description =
      "Without arguments: lists the tags. With NAME: tags REV (default HEAD). With -m the tag\n"
      "is annotated: it records the message, the tagger (config user.name/user.email, else the\n"
      "login name and host) and the time. -d deletes a tag.",
    .options =
      {
        {"-m,--message", "MSG", "create an annotated tag with this message", &a->message},
        {"-d,--delete", "", "delete the tag", &a->remove},
        {"-f,--force", "", "replace an existing tag", &a->force},
      },
    .positionals = {{"NAME", "tag name, then optionally the REV to tag", &a->args}},
    .examples = "coral tag\n"
                "coral tag v1.0\n"
                "coral tag -m \"release candidate\" v1.1-rc1 HEAD~1\n"
                "coral tag -d v1.1-rc1\n"
                "coral --json tag",
    .exit_status = exit_status({{3, "not found: no repository, unknown tag or revision"},
                                {4, "the tag exists (use -f)"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_tag(*a, g, out); },
  };
}

}  // namespace coral::cli
