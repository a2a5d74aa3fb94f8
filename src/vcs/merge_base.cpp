#include "merge_base.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace coral::vcs {
namespace {

using IdSet = std::unordered_set<core::ObjectId, core::ObjectIdHash>;

// Every commit reachable from `start` (itself included).
IdSet ancestors(const ObjectDb& db, const core::ObjectId& start) {
  IdSet seen{start};
  std::vector<core::ObjectId> todo{start};
  while (!todo.empty()) {
    const core::ObjectId id = todo.back();
    todo.pop_back();
    for (const auto& p : db.read_commit(id).parents)
      if (seen.insert(p).second) todo.push_back(p);
  }
  return seen;
}

}  // namespace

bool is_ancestor(const ObjectDb& db, const core::ObjectId& ancestor, const core::ObjectId& descendant) {
  if (ancestor == descendant) return true;
  return ancestors(db, descendant).count(ancestor) > 0;
}

std::vector<core::ObjectId> merge_bases(const ObjectDb& db, std::span<const core::ObjectId> heads) {
  if (heads.empty()) return {};
  IdSet common = ancestors(db, heads[0]);
  for (std::size_t i = 1; i < heads.size() && !common.empty(); ++i) {
    const IdSet other = ancestors(db, heads[i]);
    std::erase_if(common, [&](const core::ObjectId& id) { return !other.count(id); });
  }
  // A common ancestor reachable from another one's parents is not a best one.
  IdSet dominated;
  std::vector<core::ObjectId> todo;
  for (const auto& c : common)
    for (const auto& p : db.read_commit(c).parents)
      if (dominated.insert(p).second) todo.push_back(p);
  while (!todo.empty()) {
    const core::ObjectId id = todo.back();
    todo.pop_back();
    for (const auto& p : db.read_commit(id).parents)
      if (dominated.insert(p).second) todo.push_back(p);
  }
  std::vector<std::pair<std::int64_t, core::ObjectId>> best;
  for (const auto& c : common)
    if (!dominated.count(c)) best.emplace_back(db.read_commit(c).time, c);
  std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second.hex() < b.second.hex();
  });
  std::vector<core::ObjectId> out;
  for (const auto& [time, id] : best) out.push_back(id);
  return out;
}

}  // namespace coral::vcs
