#pragma once
// Walking the working tree: the files under some repository paths, honouring .coralignore.

#include "ignore.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace coral::vcs {

// Repository paths of the regular files under `repo_path` ("" = the whole tree), sorted.
// Ignored files are skipped inside directories; a file named explicitly is always listed.
// Symlinks are followed only when they resolve inside the working tree (UsageError otherwise).
// NotFoundError when `repo_path` does not exist.
std::vector<std::string> list_worktree_files(const std::filesystem::path& worktree, const std::string& repo_path,
                                             const IgnoreRules& ignore);

}  // namespace coral::vcs
