#pragma once
// Path safety (DESIGN.md, issue "Safety"): paths stored in trees and given on the command line
// are relative, '/'-separated, without "..", "." or empty components, never under .coral, and
// never reached through a symlink that leads out of the working tree. Checkout never writes
// outside the working tree.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace coral::vcs {

// nullopt when `path` is a safe repository path, else the reason.
std::optional<std::string> unsafe_path_reason(std::string_view path);

// Whether repository path `path` is `scope` or lies under it ("" is the whole tree).
bool in_scope(std::string_view path, std::string_view scope) noexcept;

// Throws CorruptError naming the path: for paths read from a tree or the index.
void check_stored_path(std::string_view path);

// Turns a path typed by the user (relative to the cwd, or absolute) into a repository path.
// "" means the worktree root. UsageError when it lies outside the working tree, under .coral,
// or resolves through a symlink to outside the working tree.
std::string to_repo_path(const std::filesystem::path& worktree, const std::string& user_path);

// True when reading `repo_path` stays inside the working tree: no parent component is a symlink
// and the file itself, if a symlink, resolves inside the tree (not under .coral).
bool readable_inside_worktree(const std::filesystem::path& worktree, std::string_view repo_path);

// The absolute path for a stored repository path, after checking that no existing parent
// component is a symlink or a non-directory (CorruptError / ConflictError otherwise).
std::filesystem::path worktree_path_for_write(const std::filesystem::path& worktree, std::string_view repo_path);

}  // namespace coral::vcs
