#include "ignore.hpp"

#include "coral/core/fs.hpp"

namespace coral::vcs {
namespace {

bool match_class(std::string_view p, std::size_t& i, char c) {
  // p[i] == '['; on return i is past ']'.
  std::size_t j = i + 1;
  bool negate = false;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) {
    negate = true;
    ++j;
  }
  bool matched = false;
  bool first = true;
  while (j < p.size() && (p[j] != ']' || first)) {
    first = false;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      if (c >= p[j] && c <= p[j + 2]) matched = true;
      j += 3;
    } else {
      if (c == p[j]) matched = true;
      ++j;
    }
  }
  i = j < p.size() ? j + 1 : j;
  return matched != negate;
}

bool match_here(std::string_view p, std::string_view t) {
  std::size_t pi = 0, ti = 0;
  while (pi < p.size()) {
    if (p.compare(pi, 2, "**") == 0) {
      // "**/" matches zero or more directories; a trailing "**" matches everything.
      std::size_t rest = pi + 2;
      if (rest < p.size() && p[rest] == '/') ++rest;
      for (std::size_t k = ti; k <= t.size(); ++k)
        if ((k == ti || t[k - 1] == '/' || rest == p.size()) && match_here(p.substr(rest), t.substr(k))) return true;
      return false;
    }
    const char pc = p[pi];
    if (pc == '*') {
      for (std::size_t k = ti; k <= t.size(); ++k) {
        if (match_here(p.substr(pi + 1), t.substr(k))) return true;
        if (k < t.size() && t[k] == '/') break;
      }
      return false;
    }
    if (ti >= t.size()) return false;
    if (pc == '?') {
      if (t[ti] == '/') return false;
      ++pi;
      ++ti;
    } else if (pc == '[') {
      if (t[ti] == '/' || !match_class(p, pi, t[ti])) return false;
      ++ti;
    } else {
      if (pc == '\\' && pi + 1 < p.size()) ++pi;
      if (p[pi] != t[ti]) return false;
      ++pi;
      ++ti;
    }
  }
  return ti == t.size();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) { return match_here(pattern, text); }

IgnoreRules IgnoreRules::load(const std::filesystem::path& worktree) {
  IgnoreRules rules;
  const auto file = worktree / ".coralignore";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return rules;
  const std::string text = core::fs::read_file(file);
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    rules.add_pattern(std::string_view(text).substr(start, end - start));
    start = end + 1;
  }
  return rules;
}

void IgnoreRules::add_pattern(std::string_view line) {
  std::string s(line);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  while (!s.empty() && s.back() == ' ' && (s.size() < 2 || s[s.size() - 2] != '\\')) s.pop_back();
  if (s.empty() || s.front() == '#') return;
  Rule r;
  if (s.front() == '!') {
    r.negate = true;
    s.erase(0, 1);
  } else if (s.front() == '\\' && s.size() > 1 && (s[1] == '!' || s[1] == '#')) {
    s.erase(0, 1);
  }
  if (!s.empty() && s.back() == '/') {
    r.dir_only = true;
    s.pop_back();
  }
  if (s.find('/') != std::string::npos) r.anchored = true;
  if (!s.empty() && s.front() == '/') s.erase(0, 1);
  if (s.empty()) return;
  r.pattern = std::move(s);
  m_rules.push_back(std::move(r));
}

bool IgnoreRules::ignored(std::string_view path, bool is_dir) const {
  if (path == ".coral" || path.rfind(".coral/", 0) == 0) return true;
  const auto slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  bool result = false;
  for (const auto& r : m_rules) {
    if (r.dir_only && !is_dir) continue;
    const bool m = r.anchored ? glob_match(r.pattern, path) : glob_match(r.pattern, base);
    if (m) result = !r.negate;
  }
  return result;
}

}  // namespace coral::vcs
