#include "gc_plan.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace coral::vcs {
namespace {

using storage::StoredRecord;

class Chooser {
public:
  explicit Chooser(const GcPlanInput& in) : m_in(in) {
    for (std::size_t i = 0; i < in.records.size(); ++i) m_by_id[in.records[i].info.id].push_back(i);
  }

  bool live(const core::ObjectId& id) const { return m_in.live.contains(id); }
  const std::vector<std::size_t>* records_of(const core::ObjectId& id) const {
    const auto it = m_by_id.find(id);
    return it == m_by_id.end() ? nullptr : &it->second;
  }

  // The chosen record of `id` (an index into input.records), or -1 when none can be decoded.
  long choose(const core::ObjectId& id, unsigned depth = 0) {
    if (const auto it = m_state.find(id); it != m_state.end()) return it->second;  // -2: on the stack
    const auto* candidates = records_of(id);
    if (!candidates || depth > k_max_walk) return -1;
    m_state[id] = -2;
    std::vector<std::size_t> order = *candidates;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    long chosen = -1;
    for (std::size_t i : order) {
      const StoredRecord& r = m_in.records[i];
      if (r.info.base == r.info.id) continue;
      if (!r.info.base.is_zero() && choose(r.info.base, depth + 1) < 0) continue;
      chosen = static_cast<long>(i);
      break;
    }
    m_state[id] = chosen;
    return chosen;
  }

  const StoredRecord& chosen_record(const core::ObjectId& id) const {
    return m_in.records[static_cast<std::size_t>(m_state.at(id))];
  }

private:
  static constexpr unsigned k_max_walk = 4096;
  // Records needing no re-encoding first, then the smallest, then by pack for determinism.
  std::tuple<bool, std::uint64_t, const std::string&> key(std::size_t i) const {
    const StoredRecord& r = m_in.records[i];
    return {!r.info.base.is_zero() && !live(r.info.base), r.info.stored_size, r.pack};
  }

  const GcPlanInput& m_in;
  std::unordered_map<core::ObjectId, std::vector<std::size_t>, core::ObjectIdHash> m_by_id;
  std::unordered_map<core::ObjectId, long, core::ObjectIdHash> m_state;
};

struct PackTally {
  std::uint64_t bytes = 0, records = 0;
  std::uint64_t dropped_bytes = 0, dropped_records = 0;
  std::uint64_t optional_bytes = 0;
  bool mandatory = false;
};

}  // namespace

GcPlanned plan_gc(const GcPlanInput& in) {
  GcPlanned plan;
  Chooser chooser(in);
  std::map<std::string, PackTally> packs;
  for (const StoredRecord& r : in.records) {
    PackTally& t = packs[r.pack];
    t.bytes += r.info.stored_size;
    ++t.records;
    plan.record_bytes += r.info.stored_size;
  }

  // 1. A record for each live object; the new base of those whose base goes.
  std::vector<core::ObjectId> live_ids(in.live.begin(), in.live.end());
  std::sort(live_ids.begin(), live_ids.end());
  std::unordered_map<core::ObjectId, core::ObjectId, core::ObjectIdHash> base_after;
  for (const core::ObjectId& id : live_ids) {
    if (chooser.choose(id) < 0) {
      plan.missing.push_back(id);
      continue;
    }
    const StoredRecord& r = chooser.chosen_record(id);
    core::ObjectId base = r.info.base;
    if (!base.is_zero() && !chooser.live(base)) {
      while (!base.is_zero() && !chooser.live(base)) base = chooser.chosen_record(base).info.base;
      plan.reencode.push_back({id, base, {id, r.pack}, r.info.raw_size, r.info.stored_size, 0});
    }
    base_after[id] = base;
  }
  // Chain heights of objects re-encoded standalone: the longest chain that will end in them.
  std::unordered_map<core::ObjectId, unsigned, core::ObjectIdHash> height;
  for (const auto& [id, first] : base_after) {
    unsigned d = 0;
    for (core::ObjectId at = first; !at.is_zero() && d <= base_after.size(); at = base_after.at(at)) {
      unsigned& h = height[at];
      h = std::max(h, ++d);
      if (!base_after.contains(at)) break;
    }
  }
  for (GcReencode& r : plan.reencode)
    if (r.base.is_zero()) r.chain_height = height.contains(r.id) ? height.at(r.id) : 0;

  // 2. Records that go.
  std::vector<std::pair<storage::StoredCopy, std::uint64_t>> optional;
  const auto drop = [&](const StoredRecord& r) {
    plan.drop.push_back({r.info.id, r.pack});
    plan.drop_bytes += r.info.stored_size;
    PackTally& t = packs[r.pack];
    t.dropped_bytes += r.info.stored_size;
    ++t.dropped_records;
    t.mandatory = true;
  };
  std::unordered_set<core::ObjectId, core::ObjectIdHash> reencoded;
  for (const GcReencode& r : plan.reencode) reencoded.insert(r.id);
  for (std::size_t i = 0; i < in.records.size(); ++i) {
    const StoredRecord& r = in.records[i];
    const bool first = i == 0 || in.records[i - 1].info.id != r.info.id;
    if (!chooser.live(r.info.id)) {
      if (first) ++plan.dead_objects;
      ++plan.dead_records;
      plan.dead_bytes += r.info.stored_size;
      drop(r);
      continue;
    }
    const bool has_choice = !std::binary_search(plan.missing.begin(), plan.missing.end(), r.info.id);
    const bool chosen = has_choice && &chooser.chosen_record(r.info.id) == &r;
    if (chosen) {
      if (reencoded.contains(r.info.id)) drop(r);
      continue;
    }
    if (!has_choice) continue;  // damage: leave its records as they are
    ++plan.superseded_records;
    plan.superseded_bytes += r.info.stored_size;
    if (r.info.base == r.info.id || (!r.info.base.is_zero() && !chooser.live(r.info.base))) {
      drop(r);
    } else {
      optional.push_back({{r.info.id, r.pack}, r.info.stored_size});
      packs[r.pack].optional_bytes += r.info.stored_size;
    }
  }
  // Harmless superseded records go when their pack is rewritten anyway or they are at least
  // half of it; `optional_bytes` counts them per pack.
  const auto worth = [&](const PackTally& t) {
    return t.mandatory || (t.optional_bytes > 0 && 2 * t.optional_bytes >= t.bytes);
  };
  for (const auto& [name, n] : in.left_out) packs[name].mandatory = true;  // may hold no listed record
  for (auto& [name, t] : packs) {
    if (t.dropped_records > 0 || worth(t)) plan.rewrite.insert(name);
  }

  // 3. Consolidation of small packs (their size after the drops of step 2).
  std::vector<std::string> small;
  for (const auto& [name, t] : packs) {
    const std::uint64_t harmless = plan.rewrite.contains(name) ? t.optional_bytes : 0;
    if (t.dropped_records == t.records) continue;  // removed
    if (in.repack || 2 * (t.bytes - t.dropped_bytes - harmless) < in.max_pack_bytes) small.push_back(name);
  }
  if (small.size() >= 2) {
    for (const std::string& name : small) plan.consolidated += plan.rewrite.insert(name).second ? 1 : 0;
  }
  // Every rewritten pack leaves its harmless superseded records behind too.
  for (const auto& [copy, bytes] : optional) {
    if (!plan.rewrite.contains(copy.pack)) continue;
    PackTally& t = packs[copy.pack];
    plan.drop.push_back(copy);
    plan.drop_bytes += bytes;
    t.dropped_bytes += bytes;
    ++t.dropped_records;
  }
  for (const auto& [name, t] : packs)
    if (plan.rewrite.contains(name) && t.dropped_records == t.records) plan.remove.insert(name);
  std::sort(plan.drop.begin(), plan.drop.end(), [](const storage::StoredCopy& a, const storage::StoredCopy& b) {
    return a.id != b.id ? a.id < b.id : a.pack < b.pack;
  });
  return plan;
}

}  // namespace coral::vcs
