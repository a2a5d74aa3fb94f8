#include "paths.hpp"

#include "coral/core/error.hpp"

#include <sys/stat.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;

namespace {

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

}  // namespace

std::optional<std::string> unsafe_path_reason(std::string_view path) {
  if (path.empty()) return "it is empty";
  if (!valid_utf8(path)) return "it is not valid UTF-8";
  if (path.front() == '/') return "it is absolute";
  if (path.back() == '/') return "it ends with '/'";
  for (unsigned char c : path) {
    if (c == 0) return "it contains a NUL byte";
    if (c == '\\') return "it contains a backslash";
    if (c < 0x20) return "it contains a control character";
  }
  std::size_t start = 0;
  bool first = true;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto comp = path.substr(start, end - start);
    if (comp.empty()) return "it has an empty component";
    if (comp == "." || comp == "..") return "it contains '" + std::string(comp) + "'";
    if (comp == ".coral") return first ? "it is inside .coral" : "it contains a nested .coral";
    first = false;
    start = end + 1;
  }
  return std::nullopt;
}

bool in_scope(std::string_view path, std::string_view scope) noexcept {
  return scope.empty() || path == scope ||
         (path.size() > scope.size() && path.substr(0, scope.size()) == scope && path[scope.size()] == '/');
}

void check_stored_path(std::string_view path) {
  if (auto why = unsafe_path_reason(path))
    throw CorruptError("unsafe path '" + std::string(path) + "' in repository: " + *why, {},
                       "run 'coral fsck'; coral never writes such a path");
}

std::string to_repo_path(const stdfs::path& worktree, const std::string& user_path) {
  const auto abs = stdfs::absolute(user_path).lexically_normal();
  const auto rel = abs.lexically_relative(worktree);
  std::string r = rel.generic_string();
  if (r == ".") r.clear();
  while (!r.empty() && r.back() == '/') r.pop_back();
  if (rel.empty() || r.rfind("..", 0) == 0)
    throw UsageError("path '" + user_path + "' is outside the working tree " + worktree.string());
  if (r == ".coral" || r.rfind(".coral/", 0) == 0)
    throw UsageError("path '" + user_path + "' is inside .coral");
  // A symlink anywhere on the way must resolve inside the working tree.
  std::error_code ec;
  const auto real = stdfs::weakly_canonical(abs, ec);
  const auto real_root = stdfs::weakly_canonical(worktree, ec);
  const auto real_rel = real.lexically_relative(real_root).generic_string();
  if (real_rel.empty() || real_rel.rfind("..", 0) == 0)
    throw UsageError("path '" + user_path + "' leads outside the working tree through a symlink");
  if (real_rel == ".coral" || real_rel.rfind(".coral/", 0) == 0)
    throw UsageError("path '" + user_path + "' leads inside .coral through a symlink");
  return r;
}

bool readable_inside_worktree(const stdfs::path& worktree, std::string_view repo_path) {
  if (unsafe_path_reason(repo_path)) return false;
  stdfs::path cur = worktree;
  const stdfs::path rel{std::string(repo_path)};
  for (auto it = rel.begin(); it != rel.end(); ++it) {
    cur /= *it;
    struct stat st {};
    if (::lstat(cur.c_str(), &st) != 0) return true;  // missing: nothing is read
    if (!S_ISLNK(st.st_mode)) continue;
    if (std::next(it) != rel.end()) return false;     // a symlinked directory on the way
    std::error_code ec;
    const auto target = stdfs::canonical(cur, ec);
    if (ec) return false;
    const auto inside = target.lexically_relative(stdfs::canonical(worktree, ec)).generic_string();
    return !inside.empty() && inside.rfind("..", 0) != 0 && inside != ".coral" && inside.rfind(".coral/", 0) != 0;
  }
  return true;
}

stdfs::path worktree_path_for_write(const stdfs::path& worktree, std::string_view repo_path) {
  check_stored_path(repo_path);
  stdfs::path cur = worktree;
  const stdfs::path rel{std::string(repo_path)};
  for (auto it = rel.begin(); it != rel.end(); ++it) {
    cur /= *it;
    if (std::next(it) == rel.end()) break;
    struct stat st {};
    if (::lstat(cur.c_str(), &st) != 0) continue;  // created later
    if (S_ISLNK(st.st_mode))
      throw ConflictError("refusing to write '" + std::string(repo_path) + "': '" +
                          cur.lexically_relative(worktree).string() + "' is a symlink");
    if (!S_ISDIR(st.st_mode))
      throw ConflictError("cannot write '" + std::string(repo_path) + "': '" +
                          cur.lexically_relative(worktree).string() + "' is not a directory");
  }
  return worktree / rel;
}

}  // namespace coral::vcs
