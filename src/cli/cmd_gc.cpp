#include "output.hpp"
#include "verb.hpp"

#include "coral/vcs/maintenance.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct GcArgs {
  bool dry_run = false;
  bool repack = false;
};

int run_gc(const GcArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  out.print_gc(vcs::gc(repo, {.dry_run = a.dry_run, .repack = a.repack}, out.progress()));
  return 0;
}

}  // namespace

VerbSpec make_gc_verb() {
  auto a = std::make_shared<GcArgs>();
  return {
    .name = "gc",
    .summary = "Delete what no branch, tag, HEAD or the index needs; consolidate packs",
    .synopsis = "coral gc [--dry-run] [--repack]",
    .description =
      "Plans, then executes, under the repository's gc lock held exclusively (shared for\n"
      "--dry-run): writers that start meanwhile wait (up to --lock-wait seconds, then exit 5),\n"
      "and gc waits for running ones.\n"
      "\n"
      "Live: every commit reachable from a branch, a tag or HEAD (pruned commits included), its\n"
      "tree and annotated tag objects, and the data objects (tensors, skeletons, whole files) of\n"
      "those commits that are not pruned and of the staging index. Everything else goes: data\n"
      "objects, commits, trees and tags that nothing reaches (a deleted branch's commits too, at\n"
      "once: coral has no reflog). A live object stored as a delta against an object that goes\n"
      "is first re-encoded against the next live object of its chain, or standalone, and reads\n"
      "back byte-identical. Packs holding what goes are rewritten; packs smaller than half of\n"
      "pack.max_bytes are consolidated (--repack: all packs). Temp files of killed processes are\n"
      "deleted. If any branch, tag, HEAD, commit, tree or the index cannot be read, or a live\n"
      "object is missing, gc deletes nothing and exits 6.\n"
      "\n"
      "--dry-run prints the plan a real gc would execute, with the same numbers (it re-encodes in\n"
      "memory to know the sizes), and changes nothing. Byte counts are the encoded bytes of the\n"
      "objects; '.coral on disk' is measured, pack file overhead included.",
    .options =
      {
        {"-n,--dry-run", "", "print the plan, change nothing", &a->dry_run},
        {"--repack", "", "consolidate every pack, not only small ones", &a->repack},
      },
    .examples = "coral gc --dry-run\n"
                "coral gc\n"
                "coral --json gc | jq '.bytes_before - .bytes_after'",
    .exit_status = exit_status({{5, "another coral process holds the repository past --lock-wait"},
                                {6, "a root, commit, tree or live object cannot be read: nothing was deleted"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_gc(*a, g, out); },
  };
}

}  // namespace coral::cli
