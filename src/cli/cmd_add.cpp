#include "output.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct AddArgs {
  std::vector<std::string> paths;
  bool update = false;
};

int run_add(const AddArgs& a, const GlobalOptions& g, Output& out) {
  if (a.paths.empty() && !a.update)
    throw UsageError("nothing specified, nothing added", {}, "name the files or directories to add, or use -u");
  auto repo = vcs::Repository::open(open_options(g));
  const auto result = vcs::add(repo, {.paths = a.paths, .update_tracked = a.update}, out.progress());
  out.print_add(result);
  return 0;
}

}  // namespace

VerbSpec make_add_verb() {
  auto a = std::make_shared<AddArgs>();
  return {
    .name = "add",
    .summary = "Stage files or directories (stores their data at once)",
    .synopsis = "coral add PATH...\n"
                "coral add -u [PATH...]",
    .description =
      "Stages the named files, and directories recursively, for the next commit. Their data is\n"
      "stored in the repository right away (tensor files are split into tensors, which are\n"
      "deduplicated and compressed), so a later commit is fast. Paths matching a pattern in\n"
      ".coralignore (gitignore syntax) are skipped.\n"
      "\n"
      "Tensor files (safetensors, npy, npz) are validated; a file that fails validation stops\n"
      "the command and nothing of it is staged.\n"
      "\n"
      "Prints a one-line summary: files added, modified and unchanged, bytes scanned and stored.",
    .options = {{"-u,--update", "", "stage changes and deletions of tracked files only (no new files)", &a->update}},
    .positionals = {{"PATH", "files or directories to stage; '.' is the whole working tree", &a->paths}},
    .examples = "coral add checkpoints/epoch-7\n"
                "coral add config.json model-00001-of-00002.safetensors model-00002-of-00002.safetensors\n"
                "coral add -u\n"
                "coral --json add .",
    .exit_status = exit_status({{7, "a file fails validation (for example a truncated safetensors file)"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_add(*a, g, out); },
  };
}

}  // namespace coral::cli
