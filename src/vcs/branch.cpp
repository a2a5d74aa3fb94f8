#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"

#include <chrono>
#include <set>

namespace coral::vcs {
namespace {

std::string branch_ref(const std::string& name) { return "refs/heads/" + name; }
std::string tag_ref(const std::string& name) { return "refs/tags/" + name; }

// Is `commit` reachable from `from`?
bool is_ancestor(Repository& repo, const core::ObjectId& commit, const core::ObjectId& from) {
  std::vector<core::ObjectId> stack{from};
  std::set<core::ObjectId> seen;
  while (!stack.empty()) {
    const auto id = stack.back();
    stack.pop_back();
    if (id == commit) return true;
    if (!seen.insert(id).second) continue;
    for (const auto& p : repo.objects().read_commit(id).parents) stack.push_back(p);
  }
  return false;
}

}  // namespace

std::vector<BranchInfo> list_branches(Repository& repo) {
  const Head head = read_head(repo);
  std::vector<BranchInfo> out;
  for (const auto& name : list_refs(repo, "refs/heads"))
    out.push_back({name, get_ref(repo, branch_ref(name)), head.branch == name});
  return out;
}

void create_branch(Repository& repo, const std::string& name, const std::string& start_rev, bool force) {
  validate_ref_name(name);
  auto lock = repo.lock_for_write();
  const auto id = resolve_commit(repo, start_rev.empty() ? "HEAD" : start_rev);
  const auto existing = find_ref(repo, branch_ref(name));
  if (existing && !force) throw ConflictError("branch '" + name + "' already exists", {}, "pass -f to move it");
  if (existing && read_head(repo).branch == name)
    throw ConflictError("cannot force-update the current branch '" + name + "'");
  update_ref(repo, branch_ref(name), id, existing);
}

void delete_branch(Repository& repo, const std::string& name, bool force) {
  auto lock = repo.lock_for_write();
  const auto id = find_ref(repo, branch_ref(name));
  if (!id) throw NotFoundError("branch '" + name + "' not found");
  const Head head = read_head(repo);
  if (head.branch == name) throw ConflictError("cannot delete branch '" + name + "': it is checked out");
  if (!force && head.commit && !is_ancestor(repo, *id, *head.commit))
    throw ConflictError("branch '" + name + "' is not fully merged", {},
                        "delete it anyway with 'coral branch -D " + name + "'");
  delete_ref(repo, branch_ref(name), *id);
}

void rename_branch(Repository& repo, const std::string& old_name, const std::string& new_name, bool force) {
  validate_ref_name(new_name);
  auto lock = repo.lock_for_write();
  const Head head = read_head(repo);
  const auto id = find_ref(repo, branch_ref(old_name));
  if (!id) {
    if (head.branch == old_name && !head.commit) {  // unborn: only HEAD changes
      set_head_branch(repo, new_name);
      return;
    }
    throw NotFoundError("branch '" + old_name + "' not found");
  }
  const auto existing = find_ref(repo, branch_ref(new_name));
  if (existing && !force) throw ConflictError("branch '" + new_name + "' already exists");
  // New name first, then HEAD, then the old name: a crash leaves both names, never none.
  update_ref(repo, branch_ref(new_name), *id, existing);
  if (head.branch == old_name) set_head_branch(repo, new_name);
  if (old_name != new_name) delete_ref(repo, branch_ref(old_name), *id);
}

std::vector<TagInfo> list_tags(Repository& repo) {
  std::vector<TagInfo> out;
  for (const auto& name : list_refs(repo, "refs/tags")) {
    const auto id = get_ref(repo, tag_ref(name));
    TagInfo t{name, id, std::nullopt};
    const std::string json = repo.objects().read_metadata(id);
    if (metadata_type(json) == "tag") {
      t.annotation = decode_tag(json, id);
      t.commit = t.annotation->target;
    }
    out.push_back(std::move(t));
  }
  return out;
}

void create_tag(Repository& repo, const std::string& name, const std::string& rev, const std::string& message,
                const std::string& tagger, const std::string& email, bool force) {
  validate_ref_name(name);
  auto lock = repo.lock_for_write();
  const auto commit = resolve_commit(repo, rev.empty() ? "HEAD" : rev);
  const auto existing = find_ref(repo, tag_ref(name));
  if (existing && !force) throw ConflictError("tag '" + name + "' already exists", {}, "pass -f to replace it");
  core::ObjectId target = commit;
  if (!message.empty()) {
    TagObject t;
    t.target = commit;
    t.name = name;
    std::tie(t.tagger, t.email) = resolve_identity(repo, tagger, email);
    t.time = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    t.message = message;
    target = repo.objects().write_metadata(encode_tag(t));
  }
  update_ref(repo, tag_ref(name), target, existing);
}

void delete_tag(Repository& repo, const std::string& name) {
  auto lock = repo.lock_for_write();
  const auto id = find_ref(repo, tag_ref(name));
  if (!id) throw NotFoundError("tag '" + name + "' not found");
  delete_ref(repo, tag_ref(name), *id);
}

}  // namespace coral::vcs
