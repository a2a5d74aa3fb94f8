#include "output.hpp"
#include "verb.hpp"

#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"

namespace coral::cli {
namespace {

int run_stats(const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  out.print_stats(vcs::stats(repo));
  return 0;
}

}  // namespace

VerbSpec make_stats_verb() {
  return {
    .name = "stats",
    .summary = "Show how much the repository stores and how much it saves",
    .synopsis = "coral stats",
    .description =
      "Walks every branch, tag, HEAD and the staging index like fsck and reports: the logical\n"
      "bytes of HEAD's tree and of every reachable commit's tree summed (what checking out every\n"
      "commit would write), the bytes of .coral/ on disk (and of its packs) and their ratio; the\n"
      "stored data objects by encoding (raw, zstd, chunks) with raw and stored bytes; how many\n"
      "file and tensor references the commits make against the distinct objects they name (the\n"
      "bytes deduplication saves); the delta chain depths of the stored objects; and the data\n"
      "objects no root reaches, whose bytes a gc could reclaim. stats writes nothing and takes\n"
      "no lock.",
    .options = {},
    .examples = "coral stats\n"
                "coral --json stats | jq '.ratio'",
    .exit_status = exit_status({{6, "a branch, tag, HEAD or the index cannot be read"}}),
    .run = [](const GlobalOptions& g, Output& out) { return run_stats(g, out); },
  };
}

}  // namespace coral::cli
