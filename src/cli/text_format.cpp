#include "text_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>
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

// "ties density=0.2 lambda=1"
std::string strategy_text(const std::string& name, const std::map<std::string, std::string>& parameters) {
  std::string out = name;
  for (const auto& [k, v] : parameters) out += " " + k + "=" + v;
  return out;
}

// "PATH:TENSOR", or PATH for a decision about the whole file.
std::string decision_target(const vcs::MergeDecision& d) { return d.tensor.empty() ? d.path : d.path + ":" + d.tensor; }

std::string rule_note(const vcs::MergeDecision& d) { return d.rule >= 0 ? fmt::format("rule {}", d.rule + 1) : ""; }

std::string base_line(const vcs::MergeResult& r) {
  if (!r.base) return "No merge base (unrelated histories)\n";
  if (r.base_candidates.size() > 1)
    return fmt::format("Merge base {} (criss-cross: chose it of {} candidates)\n", short_id(*r.base),
                       r.base_candidates.size());
  return "Merge base " + short_id(*r.base) + "\n";
}

// Counts, in the order first seen, for the summary line.
struct Tally {
  std::vector<std::pair<std::string, std::uint64_t>> items;
  void add(const std::string& key) {
    for (auto& [k, n] : items)
      if (k == key) {
        ++n;
        return;
      }
    items.emplace_back(key, 1);
  }
};

// "merged 12 tensors with ties; took 3 from ft-a, 2 from ft-b; deleted 1"
// The decisions a person reads: per tensor for tensor files (their file-level decision repeats
// what the tensors say), per file otherwise, and a deleted file once.
std::vector<const vcs::MergeDecision*> readable_decisions(const vcs::MergeResult& r) {
  std::set<std::string> tensor_files, deleted_files;
  for (const auto& d : r.decisions) {
    if (!d.tensor.empty()) tensor_files.insert(d.path);
    else if (d.action == "delete") deleted_files.insert(d.path);
  }
  std::vector<const vcs::MergeDecision*> out;
  for (const auto& d : r.decisions) {
    const bool file_level = d.tensor.empty();
    const bool shown = deleted_files.count(d.path) ? file_level : (!file_level || !tensor_files.count(d.path));
    if (shown) out.push_back(&d);
  }
  return out;
}

std::string summary_line(const vcs::MergeResult& r) {
  Tally merged, taken;
  std::uint64_t deleted = 0;
  for (const auto* decision : readable_decisions(r)) {
    const auto& d = *decision;
    if (d.action == "merge") merged.add(d.strategy);
    else if (d.action == "take") taken.add(fmt::format("{}", fmt::join(d.from, "+")));
    else if (d.action == "delete") ++deleted;
  }
  std::vector<std::string> parts;
  std::string part;
  for (const auto& [strategy, n] : merged.items)
    part += part.empty() ? fmt::format("merged {} with {}", plural(n, "tensor"), strategy)
                         : fmt::format(", {} with {}", n, strategy);
  if (!part.empty()) parts.push_back(part);
  part.clear();
  for (const auto& [from, n] : taken.items) part += fmt::format("{}{} from {}", part.empty() ? "took " : ", ", n, from);
  if (!part.empty()) parts.push_back(part);
  if (deleted > 0) parts.push_back(fmt::format("deleted {}", deleted));
  if (parts.empty()) return "no file or tensor changes to merge\n";
  return fmt::format("{}\n", fmt::join(parts, "; "));
}

// "merge    PATH:TENSOR  (ties)", one line per decision that changes something.
std::string decision_line(const vcs::MergeDecision& d) {
  std::string detail;
  const std::string rule = rule_note(d);
  if (d.action == "merge") detail = "(" + d.strategy + (rule.empty() ? "" : ", " + rule) + ")";
  else if (d.action == "take")
    detail = fmt::format("from {}{}", fmt::join(d.from, ", "), rule.empty() ? "" : " (" + rule + ")");
  else if (d.action == "delete") detail = fmt::format("({})", fmt::join(d.from, ", "));
  else if (d.action == "conflict") detail = d.reason;
  return fmt::format("{:<8} {}  {}\n", d.action, decision_target(d), detail);
}

// Greedy soup: each side's score, each candidate as what it adds to the soup so far (which
// starts as the best side), then the sides selected.
std::string soup_lines(const vcs::MergeResult& r, bool maximize) {
  if (r.soup_scores.empty()) return "";
  std::string out;
  for (const auto& [label, score] : r.soup_scores) out += "soup: " + label + " scored " + format_number(score) + "\n";
  auto best = r.soup_scores.begin();
  for (auto it = r.soup_scores.begin(); it != r.soup_scores.end(); ++it)
    if (maximize ? it->second > best->second : it->second < best->second) best = it;
  std::vector<std::string> soup = {best->first};
  for (const auto& step : r.soup) {
    std::vector<std::string> added;
    for (const auto& i : step.ingredients)
      if (std::find(soup.begin(), soup.end(), i) == soup.end()) added.push_back(i);
    out += fmt::format("soup: + {} -> {} ({})\n", fmt::join(added, " + "), format_number(step.score),
                       step.kept ? "kept" : "dropped");
    if (step.kept) soup = step.ingredients;
  }
  return out + fmt::format("soup: selected {}\n", fmt::join(r.soup_selected, " + "));
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
    out += "Strategy: " + strategy_text(c.merge->strategy, c.merge->parameters) + "\n";
    if (c.merge->base) out += "Merge base: " + short_id(*c.merge->base) + "\n";
    for (std::size_t i = 0; i < c.merge->rules.size(); ++i) {
      const auto& rule = c.merge->rules[i];
      out += fmt::format("Rule {}: {}:{} -> {}\n", i + 1, rule.file, rule.tensor,
                         strategy_text(rule.strategy, rule.parameters));
    }
  }
  if (!c.metrics.empty()) {
    out += "Metrics:";
    for (const auto& [k, v] : c.metrics) out += " " + k + "=" + format_number(v);
    out += "\n";
  }
  return out + "\n" + indented_message(c.message);
}

std::string format_merge(const vcs::MergeResult& r, const vcs::MergeOptions& options) {
  using Kind = vcs::MergeResult::Kind;
  if (r.kind == Kind::up_to_date) return "Already up to date.\n";
  if (r.kind == Kind::fast_forward) {
    std::string out = r.head.commit ? "Updating " + short_id(*r.head.commit) + ".." + short_id(r.target) + "\n" : "";
    out += "Fast-forward\n";
    if (r.dry_run) return out + "dry run: nothing written\n";
    return out + " " + plural(r.files_written + r.files_removed, "file") + " changed\n";
  }
  std::string out = base_line(r);
  if (r.dry_run) {
    for (const auto* d : readable_decisions(r))
      if (d->action != "unchanged") out += decision_line(*d);
    return out + "dry run: nothing written\n";
  }
  if (r.conflicts > 0) return out;  // the CONFLICT lines go to stderr
  out += summary_line(r) + soup_lines(r, options.maximize);
  if (r.commit) {
    const std::string where = r.head.branch ? *r.head.branch : "detached HEAD";
    out += "[" + where + " " + short_id(r.commit->id) + "] " + first_line(r.commit->message) + "\n";
  }
  return out;
}

std::string format_merge_conflicts(const vcs::MergeResult& r) {
  std::string out;
  for (const auto& d : r.decisions)
    if (d.action == "conflict") out += "CONFLICT " + decision_target(d) + ": " + d.reason + "\n";
  return out;
}

std::string format_log(const std::vector<vcs::Commit>& commits, bool oneline) {
  std::string out;
  for (const auto& c : commits) {
    if (oneline) out += short_id(c.id) + (c.pruned ? " (pruned) " : " ") + first_line(c.message) + "\n";
    else out += (out.empty() ? "" : "\n") + format_commit_header(c);
  }
  return out;
}

namespace {

// "(ref refs/heads/main, commit 1a2b3c4d, path m.safetensors, tensor w, pack pack-...)"
std::string fsck_context(const vcs::FsckProblem& p) {
  std::vector<std::string> parts;
  if (p.object && p.message.find(p.object->hex()) == std::string::npos) parts.push_back("object " + p.object->hex());
  if (!p.ref.empty()) parts.push_back("ref " + p.ref);
  if (p.commit && p.commit != p.object) parts.push_back("commit " + short_id(*p.commit));
  if (!p.path.empty()) parts.push_back("path " + p.path);
  if (!p.tensor.empty()) parts.push_back("tensor " + p.tensor);
  if (!p.pack.empty() && p.message.find(p.pack) == std::string::npos) parts.push_back("pack " + p.pack);
  std::string out;
  for (const auto& s : parts) out += (out.empty() ? " (" : ", ") + s;
  return out.empty() ? out : out + ")";
}

std::string plural(std::uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::string format_fsck(const vcs::FsckResult& r) {
  std::string out;
  if (r.rebuilt) {
    out += "rebuilt the pack lookup table (" + plural(r.rebuilt->packs, "pack") + ")";
    if (r.rebuilt->similarity_error.empty())
      out += " and the similarity index (" + plural(r.rebuilt->similarity_tensors, "tensor") + ")\n";
    else
      out += "; the similarity index could not be rebuilt: " + r.rebuilt->similarity_error + "\n";
  }
  for (const auto& p : r.problems) out += "error: " + p.message + fsck_context(p) + "\n";
  out += "checked " + plural(r.commits, "commit") + ", " + plural(r.trees, "tree") + ", " + plural(r.objects, "object") +
         (r.full ? " (full: decoded and hashed)" : "") + " in " + plural(r.packs, "pack") + ": " +
         (r.ok() ? std::string("no problems") : plural(r.problems.size(), "problem")) + "\n";
  return out;
}

std::string format_stats(const vcs::StatsResult& r) {
  const auto bytes = [](std::uint64_t b) { return fmt::format("{} ({} bytes)", format_bytes(b), b); };
  std::string out;
  const auto row = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("{:<20} {}\n", label, value);
  };
  row("commits:", std::to_string(r.commits));
  row("logical (HEAD):", bytes(r.logical_bytes_head));
  row("logical (history):", bytes(r.logical_bytes_history));
  if (r.pruned_commits > 0)
    row("pruned:", fmt::format("{} ({} logical, not in the ratio)", plural(r.pruned_commits, "commit"),
                               format_bytes(r.logical_bytes_pruned)));
  row("stored:", bytes(r.stored_bytes));
  row("packs:", fmt::format("{} ({})", r.packs, format_bytes(r.pack_bytes)));
  row("ratio:", fmt::format("{:.2f}x (HEAD {:.2f}x)", r.ratio, r.ratio_head));
  row("dedup:", fmt::format("{} references to {} objects, saved {}", r.references, r.distinct,
                            format_bytes(r.saved_bytes)));
  std::string depths;
  for (const auto& [depth, n] : r.delta_depth) depths += fmt::format("{}{}: {}", depths.empty() ? "" : ", ", depth, n);
  row("delta depth:", depths.empty() ? "-" : depths);
  std::string reclaim = fmt::format("{} ({} unreachable objects and superseded copies)",
                                    format_bytes(r.reclaimable_bytes), r.unreachable_objects);
  if (r.unreachable_metadata > 0)
    reclaim += fmt::format(", {} in {} commits, trees and tags", format_bytes(r.reclaimable_metadata_bytes),
                           r.unreachable_metadata);
  if (r.reencode_objects > 0)
    reclaim += fmt::format("; {} objects ({}) to re-encode", r.reencode_objects, format_bytes(r.reencode_bytes));
  row("reclaimable:", reclaim);
  out += fmt::format("\n{:<8}  {:>8}  {:>10}  {:>10}\n", "ENCODING", "OBJECTS", "RAW", "STORED");
  for (const auto& [name, e] : r.by_encoding)
    out += fmt::format("{:<8}  {:>8}  {:>10}  {:>10}\n", name, e.objects, format_bytes(e.raw_bytes),
                       format_bytes(e.stored_bytes));
  out += fmt::format("{:<8}  {:>8}\n", "total", r.objects);
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
