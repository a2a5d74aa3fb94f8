#include "merge_plan.hpp"

#include "merge_math.hpp"

#include <fnmatch.h>
#include <nlohmann/json.hpp>
#include <set>

namespace coral::vcs {
namespace {

bool same_file(const FileEntry* a, const FileEntry* b) { return (!a && !b) || (a && b && a->same_content(*b)); }

// The same bytes, whatever the mode.
bool same_data(const FileEntry* a, const FileEntry* b) {
  if (!a || !b) return !a && !b;
  FileEntry x = *a;
  x.mode = b->mode;
  return x.same_content(*b);
}

bool same_tensor(const TensorEntry* a, const TensorEntry* b) {
  return (!a && !b) || (a && b && a->dtype == b->dtype && a->shape == b->shape && a->id == b->id &&
                        a->big_endian == b->big_endian);
}

bool same_kind(const TensorEntry& a, const TensorEntry& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.big_endian == b.big_endian;
}

std::string kind_text(const TensorEntry& t) { return std::string(core::dtype_name(t.dtype)) + " " + shape_text(t.shape); }


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
          const MergeStrategy& strategy, std::span<const MergeRule> rules, const LayoutKeyFn& layout_key,
          const MetadataFn& metadata)
    : m_base(base), m_sides(sides), m_labels(labels), m_strategy(strategy), m_rules(rules),
      m_uniform(strategy.name == "soup"), m_layout_key(layout_key), m_metadata(metadata) {}

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
  // A tensor file's layout: everything but the tensors' content and the mode.
  FileEntry structure(const FileEntry& f) const {
    FileEntry s = f;
    s.mode = 0;
    if (m_layout_key) s.id = m_layout_key(f);
    for (auto& t : s.tensors) t.id = {};
    return s;
  }

  // What a tensor of a file under `path` is merged with: the first rule matching both globs.
  struct Choice {
    const MergeStrategy* strategy;
    int rule;
  };
  Choice choose(const std::string& path, const std::string& tensor) const {
    for (std::size_t r = 0; r < m_rules.size(); ++r)
      if (glob(m_rules[r].file, path) && glob(m_rules[r].tensor, tensor))
        return {&m_rules[r].strategy, static_cast<int>(r)};
    return {&m_strategy, -1};
  }
  // For a whole file: the first rule whose file glob matches and whose tensor glob is "*".
  Choice choose_file(const std::string& path) const {
    for (std::size_t r = 0; r < m_rules.size(); ++r)
      if (m_rules[r].tensor == "*" && glob(m_rules[r].file, path)) return {&m_rules[r].strategy, static_cast<int>(r)};
    return {&m_strategy, -1};
  }

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
  // A decision about a whole file, then one per tensor of `f` (the version the decision is
  // about): "unchanged" for a tensor equal to the base's, else the action, from the sides that
  // hold that version (`files`: every side's file; empty: the file's `from`).
  void decide_file(const std::string& path, const std::string& action, const std::vector<std::string>& from,
                   const std::string& strategy, int rule, const FileEntry* f, const FileEntry* base,
                   const std::vector<const FileEntry*>& files = {}) {
    decide({path, "", action, from, strategy, rule, {}});
    if (!f || action == "unchanged") {
      if (f)
        for (const auto& t : f->tensors) decide({path, t.name, "unchanged", {}, {}, -1, {}});
      return;
    }
    for (const auto& t : f->tensors) {
      const TensorEntry* b = action == "delete" ? nullptr : find_tensor(base, t.name);
      if (action != "delete" && same_tensor(&t, b)) {
        decide({path, t.name, "unchanged", {}, {}, -1, {}});
        continue;
      }
      std::vector<std::string> holders;
      for (std::size_t i = 0; i < files.size(); ++i) {
        const TensorEntry* v = find_tensor(files[i], t.name);
        if (action == "delete" ? !v : (same_tensor(v, &t) && !same_tensor(v, b))) holders.push_back(m_labels[i]);
      }
      decide({path, t.name, action, holders.empty() ? from : holders, strategy, rule, {}});
    }
  }
  // A file taken whole from one side: `result` (null: deleted).
  void take_file(const std::string& path, const FileEntry* result, const std::vector<std::size_t>& from,
                 const std::string& strategy, int rule, const FileEntry* base,
                 const std::vector<const FileEntry*>& files = {}) {
    if (result) m_plan.tree.files.push_back(*result);
    decide_file(path, result ? "take" : "delete", labels_of(from), strategy, rule, result ? result : base, base,
                files);
  }
  // A conflict that only ours/theirs (on the command line, or a rule for the whole file)
  // resolves, by taking that side's whole file.
  bool pick_whole_file(const std::string& path, const std::vector<const FileEntry*>& files, const FileEntry* base) {
    const Choice c = choose_file(path);
    if (c.strategy->name != "ours" && c.strategy->name != "theirs") return false;
    const std::size_t i = c.strategy->name == "ours" ? 0 : 1;
    if (i >= files.size()) return false;
    take_file(path, files[i], {i}, c.strategy->name, c.rule, base, files);
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
    bool agree = true;
    for (auto i : changed) agree = agree && same_file(files[i], files[changed[0]]);
    // A soup averages the tensors of a file its ingredients hold differently, changed or not.
    bool uniform = m_uniform && !changed.empty();
    for (const auto* f : files) uniform = uniform && f && f->format != core::FileFormat::raw;
    for (const auto* f : files) uniform = uniform && structure(*f) == structure(*files[0]);
    if (changed.empty()) {
      if (base) m_plan.tree.files.push_back(*base);
      decide_file(path, "unchanged", {}, {}, -1, base, base);
      return;
    }
    if (agree && !uniform) {
      take_file(path, files[changed[0]], changed, {}, -1, base, files);
      return;
    }
    // Changed differently on several sides. A deletion against any change is a conflict.
    std::vector<std::size_t> deleted, present;
    for (auto i : changed) (files[i] ? present : deleted).push_back(i);
    if (!deleted.empty() && !present.empty()) {
      if (pick_whole_file(path, files, base)) return;
      conflict(path, "", "deleted on " + join(deleted) + ", changed on " + join(present));
      return;
    }
    // The mode merges on its own (a side that only made a file executable does not conflict
    // with another side's new content).
    std::vector<std::size_t> rewritten;  // content changed, whatever the mode
    for (auto i : changed)
      if (!same_data(files[i], base)) rewritten.push_back(i);
    std::uint32_t mode = base ? base->mode : 0644;
    bool mode_set = false;
    for (auto i : changed)
      if (files[i] && (!base || files[i]->mode != base->mode) && !mode_set) mode = files[i]->mode, mode_set = true;
    bool data_agree = true;
    for (auto i : rewritten) data_agree = data_agree && same_data(files[i], files[rewritten[0]]);
    if (data_agree && !uniform) {
      const FileEntry* source = rewritten.empty() ? base : files[rewritten[0]];
      if (source) {
        FileEntry result = *source;
        result.mode = mode;
        m_plan.tree.files.push_back(result);
      }
      decide_file(path, source ? "take" : "delete", labels_of(changed), {}, -1, source ? source : base, base, files);
      return;
    }
    // The sides taking part: without a base version, a side that never had the file does not.
    std::vector<std::size_t> part;
    for (std::size_t i = 0; i < files.size(); ++i)
      if (base || files[i]) part.push_back(i);
    bool tensor_files = deleted.empty() && (!base || base->format != core::FileFormat::raw);
    for (auto i : part)
      tensor_files = tensor_files && files[i] && files[i]->format != core::FileFormat::raw &&
                     !files[i]->tensors.empty() && files[i]->format == files[part[0]]->format &&
                     (!base || base->format == files[i]->format);
    if (!tensor_files) {
      if (pick_whole_file(path, files, base)) return;
      conflict(path, "",
               !base ? "added on " + join(present) + " with different content"
                     : "changed on " + join(changed) + " (no tensors coral can merge in it, or its format changed)");
      return;
    }
    // The layout (skeleton, tensor names, dtypes, shapes, offsets) merges as a whole.
    const std::optional<FileEntry> base_layout = base ? std::optional(structure(*base)) : std::nullopt;
    std::vector<std::size_t> relaid;
    for (auto i : part)
      if (!base_layout || !(structure(*files[i]) == *base_layout)) relaid.push_back(i);
    const bool rebuildable = m_metadata && files[part[0]]->format == core::FileFormat::safetensors;
    for (auto i : relaid)
      if (!(structure(*files[i]) == structure(*files[relaid[0]]))) {
        if (rebuildable) return plan_rebuilt(path, base, files, part, relaid, mode);
        if (pick_whole_file(path, files, base)) return;
        conflict(path, "", "layout changed on " + join(relaid) + " (tensors added, removed or reshaped differently)");
        return;
      }
    FileEntry result = relaid.empty() ? *base : *files[relaid[0]];
    result.mode = mode;
    // A tensor the layout drops must not have been changed on another side.
    std::set<std::string> names;
    for (const auto& t : result.tensors) names.insert(t.name);
    std::set<std::string> dropped_changed;
    for (auto i : part)
      for (const auto& t : files[i]->tensors)
        if (!names.count(t.name) && !same_tensor(&t, find_tensor(base, t.name))) dropped_changed.insert(t.name);
    if (!dropped_changed.empty()) {
      if (rebuildable) return plan_rebuilt(path, base, files, part, relaid, mode);
      if (pick_whole_file(path, files, base)) return;
      for (const auto& name : dropped_changed)
        conflict(path, name, "deleted on " + join(relaid) + " and changed on another side");
      return;
    }
    // Tensor by tensor.
    const std::size_t file_index = m_plan.tree.files.size();
    decide({path, "", "merge", labels_of(relaid.empty() ? part : relaid), {}, -1, {}});
    for (std::size_t k = 0; k < result.tensors.size(); ++k)
      plan_tensor(path, base, files, part, result.tensors[k], file_index, k);
    m_plan.tensorwise.push_back(file_index);
    m_plan.tree.files.push_back(std::move(result));
  }

  // A safetensors file whose layout changed differently on several sides: which tensors it
  // keeps is decided tensor by tensor (added on one side: kept; deleted on one side and
  // unchanged elsewhere: deleted), and a new header lists them, sorted by name, with the
  // "__metadata__" merged three-way. The file entry and its skeleton are complete here; only
  // the tensors of jobs wait for their ids.
  void plan_rebuilt(const std::string& path, const FileEntry* base, const std::vector<const FileEntry*>& files,
                    const std::vector<std::size_t>& part, const std::vector<std::size_t>& relaid, std::uint32_t mode) {
    const std::string base_meta = base ? m_metadata(*base) : std::string();
    std::vector<std::size_t> meta_changed;
    std::vector<std::string> metas(files.size());
    for (auto i : part) {
      metas[i] = m_metadata(*files[i]);
      if (metas[i] != base_meta) meta_changed.push_back(i);
    }
    for (auto i : meta_changed)
      if (metas[i] != metas[meta_changed[0]]) {
        conflict(path, "", "header metadata changed on " + join(meta_changed));
        return;
      }
    const std::string metadata = meta_changed.empty() ? base_meta : metas[meta_changed[0]];
    // The tensors kept, each with the dtype and shape its version has.
    std::set<std::string> names;
    if (base)
      for (const auto& t : base->tensors) names.insert(t.name);
    for (auto i : part)
      for (const auto& t : files[i]->tensors) names.insert(t.name);
    FileEntry result;
    result.path = path;
    result.format = core::FileFormat::safetensors;
    result.mode = mode;
    decide({path, "", "merge", labels_of(relaid), {}, -1, {}});
    for (const auto& name : names) {
      // Which version's dtype and shape the tensor has: the base's when no side changed it, the
      // changed sides' when they agree, else the version ours/theirs picks, else the first
      // changed one (plan_tensor then finds the mismatch or merges them).
      const TensorEntry* b = find_tensor(base, name);
      const TensorEntry* kind = b;
      std::vector<std::size_t> changed;
      for (auto i : part)
        if (!same_tensor(find_tensor(files[i], name), b)) changed.push_back(i);
      bool agree = true;
      for (auto i : changed) agree = agree && same_tensor(find_tensor(files[i], name), find_tensor(files[changed[0]], name));
      const std::string& strategy = choose(path, name).strategy->name;
      if (!changed.empty() && agree) {
        kind = find_tensor(files[changed[0]], name);
      } else if (!changed.empty() && (strategy == "ours" || strategy == "theirs")) {
        kind = find_tensor(files[strategy == "ours" ? 0 : 1], name);
        if (!kind) {
          decide({path, name, "delete", {m_labels[strategy == "ours" ? 0 : 1]}, strategy, choose(path, name).rule, {}});
          continue;
        }
      } else if (!changed.empty()) {
        kind = nullptr;
        for (std::size_t c = 0; c < changed.size() && !kind; ++c) kind = find_tensor(files[changed[c]], name);
      }
      if (!kind) {  // deleted where it changed, unchanged elsewhere
        decide({path, name, "delete", labels_of(changed), {}, -1, {}});
        continue;
      }
      TensorEntry t = *kind;
      t.length = core::dtype_size(t.dtype);
      for (const auto d : t.shape) t.length *= d;
      result.tensors.push_back(std::move(t));
    }
    // The header, the offsets it gives, and the skeleton (the header is all of it).
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = nlohmann::json::parse(metadata);
    std::uint64_t data = 0;
    for (auto& t : result.tensors) {
      header[t.name] = {{"dtype", core::dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {data, data + t.length}}};
      t.offset = data;
      data += t.length;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string skeleton(8, '\0');
    for (int k = 0; k < 8; ++k) skeleton[static_cast<std::size_t>(k)] = static_cast<char>((text.size() >> (8 * k)) & 0xFF);
    skeleton += text;
    for (auto& t : result.tensors) t.offset += skeleton.size();
    result.size = skeleton.size() + data;
    result.id = core::hash_bytes(std::string_view(skeleton));
    m_plan.skeletons.push_back(std::move(skeleton));
    // Each kept tensor, three-way as in any file merged tensor by tensor.
    const std::size_t file_index = m_plan.tree.files.size();
    for (std::size_t k = 0; k < result.tensors.size(); ++k) plan_tensor(path, base, files, part, result.tensors[k], file_index, k);
    m_plan.tree.files.push_back(std::move(result));
  }

  // Decides one tensor of a file merged tensor by tensor.
  void plan_tensor(const std::string& path, const FileEntry* base_file,
                                         const std::vector<const FileEntry*>& files, const std::vector<std::size_t>& part,
                                         TensorEntry& out, std::size_t file_index, std::size_t tensor_index) {
    const TensorEntry* base = find_tensor(base_file, out.name);
    std::vector<const TensorEntry*> versions(files.size(), nullptr);
    std::vector<std::size_t> changed, taking_part;
    for (auto i : part) {
      versions[i] = find_tensor(files[i], out.name);
      if (!same_tensor(versions[i], base)) changed.push_back(i);
      if (versions[i] || base) taking_part.push_back(i);  // without a base version, a side that lacks it is out
    }
    bool agree = true, all_same = true, averageable = mergeable_dtype(out.dtype);
    for (auto i : changed) agree = agree && same_tensor(versions[i], versions[changed[0]]);
    for (auto i : taking_part) {
      all_same = all_same && same_tensor(versions[i], versions[taking_part[0]]);
      averageable = averageable && versions[i] && same_kind(*versions[i], out);
    }
    // A soup averages what its ingredients hold differently; what cannot be averaged (integers,
    // a reshape) follows the three-way rules.
    const bool uniform = m_uniform && !all_same && averageable;
    if (changed.empty() && !uniform) {
      decide({path, out.name, "unchanged", {}, {}, -1, {}});
      return;
    }
    auto fits = [&](std::size_t i) { return versions[i] && same_kind(*versions[i], out); };
    auto misfit = [&](std::size_t i) {
      return m_labels[i] + "'s version" + (versions[i] ? " " + kind_text(*versions[i]) : std::string()) +
             " does not fit the merged layout (" + kind_text(out) + ")";
    };
    if (agree && !uniform) {
      if (!fits(changed[0])) {
        conflict(path, out.name, misfit(changed[0]));
        return;
      }
      out.id = versions[changed[0]]->id;
      decide({path, out.name, "take", labels_of(changed), {}, -1, {}});
      return;
    }
    const Choice choice = choose(path, out.name);
    const MergeStrategy& strategy = *choice.strategy;
    if (strategy.name == "ours" || strategy.name == "theirs") {
      const std::size_t i = strategy.name == "ours" ? 0 : 1;
      if (!fits(i)) {
        conflict(path, out.name, misfit(i));
        return;
      }
      out.id = versions[i]->id;
      decide({path, out.name, "take", {m_labels[i]}, strategy.name, choice.rule, {}});
      return;
    }
    std::vector<std::size_t> missing;
    for (auto i : taking_part)
      if (!versions[i]) missing.push_back(i);
    std::string kinds;
    bool same_kinds = true;
    for (auto i : taking_part) {
      if (!versions[i]) continue;
      same_kinds = same_kinds && same_kind(*versions[i], out);
      kinds += (kinds.empty() ? "" : ", ") + m_labels[i] + " " + kind_text(*versions[i]);
    }
    std::string reason;
    std::vector<std::size_t> modified;
    for (auto i : changed)
      if (versions[i]) modified.push_back(i);
    if (!missing.empty()) reason = "deleted on " + join(missing) + ", changed on " + join(modified);
    else if (!same_kinds) reason = "dtype or shape differs: " + kinds;
    else if (strategy.name == "fail") reason = "changed on " + join(changed);
    else if (!mergeable_dtype(out.dtype))
      reason = std::string(core::dtype_name(out.dtype)) + " tensors are not merged arithmetically (changed on " +
               join(changed) + ")";
    else if (strategy.name != "soup" && strategy.name != "average" && strategy.name != "weighted" &&
             strategy.name != "slerp" && (!base || !same_kind(*base, out)))
      reason = "strategy " + strategy.name + " needs the merge base's version, and " +
               (base ? "its dtype or shape differs (base " + kind_text(*base) + ")" : "there is none");
    else if (strategy.name == "slerp" && taking_part.size() != 2)
      reason = "slerp needs exactly two versions, " + std::to_string(taking_part.size()) + " sides hold one";
    if (!reason.empty()) {
      conflict(path, out.name, reason);
      return;
    }
    TensorJob job;
    job.file = file_index;
    job.tensor = tensor_index;
    for (auto i : taking_part) {
      job.sides.push_back(*versions[i]);
      job.side_index.push_back(i);
    }
    if (base) job.base = *base;
    job.strategy = strategy;
    job.rule = choice.rule;
    job.decision = m_plan.decisions.size();
    out.id = {};
    m_plan.jobs.push_back(std::move(job));
    decide({path, out.name, "merge", labels_of(taking_part), strategy.name, choice.rule, {}});
  }

  const Tree* m_base;
  std::span<const Tree* const> m_sides;
  std::span<const std::string> m_labels;
  const MergeStrategy& m_strategy;
  std::span<const MergeRule> m_rules;
  bool m_uniform;
  LayoutKeyFn m_layout_key;
  MetadataFn m_metadata;
  MergePlan m_plan;
};

}  // namespace

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

MergePlan plan_merge(const Tree* base, std::span<const Tree* const> sides, std::span<const std::string> labels,
                     const MergeStrategy& strategy, std::span<const MergeRule> rules, const LayoutKeyFn& layout_key,
                     const MetadataFn& metadata) {
  return Planner(base, sides, labels, strategy, rules, layout_key, metadata).run();
}

}  // namespace coral::vcs
