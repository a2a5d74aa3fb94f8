#pragma once
// .coralignore: gitignore patterns, read from the working-tree root. Supported: blank lines and
// '#' comments, '!' negation (last match wins), trailing '/' (directories only), a leading or
// inner '/' anchors the pattern at the root, '*', '?', '[...]' and '**' ("a/**/b", "**/x",
// "x/**"). .coral is always ignored.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace coral::vcs {

class IgnoreRules {
public:
  static IgnoreRules load(const std::filesystem::path& worktree);
  void add_pattern(std::string_view line);
  // `path` is a repository path ('/'-separated, relative to the root).
  bool ignored(std::string_view path, bool is_dir) const;

private:
  struct Rule {
    std::string pattern;
    bool negate = false;
    bool dir_only = false;
    bool anchored = false;
  };
  std::vector<Rule> m_rules;
};

// Shell-style match with gitignore's '**'. Exposed for tests.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace coral::vcs
