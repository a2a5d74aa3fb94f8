// Text renderings that speak tensors: diff, diff --stat, show REV and show REV:PATH.
#include "text_format.hpp"

#include "coral/core/dtype.hpp"
#include "coral/core/file_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace coral::cli {
namespace {

std::string tensor_type(const vcs::TensorEntry& t) {
  return std::string(core::dtype_name(t.dtype)) + " " + format_shape(t.shape);
}

bool is_tensor_file(const vcs::FileDiff& f) {
  const auto& e = f.new_entry ? f.new_entry : f.old_entry;
  return e && e->format != core::FileFormat::raw;
}

std::string stats_text(const vcs::TensorStats& s) {
  std::string out = " max|Δ|=" + format_sci(s.max_abs_diff) + " relL2=" + format_sci(s.rel_l2) +
                    fmt::format(" cos={:.9g}", s.cosine);
  if (s.nan_mismatches > 0) out += fmt::format(" nan_mismatches={}", s.nan_mismatches);
  return out;
}

std::string tensor_line(const vcs::TensorDiff& t) {
  switch (t.change) {
    case vcs::Change::added: return "  + " + t.name + (t.new_entry ? " " + tensor_type(*t.new_entry) : "") + "\n";
    case vcs::Change::deleted: return "  - " + t.name + (t.old_entry ? " " + tensor_type(*t.old_entry) : "") + "\n";
    default: break;
  }
  std::string out = "  ~ " + t.name;
  if (t.old_entry && t.new_entry) {
    const std::string before = tensor_type(*t.old_entry);
    const std::string after = tensor_type(*t.new_entry);
    out += " " + (before == after ? after : before + " -> " + after);
  }
  if (t.stats) out += stats_text(*t.stats);
  return out + "\n";
}

struct TensorCounts {
  std::uint64_t added = 0, removed = 0, changed = 0;
};

TensorCounts count_tensors(const vcs::FileDiff& f) {
  TensorCounts c;
  for (const auto& t : f.tensors) {
    if (t.change == vcs::Change::added) ++c.added;
    else if (t.change == vcs::Change::deleted) ++c.removed;
    else ++c.changed;
  }
  return c;
}

std::string mode_text(std::uint32_t mode) { return fmt::format("{:04o}", mode); }

}  // namespace

std::string format_sci(double v) {
  if (v == 0) return "0";
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  std::string s = fmt::format("{:.1e}", v);  // "1.2e-03"
  const auto e = s.find('e');
  const std::string mantissa = s.substr(0, e);
  const char sign = s[e + 1];
  std::string exponent = s.substr(e + 2);
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return mantissa + "e" + (sign == '-' ? "-" : "") + exponent;
}

std::string format_diff(const std::vector<vcs::FileDiff>& files) {
  std::string out;
  for (const auto& f : files) {
    out += fmt::format("{} {}\n", static_cast<char>(f.change), f.path);
    if (f.change == vcs::Change::modified && f.skeleton_changed && is_tensor_file(f)) out += "  ~ (header/metadata)\n";
    for (const auto& t : f.tensors) out += tensor_line(t);
  }
  return out;
}

std::string format_diff_stat(const std::vector<vcs::FileDiff>& files) {
  std::size_t width = 0;
  for (const auto& f : files) width = std::max(width, f.path.size());
  std::string out;
  TensorCounts total;
  for (const auto& f : files) {
    const TensorCounts c = count_tensors(f);
    total.added += c.added;
    total.removed += c.removed;
    total.changed += c.changed;
    std::string what;
    if (f.change == vcs::Change::added) what = "new file";
    else if (f.change == vcs::Change::deleted) what = "deleted";
    else what = is_tensor_file(f) ? "" : "content changed";
    if (is_tensor_file(f))
      what += fmt::format("{}tensors: {} added, {} removed, {} changed", what.empty() ? "" : ", ", c.added,
                          c.removed, c.changed);
    out += fmt::format(" {} {:<{}} | {}\n", static_cast<char>(f.change), f.path, width, what);
  }
  out += fmt::format(" {} file{} changed, {} tensor{} added, {} removed, {} changed\n", files.size(),
                     files.size() == 1 ? "" : "s", total.added, total.added == 1 ? "" : "s", total.removed,
                     total.changed);
  return out;
}

std::string format_file_entry(const vcs::FileEntry& f) {
  std::string out = fmt::format("path:     {}\nformat:   {}\nsize:     {} bytes ({})\nmode:     {}\nid:       {}\n",
                                f.path, core::format_name(f.format), f.size, format_bytes(f.size), mode_text(f.mode),
                                f.id.hex());
  if (f.format == core::FileFormat::raw) return out;
  out += fmt::format("tensors:  {}\n", f.tensors.size());
  if (f.tensors.empty()) return out;
  std::size_t name_w = 4, type_w = 5, shape_w = 5;
  for (const auto& t : f.tensors) {
    name_w = std::max(name_w, t.name.size());
    type_w = std::max(type_w, core::dtype_name(t.dtype).size());
    shape_w = std::max(shape_w, format_shape(t.shape).size());
  }
  out += fmt::format("\n{:<{}}  {:<{}}  {:<{}}  {}\n", "NAME", name_w, "DTYPE", type_w, "SHAPE", shape_w, "BYTES");
  for (const auto& t : f.tensors)
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {}\n", t.name, name_w, core::dtype_name(t.dtype), type_w,
                       format_shape(t.shape), shape_w, t.length);
  return out;
}

std::string format_show(const vcs::ShowResult& r) {
  if (r.file) return format_file_entry(*r.file);
  if (!r.commit) return {};
  std::string out = format_commit_header(*r.commit);
  if (!r.changes.empty()) out += "\n";
  for (const auto& [path, change] : r.changes) out += fmt::format("{}\t{}\n", static_cast<char>(change), path);
  return out;
}

}  // namespace coral::cli
