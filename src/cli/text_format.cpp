#include "text_format.hpp"

#include <fmt/format.h>

#include <array>
#include <sstream>

namespace coral::cli {
namespace {

std::string plural(std::uint64_t n, const std::string& word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

std::string status_label(vcs::Change c) {
  switch (c) {
    case vcs::Change::added: return "new file:   ";
    case vcs::Change::modified: return "modified:   ";
    case vcs::Change::deleted: return "deleted:    ";
    case vcs::Change::untracked:
    case vcs::Change::none: break;
  }
  return "";
}

bool is_change(vcs::Change c) { return c != vcs::Change::none && c != vcs::Change::untracked; }
bool is_untracked(const vcs::StatusEntry& e) {
  return e.staged == vcs::Change::untracked || e.unstaged == vcs::Change::untracked;
}

// The message indented by four spaces, trailing blank lines dropped.
std::string indented_message(const std::string& message) {
  std::string body = message;
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.pop_back();
  std::string out;
  std::stringstream ss(body);
  std::string line;
  while (std::getline(ss, line)) out += line.empty() ? "\n" : "    " + line + "\n";
  return out;
}

}  // namespace

std::string short_id(const core::ObjectId& id) { return id.hex().substr(0, 8); }

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  constexpr std::array units{"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  std::size_t i = 0;
  while (v >= 1024.0 && i + 1 < units.size()) {
    v /= 1024.0;
    ++i;
  }
  return fmt::format("{:.1f} {}", v, units[i]);
}

std::string format_number(double v) { return fmt::format("{}", v); }

std::string format_shape(const std::vector<std::uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

std::string format_add(const vcs::AddResult& r) {
  std::string out = fmt::format("added {}, modified {}", r.added.size(), r.modified.size());
  if (!r.removed.empty()) out += fmt::format(", removed {}", r.removed.size());
  out += fmt::format(", unchanged {} files ({} scanned, {} stored)\n", r.files_unchanged,
                     format_bytes(r.bytes_scanned), format_bytes(r.stored.bytes_stored));
  return out;
}

std::string format_rm(const vcs::RmResult& r) {
  std::string out;
  for (const auto& p : r.removed) out += "rm '" + p + "'\n";
  return out;
}

std::string format_status(const vcs::StatusResult& r) {
  std::string out;
  if (r.head.branch) out += "On branch " + *r.head.branch + "\n";
  else if (r.head.commit) out += "HEAD detached at " + short_id(*r.head.commit) + "\n";
  if (!r.head.commit) out += "\nNo commits yet\n";
  std::string staged, unstaged, untracked;
  for (const auto& e : r.entries) {
    if (is_change(e.staged)) staged += "\t" + status_label(e.staged) + e.path + "\n";
    if (is_change(e.unstaged)) unstaged += "\t" + status_label(e.unstaged) + e.path + "\n";
    if (is_untracked(e)) untracked += "\t" + e.path + "\n";  // also after `rm --cached`
  }
  if (!staged.empty()) out += "\nChanges to be committed:\n" + staged;
  if (!unstaged.empty()) out += "\nChanges not staged for commit:\n" + unstaged;
  if (!untracked.empty()) out += "\nUntracked files:\n" + untracked;
  if (!staged.empty()) return out;
  if (!unstaged.empty()) return out + "\nno changes added to commit (use \"coral add\" or \"coral commit -a\")\n";
  if (!untracked.empty()) return out + "\nnothing added to commit but untracked files present (use \"coral add\" to track)\n";
  return out + "\nnothing to commit, working tree clean\n";
}

std::string format_status_porcelain(const vcs::StatusResult& r) {
  std::string out;
  for (const auto& e : r.entries) {
    // git's porcelain v1: a path staged for deletion and present again gets "D " and "??".
    if (is_change(e.staged) || is_change(e.unstaged))
      out += fmt::format("{}{} {}\n", is_change(e.staged) ? static_cast<char>(e.staged) : ' ',
                         is_change(e.unstaged) ? static_cast<char>(e.unstaged) : ' ', e.path);
    if (is_untracked(e)) out += "?? " + e.path + "\n";
  }
  return out;
}

std::string format_commit_summary(const vcs::CommitResult& r) {
  const std::string where = r.branch ? *r.branch : "detached HEAD";
  return fmt::format("[{}{} {}] {}\n {} changed\n", where, r.root ? " (root-commit)" : "", short_id(r.commit.id),
                     first_line(r.commit.message), plural(r.files_changed, "file"));
}

std::string format_commit_header(const vcs::Commit& c) {
  std::string out = "commit " + c.id.hex() + (c.pruned ? " (pruned)" : "") + "\n";
  if (c.parents.size() > 1) {
    out += "Merge:";
    for (const auto& p : c.parents) out += " " + short_id(p);
    out += "\n";
  }
  out += "Author: " + c.author + " <" + c.email + ">\n";
  out += "Date:   " + vcs::format_time(c.time, c.tz_offset) + "\n";
  if (c.merge) {
    out += "Strategy: " + c.merge->strategy;
    for (const auto& [k, v] : c.merge->parameters) out += " " + k + "=" + v;
    out += "\n";
  }
  if (!c.metrics.empty()) {
    out += "Metrics:";
    for (const auto& [k, v] : c.metrics) out += " " + k + "=" + format_number(v);
    out += "\n";
  }
  return out + "\n" + indented_message(c.message);
}

std::string format_log(const std::vector<vcs::Commit>& commits, bool oneline) {
  std::string out;
  for (const auto& c : commits) {
    if (oneline) out += short_id(c.id) + " " + first_line(c.message) + "\n";
    else out += (out.empty() ? "" : "\n") + format_commit_header(c);
  }
  return out;
}

std::string format_branches(const std::vector<vcs::BranchInfo>& branches) {
  std::string out;
  for (const auto& b : branches) out += (b.current ? "* " : "  ") + b.name + "\n";
  return out;
}

std::string format_tags(const std::vector<vcs::TagInfo>& tags) {
  std::string out;
  for (const auto& t : tags) out += t.name + "\n";
  return out;
}

std::string format_config_list(const std::map<std::string, core::ConfigValue>& values, bool show_origin) {
  std::string out;
  for (const auto& [key, v] : values) {
    if (show_origin) {
      out += std::string(core::origin_name(v.origin));
      if (!v.source.empty()) out += ":" + v.source;
      out += "\t";
    }
    out += key + "=" + v.text + "\n";
  }
  return out;
}

}  // namespace coral::cli
