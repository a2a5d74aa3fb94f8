#include "worktree.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"
#include "paths.hpp"

#include <algorithm>
#include <sys/stat.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;
namespace {

void check_symlink(const stdfs::path& worktree, const stdfs::path& abs, const std::string& rel) {
  std::error_code ec;
  const auto real = stdfs::canonical(abs, ec);
  if (ec) throw UsageError("'" + rel + "' is a broken symlink");
  const auto inside = real.lexically_relative(stdfs::canonical(worktree)).generic_string();
  if (inside.empty() || inside.rfind("..", 0) == 0 || inside == ".coral" || inside.rfind(".coral/", 0) == 0)
    throw UsageError("'" + rel + "' is a symlink that leads outside the working tree");
}

// The name with bytes that are not printable ASCII escaped, for messages.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

void walk(const stdfs::path& worktree, const std::string& rel, const IgnoreRules& ignore, std::vector<std::string>& out,
          int depth) {
  if (depth > 256) throw UsageError("directory nesting too deep at '" + rel + "'");
  const stdfs::path dir = rel.empty() ? worktree : worktree / rel;
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  if (ec) throw_errno("cannot read directory", dir.string(), ec.value());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (core::fs::is_checkout_temp_name(name)) continue;  // a checkout's temp file
    const std::string child = rel.empty() ? name : rel + "/" + name;
    const stdfs::path abs = worktree / child;
    struct stat lst {}, st {};
    if (::lstat(abs.c_str(), &lst) != 0) continue;  // vanished
    const bool link = S_ISLNK(lst.st_mode);
    if (link && ::stat(abs.c_str(), &st) != 0) continue;  // broken link: skip, like git skips nothing but we cannot read it
    const auto& s = link ? st : lst;
    const bool is_dir = S_ISDIR(s.st_mode);
    if (ignore.ignored(child, is_dir)) continue;
    if (auto why = unsafe_path_reason(child)) {
      core::log().warn("skipping '{}': {}", printable(child), *why);
      continue;
    }
    if (link && !readable_inside_worktree(worktree, child)) {
      core::log().warn("skipping '{}': a symlink that leads outside the working tree", child);
      continue;
    }
    if (is_dir) {
      if (link) continue;  // never descend through directory symlinks (cycles, double counting)
      walk(worktree, child, ignore, out, depth + 1);
    } else if (S_ISREG(s.st_mode)) {
      out.push_back(child);
    }
  }
}

}  // namespace

std::vector<std::string> list_worktree_files(const stdfs::path& worktree, const std::string& repo_path,
                                             const IgnoreRules& ignore) {
  std::vector<std::string> out;
  const stdfs::path abs = repo_path.empty() ? worktree : worktree / repo_path;
  struct stat st {};
  if (::stat(abs.c_str(), &st) != 0) throw NotFoundError("path '" + repo_path + "' did not match any file");
  if (S_ISDIR(st.st_mode)) {
    walk(worktree, repo_path, ignore, out, 0);
  } else if (S_ISREG(st.st_mode)) {
    struct stat lst {};
    if (::lstat(abs.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) check_symlink(worktree, abs, repo_path);
    if (auto why = unsafe_path_reason(repo_path))
      throw UsageError("cannot track '" + printable(repo_path) + "': " + *why);
    out.push_back(repo_path);
  } else {
    throw UsageError("'" + repo_path + "' is not a regular file or directory");
  }
  return out;
}

}  // namespace coral::vcs
