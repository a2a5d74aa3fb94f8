#include "merge_plan.hpp"

#include "merge_math.hpp"

#include <fnmatch.h>
#include <set>

namespace coral::vcs {
namespace {

bool same_file(const FileEntry* a, const FileEntry* b) { return (!a && !b) || (a && b && a->same_content(*b)); }

bool same_tensor(const TensorEntry* a, const TensorEntry* b) {
  return (!a && !b) || (a && b && a->dtype == b->dtype && a->shape == b->shape && a->id == b->id &&
                        a->big_endian == b->big_endian);
}

bool same_kind(const TensorEntry& a, const TensorEntry& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.big_endian == b.big_endian;
}

// A tensor file's layout: everything but the tensors' content.
FileEntry structure(const FileEntry& f) {
  FileEntry s = f;
  for (auto& t : s.tensors) t.id = {};
  return s;
}

const TensorEntry* find_tensor(const FileEntry* f, const std::string& name) {
  if (!f) return nullptr;
  for (const auto& t : f->tensors)
    if (t.name == name) return &t;
  return nullptr;
}

bool glob(const std::string& pattern, const std::string& text) { return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0; }

class Planner {
public:
  Planner(const Tree* base, std::span<const Tree* const> sides, std::span<const std::string> labels,
          const MergeStrategy& strategy, std::span<const MergeRule> rules)
    : m_base(base), m_sides(sides), m_labels(labels), m_strategy(strategy), m_rules(rules) {}

  MergePlan run() {
    std::set<std::string> paths;
    if (m_base)
      for (const auto& f : m_base->files) paths.insert(f.path);
    for (const Tree* t : m_sides)
      for (const auto& f : t->files) paths.insert(f.path);
    for (const auto& p : paths) plan_file(p);
    return std::move(m_plan);
  }

private:
  std::string join(const std::vector<std::size_t>& idx) const {
    std::string s;
    for (std::size_t k = 0; k < idx.size(); ++k)
      s += (k == 0 ? "" : k + 1 == idx.size() ? " and " : ", ") + m_labels[idx[k]];
    return s;
  }
  std::vector<std::string> labels_of(const std::vector<std::size_t>& idx) const {
    std::vector<std::string> out;
    for (auto i : idx) out.push_back(m_labels[i]);
    return out;
  }
  void decide(MergeDecision d) {
    if (d.action == "conflict") ++m_plan.conflicts;
    m_plan.decisions.push_back(std::move(d));
  }
  void conflict(const std::string& path, const std::string& tensor, const std::string& reason) {
    decide({path, tensor, "conflict", {}, {}, -1, reason});
  }
  void put(const FileEntry* f) {
    if (f) m_plan.tree.files.push_back(*f);
  }
  // A conflict that only ours/theirs resolves, by taking that side's whole file.
  bool pick_whole_file(const std::string& path, const std::vector<const FileEntry*>& files) {
    if (m_strategy.name != "ours" && m_strategy.name != "theirs") return false;
    const std::size_t i = m_strategy.name == "ours" ? 0 : 1;
    put(files[i]);
    decide({path, "", files[i] ? "take" : "delete", {m_labels[i]}, m_strategy.name, -1, {}});
    return true;
  }

  void plan_file(const std::string& path) {
    const FileEntry* base = m_base ? m_base->find(path) : nullptr;
    std::vector<const FileEntry*> files;
    std::vector<std::size_t> changed;
    for (std::size_t i = 0; i < m_sides.size(); ++i) {
      files.push_back(m_sides[i]->find(path));
      if (!same_file(files[i], base)) changed.push_back(i);
    }
    if (changed.empty()) {
      put(base);
      decide({path, "", "unchanged", {}, {}, -1, {}});
      return;
    }
    bool agree = true;
    for (auto i : changed) agree = agree && same_file(files[i], files[changed[0]]);
    if (agree) {
      put(files[changed[0]]);
      decide({path, "", files[changed[0]] ? "take" : "delete", labels_of(changed), {}, -1, {}});
      return;
    }
    // Changed differently on several sides.
    std::vector<std::size_t> deleted, present;
    for (auto i : changed) (files[i] ? present : deleted).push_back(i);
    bool tensor_files = deleted.empty() && (!base || base->format != core::FileFormat::raw);
    for (const auto* f : files)
      tensor_files = tensor_files && f && f->format != core::FileFormat::raw && f->format == files[0]->format &&
                     (!base || base->format == f->format);
    if (!tensor_files) {
      if (pick_whole_file(path, files)) return;
      conflict(path, "",
               !deleted.empty() ? "deleted on " + join(deleted) + ", changed on " + join(present)
                                : "changed on " + join(changed) + " (not a tensor file, or its format changed)");
      return;
    }
    // The layout (skeleton, tensor names, dtypes, shapes, offsets) merges as a whole.
    const std::optional<FileEntry> base_layout = base ? std::optional(structure(*base)) : std::nullopt;
    std::vector<std::size_t> relaid;
    for (std::size_t i = 0; i < files.size(); ++i)
      if (!base_layout || !(structure(*files[i]) == *base_layout)) relaid.push_back(i);
    for (auto i : relaid)
      if (!(structure(*files[i]) == structure(*files[relaid[0]]))) {
        if (pick_whole_file(path, files)) return;
        conflict(path, "", "layout changed on " + join(relaid) + " (tensors added, removed or reshaped differently)");
        return;
      }
    FileEntry result = relaid.empty() ? *base : *files[relaid[0]];
    // A tensor the layout drops must not have been changed on another side.
    std::set<std::string> names;
    for (const auto& t : result.tensors) names.insert(t.name);
    std::vector<std::string> dropped_changed;
    auto check_dropped = [&](const FileEntry* f) {
      if (!f) return;
      for (const auto& t : f->tensors)
        if (!names.count(t.name) && !same_tensor(&t, find_tensor(base, t.name))) dropped_changed.push_back(t.name);
    };
    for (const auto* f : files) check_dropped(f);
    if (!dropped_changed.empty()) {
      if (pick_whole_file(path, files)) return;
      for (const auto& name : std::set<std::string>(dropped_changed.begin(), dropped_changed.end()))
        conflict(path, name, "deleted on " + join(relaid) + " and changed on another side");
      return;
    }
    const std::size_t file_index = m_plan.tree.files.size();
    for (std::size_t k = 0; k < result.tensors.size(); ++k)
      plan_tensor(path, base, files, result.tensors[k], file_index, k);
    m_plan.tree.files.push_back(std::move(result));
  }

  void plan_tensor(const std::string& path, const FileEntry* base_file, const std::vector<const FileEntry*>& files,
                   TensorEntry& out, std::size_t file_index, std::size_t tensor_index) {
    const TensorEntry* base = find_tensor(base_file, out.name);
    std::vector<const TensorEntry*> versions;
    std::vector<std::size_t> changed;
    for (std::size_t i = 0; i < files.size(); ++i) {
      versions.push_back(find_tensor(files[i], out.name));
      if (!same_tensor(versions[i], base)) changed.push_back(i);
    }
    if (changed.empty()) {
      decide({path, out.name, "unchanged", {}, {}, -1, {}});
      return;
    }
    bool agree = true;
    for (auto i : changed) agree = agree && same_tensor(versions[i], versions[changed[0]]);
    auto take = [&](std::size_t i, std::vector<std::string> from, const std::string& strategy, int rule) {
      if (!versions[i] || !same_kind(*versions[i], out)) {
        conflict(path, out.name, m_labels[i] + "'s version does not fit the merged layout");
        return;
      }
      out.id = versions[i]->id;
      decide({path, out.name, "take", std::move(from), strategy, rule, {}});
    };
    if (agree) {
      take(changed[0], labels_of(changed), {}, -1);
      return;
    }
    int rule = -1;
    for (std::size_t r = 0; r < m_rules.size() && rule < 0; ++r)
      if (glob(m_rules[r].file, path) && glob(m_rules[r].tensor, out.name)) rule = static_cast<int>(r);
    const MergeStrategy& strategy = rule >= 0 ? m_rules[static_cast<std::size_t>(rule)].strategy : m_strategy;
    if (strategy.name == "ours" || strategy.name == "theirs") {
      const std::size_t i = strategy.name == "ours" ? 0 : 1;
      take(i, {m_labels[i]}, strategy.name, rule);
      return;
    }
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < versions.size(); ++i)
      if (!versions[i]) missing.push_back(i);
    std::string kinds;
    bool same_kinds = true;
    for (std::size_t i = 0; i < versions.size(); ++i) {
      if (!versions[i]) continue;
      same_kinds = same_kinds && same_kind(*versions[i], out);
      kinds += (kinds.empty() ? "" : ", ") + m_labels[i] + " " + std::string(core::dtype_name(versions[i]->dtype)) +
               " " + shape_text(versions[i]->shape);
    }
    std::string reason;
    if (!missing.empty()) reason = "deleted on " + join(missing) + ", changed on " + join(changed);
    else if (!same_kinds) reason = "dtype or shape differs: " + kinds;
    else if (strategy.name == "fail") reason = "changed on " + join(changed);
    else if (!mergeable_dtype(out.dtype))
      reason = std::string(core::dtype_name(out.dtype)) + " tensors are not merged arithmetically (changed on " +
               join(changed) + ")";
    else if (strategy.name != "soup" && strategy.name != "average" && strategy.name != "weighted" &&
             strategy.name != "slerp" && (!base || !same_kind(*base, out)))
      reason = "strategy " + strategy.name + " needs the merge base's version, and " +
               (base ? "its dtype or shape differs" : "there is none");
    if (!reason.empty()) {
      conflict(path, out.name, reason);
      return;
    }
    TensorJob job;
    job.file = file_index;
    job.tensor = tensor_index;
    for (const auto* v : versions) job.sides.push_back(*v);
    if (base) job.base = *base;
    job.strategy = strategy;
    job.rule = rule;
    job.decision = m_plan.decisions.size();
    out.id = {};
    m_plan.jobs.push_back(std::move(job));
    decide({path, out.name, "merge", labels_of(changed), strategy.name, rule, {}});
  }

  const Tree* m_base;
  std::span<const Tree* const> m_sides;
  std::span<const std::string> m_labels;
  const MergeStrategy& m_strategy;
  std::span<const MergeRule> m_rules;
  MergePlan m_plan;
};

}  // namespace

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

MergePlan plan_merge(const Tree* base, std::span<const Tree* const> sides, std::span<const std::string> labels,
                     const MergeStrategy& strategy, std::span<const MergeRule> rules) {
  return Planner(base, sides, labels, strategy, rules).run();
}

}  // namespace coral::vcs
