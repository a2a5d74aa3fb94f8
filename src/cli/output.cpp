// Output: routes each result to its text rendering (text_format.hpp) or to JSON. The JSON
// shapes are a stable contract documented in docs/cli.md ("JSON output"): add fields, never
// rename or remove them.
#include "output.hpp"

#include "progress_bar.hpp"
#include "text_format.hpp"

#include "coral/core/dtype.hpp"
#include "coral/core/file_layout.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace coral::cli {
namespace {

using Json = nlohmann::ordered_json;

Json change_json(vcs::Change c) {
  switch (c) {
    case vcs::Change::added: return "added";
    case vcs::Change::modified: return "modified";
    case vcs::Change::deleted: return "deleted";
    case vcs::Change::untracked: return "untracked";
    case vcs::Change::none: break;
  }
  return nullptr;
}

Json id_json(const std::optional<core::ObjectId>& id) { return id ? Json(id->hex()) : Json(nullptr); }
Json name_json(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

Json rule_json(const vcs::MergeRuleInfo& r) {
  return {{"tensor", r.tensor}, {"file", r.file}, {"strategy", r.strategy}, {"parameters", r.parameters}};
}

Json commit_json(const vcs::Commit& c) {
  Json parents = Json::array();
  for (const auto& p : c.parents) parents.push_back(p.hex());
  Json metrics = Json::object();
  for (const auto& [k, v] : c.metrics) metrics[k] = v;
  Json j = {{"id", c.id.hex()},     {"tree", c.tree.hex()},   {"parents", parents},
            {"author", c.author},   {"email", c.email},       {"time", vcs::format_time(c.time, c.tz_offset)},
            {"message", c.message}, {"metrics", metrics},     {"pruned", c.pruned}};
  if (c.merge) {
    j["merge"] = {{"strategy", c.merge->strategy}, {"parameters", c.merge->parameters}};
    if (c.merge->base) j["merge"]["base"] = c.merge->base->hex();
    if (!c.merge->rules.empty()) {
      Json rules = Json::array();
      for (const auto& r : c.merge->rules) rules.push_back(rule_json(r));
      j["merge"]["rules"] = rules;
    }
  }
  return j;
}

Json tensor_json(const vcs::TensorEntry& t) {
  return {{"name", t.name},     {"dtype", core::dtype_name(t.dtype)}, {"shape", t.shape},
          {"offset", t.offset}, {"length", t.length},                 {"id", t.id.hex()},
          {"big_endian", t.big_endian}};
}

std::string mode_text(std::uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

Json file_json(const vcs::FileEntry& f, bool with_tensors) {
  Json j = {{"path", f.path}, {"format", core::format_name(f.format)}, {"size", f.size},
            {"mode", mode_text(f.mode)}, {"id", f.id.hex()}};
  if (!with_tensors) return j;
  Json tensors = Json::array();
  for (const auto& t : f.tensors) tensors.push_back(tensor_json(t));
  j["tensors"] = tensors;
  return j;
}

Json diff_json(const vcs::FileDiff& f) {
  Json tensors = Json::array();
  for (const auto& t : f.tensors) {
    auto side = [](const std::optional<vcs::TensorEntry>& e) {
      return e ? Json{{"dtype", core::dtype_name(e->dtype)}, {"shape", e->shape}, {"id", e->id.hex()}} : Json(nullptr);
    };
    Json stats = nullptr;
    if (t.stats)
      stats = {{"max_abs_diff", t.stats->max_abs_diff}, {"rel_l2", t.stats->rel_l2},
               {"cosine", t.stats->cosine}, {"nan_mismatches", t.stats->nan_mismatches}};
    tensors.push_back({{"name", t.name}, {"change", change_json(t.change)}, {"old", side(t.old_entry)},
                       {"new", side(t.new_entry)}, {"stats", stats}});
  }
  auto side = [](const std::optional<vcs::FileEntry>& e) { return e ? file_json(*e, false) : Json(nullptr); };
  return {{"path", f.path},         {"change", change_json(f.change)},
          {"old", side(f.old_entry)}, {"new", side(f.new_entry)},
          {"skeleton_changed", f.skeleton_changed}, {"tensors", tensors}};
}

Json diff_stat_json(const std::vector<vcs::FileDiff>& files) {
  Json list = Json::array();
  std::uint64_t added = 0, removed = 0, changed = 0;
  for (const auto& f : files) {
    std::uint64_t a = 0, r = 0, c = 0;
    for (const auto& t : f.tensors) (t.change == vcs::Change::added ? a : t.change == vcs::Change::deleted ? r : c)++;
    added += a;
    removed += r;
    changed += c;
    list.push_back({{"path", f.path}, {"change", change_json(f.change)}, {"tensors_added", a},
                    {"tensors_removed", r}, {"tensors_changed", c}});
  }
  return {{"files", list}, {"files_changed", files.size()}, {"tensors_added", added},
          {"tensors_removed", removed}, {"tensors_changed", changed}};
}

Json config_value_json(const core::ConfigValue& v) {
  return {{"value", v.text}, {"origin", core::origin_name(v.origin)}, {"source", v.source}};
}

Json text_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

std::string merge_result_name(const vcs::MergeResult& r) {
  if (r.conflicts > 0) return "conflict";
  switch (r.kind) {
    case vcs::MergeResult::Kind::up_to_date: return "up-to-date";
    case vcs::MergeResult::Kind::fast_forward: return "fast-forward";
    case vcs::MergeResult::Kind::merge: break;
  }
  return "merge";
}

Json merge_json(const vcs::MergeResult& r, const vcs::MergeOptions& o) {
  Json sides = Json::array();
  for (std::size_t i = 0; i < r.labels.size() && i < r.heads.size(); ++i)
    sides.push_back({{"label", r.labels[i]}, {"commit", r.heads[i].hex()}});
  Json candidates = Json::array();
  for (const auto& id : r.base_candidates) candidates.push_back(id.hex());
  Json rules = Json::array();
  for (const auto& rule : r.info.rules) rules.push_back(rule_json(rule));
  Json decisions = Json::array();
  for (const auto& d : r.decisions)
    decisions.push_back({{"path", d.path},
                         {"tensor", text_or_null(d.tensor)},
                         {"action", d.action},
                         {"from", d.from},
                         {"strategy", text_or_null(d.strategy)},
                         {"rule", d.rule >= 0 ? Json(d.rule) : Json(nullptr)},
                         {"reason", text_or_null(d.reason)}});
  Json j = {{"result", merge_result_name(r)},
            {"dry_run", r.dry_run},
            {"branch", name_json(r.head.branch)},
            {"sides", sides},
            {"merge_base", id_json(r.base)},
            {"merge_base_candidates", candidates},
            {"criss_cross", r.base_candidates.size() > 1},
            {"strategy", o.strategy.name},
            {"parameters", r.info.parameters},
            {"rules", rules},
            {"decisions", decisions},
            {"conflicts", r.conflicts},
            {"tensors_merged", r.tensors_merged},
            {"files_written", r.files_written},
            {"files_removed", r.files_removed},
            {"commit", r.commit ? commit_json(*r.commit) : Json(nullptr)},
            {"target", r.target.is_zero() ? Json(nullptr) : Json(r.target.hex())}};
  if (o.strategy.name == "soup") {
    Json scores = Json::object();
    for (const auto& [label, score] : r.soup_scores) scores[label] = score;
    Json steps = Json::array();
    for (const auto& s : r.soup)
      steps.push_back({{"ingredients", s.ingredients}, {"score", s.score}, {"kept", s.kept}});
    j["soup"] = {{"scores", scores}, {"steps", steps}, {"selected", r.soup_selected}};
  }
  return j;
}

std::string dump(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

}  // namespace

Output::Output(bool json, bool quiet)
  : m_json(json), m_quiet(quiet), m_bar(std::make_shared<ProgressBar>(!quiet && ProgressBar::stderr_is_terminal())) {}

Output::~Output() {
  finish_progress();
  std::fflush(stdout);
}

core::ProgressFn Output::progress() {
  return [bar = m_bar](const core::Progress& p) { bar->update(p); };
}

void Output::finish_progress() { m_bar->finish(); }

void Output::result(const std::string& text) {
  finish_progress();
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void Output::note(std::string_view line) {
  finish_progress();
  if (m_quiet) return;
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

void Output::print_init(const std::filesystem::path& coral_dir) {
  if (m_json) return result(dump({{"path", coral_dir.string()}, {"worktree", coral_dir.parent_path().string()}}));
  result("Initialized empty coral repository in " + coral_dir.string() + "\n");
}

void Output::print_add(const vcs::AddResult& r) {
  if (!m_json) return result(format_add(r));
  result(dump({{"added", r.added},
               {"modified", r.modified},
               {"removed", r.removed},
               {"files_unchanged", r.files_unchanged},
               {"bytes_scanned", r.bytes_scanned},
               {"tensors", r.tensors},
               {"stored",
                {{"objects_written", r.stored.objects_written},
                 {"bytes_raw", r.stored.bytes_raw},
                 {"bytes_stored", r.stored.bytes_stored}}}}));
}

void Output::print_rm(const vcs::RmResult& r) {
  if (!m_json) return result(format_rm(r));
  result(dump({{"removed", r.removed}}));
}

void Output::print_status(const vcs::StatusResult& r, bool porcelain) {
  if (!m_json) return result(porcelain ? format_status_porcelain(r) : format_status(r));
  Json entries = Json::array();
  for (const auto& e : r.entries)
    entries.push_back({{"path", e.path}, {"staged", change_json(e.staged)}, {"unstaged", change_json(e.unstaged)}});
  result(dump({{"branch", name_json(r.head.branch)},
               {"commit", id_json(r.head.commit)},
               {"detached", r.head.detached()},
               {"clean", r.clean()},
               {"entries", entries}}));
}

void Output::print_commit(const vcs::CommitResult& r) {
  if (!m_json) return result(format_commit_summary(r));
  result(dump({{"commit", commit_json(r.commit)},
               {"branch", name_json(r.branch)},
               {"root", r.root},
               {"files_changed", r.files_changed}}));
}

void Output::print_log(const std::vector<vcs::Commit>& commits, bool oneline) {
  if (!m_json) return result(format_log(commits, oneline));
  Json list = Json::array();
  for (const auto& c : commits) list.push_back(commit_json(c));
  result(dump(list));
}

void Output::print_show(const vcs::ShowResult& r) {
  if (!m_json) return result(format_show(r));
  if (r.file) return result(dump({{"file", file_json(*r.file, true)}}));
  Json changes = Json::array();
  for (const auto& [path, change] : r.changes) changes.push_back({{"path", path}, {"change", change_json(change)}});
  result(dump({{"commit", r.commit ? commit_json(*r.commit) : Json(nullptr)}, {"changes", changes}}));
}

void Output::print_diff(const std::vector<vcs::FileDiff>& files, bool stat) {
  if (!m_json) return result(stat ? format_diff_stat(files) : format_diff(files));
  if (stat) return result(dump(diff_stat_json(files)));
  Json list = Json::array();
  for (const auto& f : files) list.push_back(diff_json(f));
  result(dump(list));
}

void Output::print_checkout(const vcs::CheckoutResult& r, const CheckoutNote& n) {
  if (n.paths) {
    note("Updated " + std::to_string(r.files_written) + (r.files_written == 1 ? " path" : " paths") + " from " +
         (n.source.empty() ? "the index" : n.source));
  } else if (!n.new_branch.empty()) {
    note("Switched to a new branch '" + n.new_branch + "'");
  } else if (r.head.branch) {
    note("Switched to branch '" + *r.head.branch + "'");
  } else if (n.commit) {
    note("HEAD is now at " + short_id(n.commit->id) + " " + first_line(n.commit->message));
  }
  if (!m_json) return;
  result(dump({{"branch", name_json(r.head.branch)},
               {"commit", id_json(r.head.commit)},
               {"detached", r.head.detached()},
               {"files_written", r.files_written},
               {"files_removed", r.files_removed},
               {"bytes_written", r.bytes_written}}));
}

void Output::print_merge(const vcs::MergeResult& r, const vcs::MergeOptions& options) {
  result(m_json ? dump(merge_json(r, options)) : format_merge(r, options));
  const std::string conflicts = format_merge_conflicts(r);
  if (!r.dry_run || m_json) std::fwrite(conflicts.data(), 1, conflicts.size(), stderr);
}

void Output::print_fsck(const vcs::FsckResult& r) {
  if (!m_json) return result(format_fsck(r));
  const auto str = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  Json problems = Json::array();
  for (const auto& p : r.problems)
    problems.push_back({{"kind", p.kind},
                        {"object", id_json(p.object)},
                        {"commit", id_json(p.commit)},
                        {"ref", str(p.ref)},
                        {"path", str(p.path)},
                        {"tensor", str(p.tensor)},
                        {"pack", str(p.pack)},
                        {"message", p.message}});
  Json rebuilt = nullptr;
  if (r.rebuilt)
    rebuilt = {{"packs", r.rebuilt->packs},
               {"similarity_tensors", r.rebuilt->similarity_tensors},
               {"similarity_error", str(r.rebuilt->similarity_error)}};
  result(dump({{"ok", r.ok()},
               {"commits", r.commits},
               {"trees", r.trees},
               {"objects", r.objects},
               {"packs", r.packs},
               {"full", r.full},
               {"rebuilt", rebuilt},
               {"problems", problems}}));
}

void Output::print_stats(const vcs::StatsResult& r) {
  if (!m_json) return result(format_stats(r));
  Json encodings = Json::object();
  for (const auto& [name, e] : r.by_encoding)
    encodings[name] = {{"objects", e.objects}, {"raw_bytes", e.raw_bytes}, {"stored_bytes", e.stored_bytes}};
  Json depths = Json::object();
  for (const auto& [depth, n] : r.delta_depth) depths[std::to_string(depth)] = n;
  result(dump({{"commits", r.commits},
               {"logical_bytes_head", r.logical_bytes_head},
               {"logical_bytes_history", r.logical_bytes_history},
               {"pruned_commits", r.pruned_commits},
               {"logical_bytes_pruned", r.logical_bytes_pruned},
               {"stored_bytes", r.stored_bytes},
               {"pack_bytes", r.pack_bytes},
               {"packs", r.packs},
               {"ratio", r.ratio},
               {"ratio_head", r.ratio_head},
               {"objects", r.objects},
               {"by_encoding", encodings},
               {"dedup", {{"references", r.references}, {"distinct", r.distinct}, {"saved_bytes", r.saved_bytes}}},
               {"delta_depth", depths},
               {"unreachable_objects", r.unreachable_objects},
               {"reclaimable_bytes", r.reclaimable_bytes},
               {"reencode_objects", r.reencode_objects},
               {"reencode_bytes", r.reencode_bytes},
               {"unreachable_metadata", r.unreachable_metadata},
               {"reclaimable_metadata_bytes", r.reclaimable_metadata_bytes}}));
}

void Output::print_branches(const std::vector<vcs::BranchInfo>& branches) {
  if (!m_json) return result(format_branches(branches));
  Json list = Json::array();
  for (const auto& b : branches)
    list.push_back({{"name", b.name}, {"commit", b.commit.hex()}, {"current", b.current}});
  result(dump(list));
}

void Output::print_tags(const std::vector<vcs::TagInfo>& tags) {
  if (!m_json) return result(format_tags(tags));
  Json list = Json::array();
  for (const auto& t : tags) {
    Json annotation = nullptr;
    if (t.annotation)
      annotation = {{"id", t.annotation->id.hex()},       {"tagger", t.annotation->tagger},
                    {"email", t.annotation->email},       {"time", vcs::format_time(t.annotation->time, 0)},
                    {"message", t.annotation->message}};
    list.push_back({{"name", t.name}, {"commit", t.commit.hex()}, {"annotation", annotation}});
  }
  result(dump(list));
}

void Output::print_ref_change(const RefChange& c) {
  if (m_json) {
    Json j = {{"kind", c.kind}, {"action", c.action}, {"name", c.name}};
    if (!c.old_name.empty()) j["old_name"] = c.old_name;
    return result(dump(j));
  }
  if (c.action == "deleted") result("Deleted " + c.kind + " '" + c.name + "'\n");
}

void Output::print_config_list(const std::map<std::string, core::ConfigValue>& values, bool show_origin) {
  if (!m_json) return result(format_config_list(values, show_origin));
  Json j = Json::object();
  for (const auto& [key, v] : values) j[key] = config_value_json(v);
  result(dump(j));
}

void Output::print_config_value(std::string_view key, const core::ConfigValue& value) {
  if (!m_json) return result(value.text + "\n");
  Json j = {{"key", key}};
  j.update(config_value_json(value));
  result(dump(j));
}

void Output::print_config_write(const ConfigWrite& w) {
  if (!m_json) return;
  result(dump({{"key", w.key}, {"value", name_json(w.value)}, {"file", w.file.string()}}));
}

}  // namespace coral::cli
