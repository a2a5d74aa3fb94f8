#include "coral/core/error.hpp"
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"
#include "materialize.hpp"
#include "paths.hpp"
#include "scan.hpp"
#include "stage.hpp"
#include "switch_tree.hpp"

#include <algorithm>
#include <set>
#include <sys/stat.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;
namespace {

CheckoutResult restore_paths(Repository& repo, Index& index, const CheckoutOptions& o, core::ThreadPool& pool) {
  CheckoutResult r;
  r.head = read_head(repo);
  const Tree source = o.rev.empty() ? index.to_tree() : repo.objects().read_data_tree(resolve_commit(repo, o.rev));
  std::vector<const FileEntry*> selected;
  for (const auto& p : o.paths) {
    const std::string rel = to_repo_path(repo.worktree(), p);
    bool any = false;
    for (const auto& f : source.files)
      if (in_scope(f.path, rel)) selected.push_back(&f), any = true;
    if (!any) throw NotFoundError("path '" + p + "' did not match any file known to coral" +
                                  (o.rev.empty() ? std::string() : " in '" + o.rev + "'"));
  }
  const auto stats = materialize_files(repo, selected, pool, {});
  for (std::size_t i = 0; i < selected.size(); ++i) {
    index.upsert({*selected[i], stats[i], true});
    ++r.files_written;
    r.bytes_written += selected[i]->size;
  }
  return r;
}

}  // namespace

CheckoutResult checkout(Repository& repo, const CheckoutOptions& o, const core::ProgressFn& progress) {
  auto write_lock = repo.lock_for_write();
  auto index_lock = repo.lock_index();
  Index index = Index::load(repo);
  core::ThreadPool pool(static_cast<std::size_t>(repo.jobs()));
  if (!o.paths.empty()) {
    CheckoutResult r = restore_paths(repo, index, o, pool);
    index.save(repo);
    return r;
  }

  const Head head = read_head(repo);
  std::optional<core::ObjectId> target_id;
  std::optional<std::string> target_branch;
  if (!o.new_branch.empty()) {
    validate_ref_name(o.new_branch);
    if (find_ref(repo, "refs/heads/" + o.new_branch)) throw ConflictError("branch '" + o.new_branch + "' already exists");
    target_id = o.rev.empty() ? head.commit : std::optional(resolve_commit(repo, o.rev));
    target_branch = o.new_branch;
  } else {
    if (o.rev.empty()) throw UsageError("checkout needs a revision, -b NAME, or -- PATH");
    if (o.rev == "HEAD" || o.rev == "@") target_branch = head.branch;  // stay where HEAD is
    else if (find_ref(repo, "refs/heads/" + o.rev)) target_branch = o.rev;
    target_id = resolve_commit(repo, o.rev);
  }
  const Tree current = head_tree(repo, head);
  const Tree target = target_id ? repo.objects().read_data_tree(*target_id) : Tree{};

  TreeSwitch sw = plan_switch(repo, index, current, target, o.force, pool, "checkout");
  CheckoutResult r = apply_switch(repo, sw, pool, progress);
  if (!o.new_branch.empty() && target_id) update_ref(repo, "refs/heads/" + o.new_branch, *target_id, std::nullopt);
  if (target_branch) set_head_branch(repo, *target_branch);
  else set_head_detached(repo, *target_id);
  r.head = read_head(repo);
  return r;
}

}  // namespace coral::vcs
