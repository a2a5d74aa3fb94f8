// gc and prune results: text (format_*) and JSON (Output::print_*). The JSON shapes are part of
// the contract in docs/cli.md ("JSON output").
#include "output.hpp"
#include "text_format.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace coral::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

Json gc_json(const vcs::GcResult& r) {
  const auto measured = [&](std::uint64_t v) { return r.dry_run ? Json(nullptr) : Json(v); };
  return {{"dry_run", r.dry_run},
          {"objects_removed", r.objects_removed},
          {"metadata_removed", r.metadata_removed},
          {"records_dropped", r.records_dropped},
          {"objects_reencoded", r.objects_reencoded},
          {"packs_before", r.packs_before},
          {"packs_removed", r.packs_removed},
          {"packs_rewritten", r.packs_rewritten},
          {"packs_consolidated", r.packs_consolidated},
          {"bytes_before", r.bytes_before},
          {"bytes_after", r.bytes_after},
          {"temp_files_removed", r.temp_files_removed},
          {"temp_bytes", r.temp_bytes},
          {"packs_after", measured(r.packs_after)},
          {"disk_bytes_before", measured(r.disk_bytes_before)},
          {"disk_bytes_after", measured(r.disk_bytes_after)}};
}

std::string count(std::uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::string format_gc(const vcs::GcResult& r) {
  std::string out;
  const auto row = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("{:<20} {}\n", label, value);
  };
  if (r.dry_run) out += "dry run: nothing was written or deleted; a gc now would do this:\n";
  row("objects removed:", std::to_string(r.objects_removed));
  row("metadata removed:", count(r.metadata_removed, "commit, tree or tag", "commits, trees and tags"));
  row("records dropped:", std::to_string(r.records_dropped));
  row("objects re-encoded:", std::to_string(r.objects_reencoded));
  std::string packs = fmt::format("{} before: {} removed, {} rewritten ({} to consolidate)", r.packs_before,
                                  r.packs_removed, r.packs_rewritten, r.packs_consolidated);
  if (!r.dry_run) packs += fmt::format("; {} now", r.packs_after);
  row("packs:", packs);
  row("object bytes:", fmt::format("{} -> {} ({} freed)", format_bytes(r.bytes_before), format_bytes(r.bytes_after),
                                   format_bytes(r.bytes_before - std::min(r.bytes_before, r.bytes_after))));
  row("temp files:", fmt::format("{} removed ({})", r.temp_files_removed, format_bytes(r.temp_bytes)));
  if (!r.dry_run)
    row(".coral on disk:", fmt::format("{} -> {}", format_bytes(r.disk_bytes_before), format_bytes(r.disk_bytes_after)));
  return out;
}

std::string format_prune(const vcs::PruneResult& r) {
  std::string out;
  if (r.dry_run) out += "dry run: nothing was marked or deleted\n";
  out += fmt::format("branch {}: keeping {}, pruning {}{}\n", r.branch, count(r.kept, "commit", "commits"), r.pruned,
                     r.already_pruned ? fmt::format(" ({} pruned before)", r.already_pruned) : std::string());
  for (const auto& c : r.commits) {
    std::string metrics;
    for (const auto& [k, v] : c.metrics) metrics += fmt::format("{}{}={}", metrics.empty() ? "" : " ", k, format_number(v));
    std::string why;
    for (const auto& reason : c.reasons) why += (why.empty() ? "" : ", ") + reason;
    const char* action = c.already_pruned ? "pruned" : c.kept ? "keep" : "prune";
    out += fmt::format("{:<6} {}  {}", action, short_id(c.id), c.subject);
    if (!metrics.empty()) out += "  [" + metrics + "]";
    if (!why.empty()) out += "  (" + why + ")";
    out += "\n";
  }
  if (r.gc) out += "\n" + format_gc(*r.gc);
  return out;
}

void Output::print_gc(const vcs::GcResult& r) {
  if (!m_json) return result(format_gc(r));
  result(dump(gc_json(r)));
}

void Output::print_prune(const vcs::PruneResult& r) {
  if (!m_json) return result(format_prune(r));
  Json commits = Json::array();
  for (const auto& c : r.commits) {
    Json metrics = Json::object();
    for (const auto& [k, v] : c.metrics) metrics[k] = v;
    commits.push_back({{"id", c.id.hex()},
                       {"subject", c.subject},
                       {"metrics", metrics},
                       {"kept", c.kept},
                       {"already_pruned", c.already_pruned},
                       {"reasons", c.reasons}});
  }
  result(dump({{"branch", r.branch},
               {"dry_run", r.dry_run},
               {"kept", r.kept},
               {"pruned", r.pruned},
               {"already_pruned", r.already_pruned},
               {"commits", commits},
               {"gc", r.gc ? gc_json(*r.gc) : Json(nullptr)}}));
}

}  // namespace coral::cli
