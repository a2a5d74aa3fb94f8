#pragma once
// All of the CLI's printing. stdout carries only the result: text, or one JSON document with
// --json (shapes documented in docs/cli.md, field names stable). stderr carries notes and the
// progress bar. Verb files never write to std::cout or std::cerr themselves.

#include "coral/core/config.hpp"
#include "coral/core/progress.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"
#include "coral/vcs/merge.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coral::cli {

class ProgressBar;

// A branch or tag created, deleted or renamed (for `branch` and `tag`).
struct RefChange {
  std::string kind;    // "branch" or "tag"
  std::string action;  // "created", "deleted", "renamed"
  std::string name;
  std::string old_name;  // renamed: the previous name
};

// What checkout was asked to do, for its message.
struct CheckoutNote {
  std::string new_branch;             // -b NAME
  bool paths = false;                 // restored paths only
  std::string source;                 // paths: the revision, empty for the index
  std::optional<vcs::Commit> commit;  // detached: the commit now checked out
};

// A config file written by `config set` / `config unset`.
struct ConfigWrite {
  std::string key;
  std::optional<std::string> value;  // canonical value; unset for `unset`
  std::filesystem::path file;
};

class Output {
public:
  Output(bool json, bool quiet);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  bool json() const noexcept { return m_json; }

  // A progress callback that draws a bar on stderr (terminal only, after ~0.5 s, not with -q).
  core::ProgressFn progress();
  // An informational line on stderr (suppressed by -q).
  void note(std::string_view line);

  void print_init(const std::filesystem::path& coral_dir);
  void print_add(const vcs::AddResult& r);
  void print_rm(const vcs::RmResult& r);
  void print_status(const vcs::StatusResult& r, bool porcelain);
  void print_commit(const vcs::CommitResult& r);
  void print_log(const std::vector<vcs::Commit>& commits, bool oneline);
  void print_show(const vcs::ShowResult& r);
  void print_diff(const std::vector<vcs::FileDiff>& files, bool stat);
  void print_checkout(const vcs::CheckoutResult& r, const CheckoutNote& note);
  // The result on stdout, and with conflicts one 'CONFLICT PATH:TENSOR: REASON' line each on
  // stderr (even with -q: they explain the error that follows). `options` gives the strategy,
  // its parameters and the rules for --json.
  void print_merge(const vcs::MergeResult& r, const vcs::MergeOptions& options);
  // fsck: one "error:" line per problem, then the summary (everything on stdout).
  void print_fsck(const vcs::FsckResult& r);
  void print_stats(const vcs::StatsResult& r);
  // maintenance_output.cpp
  void print_gc(const vcs::GcResult& r);
  void print_prune(const vcs::PruneResult& r);
  void print_branches(const std::vector<vcs::BranchInfo>& branches);
  void print_tags(const std::vector<vcs::TagInfo>& tags);
  void print_ref_change(const RefChange& change);
  void print_config_list(const std::map<std::string, core::ConfigValue>& values, bool show_origin);
  void print_config_value(std::string_view key, const core::ConfigValue& value);
  void print_config_write(const ConfigWrite& write);

private:
  void finish_progress();
  void result(const std::string& text);  // to stdout

  bool m_json;
  bool m_quiet;
  std::shared_ptr<ProgressBar> m_bar;
};

}  // namespace coral::cli
