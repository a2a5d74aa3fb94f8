#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct FsckArgs {
  bool full = false;
  bool rebuild_index = false;
};

int run_fsck(const FsckArgs& a, const GlobalOptions& g, Output& out) {
  auto repo = vcs::Repository::open(open_options(g));
  const auto result = vcs::fsck(repo, {.full = a.full, .rebuild_index = a.rebuild_index}, out.progress());
  out.print_fsck(result);
  if (result.ok()) return 0;
  const std::size_t n = result.problems.size();
  throw CorruptError("fsck found " + std::to_string(n) + (n == 1 ? " problem" : " problems"), {},
                     "see the 'error:' lines above; 'coral fsck --rebuild-index' repairs lookup problems");
}

}  // namespace

VerbSpec make_fsck_verb() {
  auto a = std::make_shared<FsckArgs>();
  return {
    .name = "fsck",
    .summary = "Check that the repository is complete and intact",
    .synopsis = "coral fsck [--full] [--rebuild-index]",
    .description =
      "Walks every branch, tag, HEAD and the staging index: every reachable commit and tree\n"
      "object is present and decodes, and every file's skeleton or whole-file object and every\n"
      "tensor object is in a pack with an intact delta base chain. Then compares the pack lookup\n"
      "table with the packs' own indexes. --full also decodes every reachable data object and\n"
      "checks its hash (slower: it reads every stored byte). The data of a pruned commit is not\n"
      "checked. fsck writes nothing and takes no lock.\n"
      "\n"
      "Each problem is one 'error:' line naming the object, the ref, commit, path, tensor and\n"
      "pack where known, followed by a summary line. --rebuild-index first rewrites the pack\n"
      "lookup table and the similarity index from the packs (under the write lock), then checks.",
    .options =
      {
        {"--full", "", "also decode every reachable object and verify its hash", &a->full},
        {"--rebuild-index", "", "rebuild the pack lookup table and the similarity index first", &a->rebuild_index},
      },
    .examples = "coral fsck\n"
                "coral fsck --full\n"
                "coral fsck --rebuild-index\n"
                "coral --json fsck --full | jq '.problems[] | .message'",
    .exit_status = exit_status({{0, "success: no problems found"},
                                {6, "problems found (listed as 'error:' lines), or the repository cannot be read"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_fsck(*a, g, out); },
  };
}

}  // namespace coral::cli
