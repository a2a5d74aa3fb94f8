#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "stage.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <unistd.h>

namespace coral::vcs {
std::int32_t local_tz_offset_minutes(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  return static_cast<std::int32_t>(tm.tm_gmtoff / 60);
}

std::vector<std::pair<std::string, Change>> tree_changes(const Tree& from, const Tree& to) {
  std::vector<std::pair<std::string, Change>> out;
  for (const auto& f : to.files) {
    const FileEntry* o = from.find(f.path);
    if (!o) out.emplace_back(f.path, Change::added);
    else if (!o->same_content(f)) out.emplace_back(f.path, Change::modified);
  }
  for (const auto& f : from.files)
    if (!to.find(f.path)) out.emplace_back(f.path, Change::deleted);
  std::sort(out.begin(), out.end());
  return out;
}

Tree head_tree(Repository& repo, const Head& head) {
  if (!head.commit) return {};
  return repo.objects().read_tree(repo.objects().read_commit(*head.commit).tree);
}

std::pair<std::string, std::string> resolve_identity(const Repository& repo, const std::string& author,
                                                     const std::string& email) {
  auto env = [](const char* var) {
    const char* v = std::getenv(var);
    return std::string(v ? v : "");
  };
  std::string name = !author.empty() ? author : repo.config().get_string("user.name");
  std::string mail = !email.empty() ? email : repo.config().get_string("user.email");
  if (name.empty()) name = env("CORAL_AUTHOR_NAME");
  if (mail.empty()) mail = env("CORAL_AUTHOR_EMAIL");
  if (name.empty() || mail.empty()) {
    const char* login = ::getlogin();
    std::string user = login ? login : "";
    if (user.empty()) {
      const char* env_user = std::getenv("USER");
      user = env_user && *env_user ? env_user : "coral";
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    if (name.empty()) name = user;
    if (mail.empty()) mail = user + "@" + (host[0] ? host : "localhost");
  }
  return {name, mail};
}

CommitResult commit(Repository& repo, const CommitOptions& options, const core::ProgressFn& progress) {
  if (options.message.empty()) throw UsageError("empty commit message", {}, "pass -m MESSAGE");
  auto write_lock = repo.lock_for_write();
  auto index_lock = repo.lock_index();
  Index index = Index::load(repo);
  if (options.all) {
    add_locked(repo, index, {.paths = {}, .update_tracked = true}, progress);
    index.save(repo);
  }
  // Which ref moves, what it must hold now (compare-and-swap), and the new commit's parent.
  const Head head = read_head(repo);
  std::optional<std::string> branch = head.branch;
  std::optional<core::ObjectId> expected = head.commit, parent = head.commit;
  if (!options.branch.empty() && options.branch != head.branch) {
    validate_ref_name(options.branch);
    branch = options.branch;
    expected = find_ref(repo, "refs/heads/" + options.branch);
    parent = expected ? expected : head.commit;  // a new branch starts at HEAD
  }
  const Tree tree = index.to_tree();
  const Tree parent_tree = head_tree(repo, Head{std::nullopt, parent});
  const std::uint64_t changes = tree_changes(parent_tree, tree).size();
  if (changes == 0 && parent && !options.allow_empty)
    throw Error("nothing to commit, the index matches " + (branch ? "branch '" + *branch + "'" : std::string("HEAD")), {},
                "stage changes with 'coral add', or pass --allow-empty");
  if (tree.files.empty() && !parent && !options.allow_empty)
    throw Error("nothing to commit: the index is empty", {}, "stage files with 'coral add PATH'");

  Commit c;
  c.tree = repo.objects().write_tree(tree);  // objects -> tree -> commit -> ref
  if (parent) c.parents.push_back(*parent);
  std::tie(c.author, c.email) = resolve_identity(repo, options.author, options.email);
  c.time = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  c.tz_offset = local_tz_offset_minutes(c.time);
  c.message = options.message;
  for (const auto& [k, v] : options.metrics) c.metrics[k] = v;
  repo.objects().write_commit(c);
  if (branch) update_ref(repo, "refs/heads/" + *branch, c.id, expected);
  else advance_head(repo, head, c.id);

  CommitResult r;
  r.commit = std::move(c);
  r.branch = branch;
  r.root = !parent;
  r.files_changed = changes;
  return r;
}

}  // namespace coral::vcs
