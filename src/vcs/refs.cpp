#include "coral/vcs/refs.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/vcs/repository.hpp"

#include <algorithm>
#include <filesystem>

// Ref files (docs/format.md "Refs"): "<32 hex>\n". HEAD: "ref: refs/heads/<name>\n" or
// "<32 hex>\n". Every change is a compare-and-swap under locks/refs.lock, written with AtomicFile.

namespace coral::vcs {
namespace fs = core::fs;
namespace {

constexpr std::string_view k_symref = "ref: ";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

core::ObjectId parse_ref_content(const std::string& content, const std::string& what) {
  auto id = core::ObjectId::from_hex(trim(content));
  if (!id) throw CorruptError(what + " does not hold a commit id", content, "run 'coral fsck' to check the repository");
  return *id;
}

std::string describe(const std::string& full_name) {
  if (full_name.rfind("refs/heads/", 0) == 0) return "branch '" + full_name.substr(11) + "'";
  if (full_name.rfind("refs/tags/", 0) == 0) return "tag '" + full_name.substr(10) + "'";
  return full_name;
}

std::string short_hex(const std::optional<core::ObjectId>& id) { return id ? id->hex().substr(0, 8) : "(none)"; }

core::FileLock lock_refs(Repository& repo) {
  return core::FileLock::acquire(repo.layout().lock("refs"), core::LockMode::exclusive, repo.lock_wait(), "refs",
                                 repo.verb());
}

void check_expected(const std::string& full_name, const std::optional<core::ObjectId>& current,
                    const std::optional<core::ObjectId>& expected) {
  if (current == expected) return;
  if (!expected) throw ConflictError(describe(full_name) + " already exists");
  throw ConflictError(describe(full_name) + " moved from " + short_hex(expected) + " to " + short_hex(current),
                      {}, "another coral process updated it; your objects are kept, retry the command");
}

}  // namespace


namespace {

// "refs/heads/<valid name>" or "refs/tags/<valid name>": nothing else is ever a file path.
bool is_valid_full_name(const std::string& full_name) {
  for (const std::string_view prefix : {"refs/heads/", "refs/tags/"})
    if (full_name.rfind(prefix, 0) == 0) return is_valid_ref_name(std::string_view(full_name).substr(prefix.size()));
  return false;
}

void check_full_name(const std::string& full_name) {
  if (!is_valid_full_name(full_name)) throw UsageError("'" + full_name + "' is not a valid ref name");
}

}  // namespace

namespace {

// Why `name` is not a valid branch or tag name, or nullopt when it is.
std::optional<std::string> ref_name_fault(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name == "@") return "'@' is reserved";
  if (name == "HEAD") return "'HEAD' is reserved";
  if (name.front() == '-') return "it starts with '-'";
  if (name.front() == '/' || name.back() == '/') return "it starts or ends with '/'";
  if (name.back() == '.') return "it ends with '.'";
  if (name.find("..") != std::string_view::npos) return "it contains '..'";
  if (name.find("//") != std::string_view::npos) return "it contains an empty component";
  if (name.find("@{") != std::string_view::npos) return "it contains '@{'";
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return "it contains a control character";
    if (std::string_view(" ~^:?*[\\").find(static_cast<char>(c)) != std::string_view::npos)
      return std::string("it contains '") + static_cast<char>(c) + "'";
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = std::min(name.find('/', start), name.size());
    const auto comp = name.substr(start, end - start);
    if (!comp.empty() && comp.front() == '.') return "a component starts with '.'";
    if (comp.size() >= 5 && comp.substr(comp.size() - 5) == ".lock") return "a component ends with '.lock'";
    if (fs::is_temp_name(comp)) return "a component looks like a temp file's name (NAME.tmp-PID-HEX)";
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace

void validate_ref_name(std::string_view name) {
  if (auto why = ref_name_fault(name)) throw UsageError("'" + std::string(name) + "' is not a valid name: " + *why);
}

bool is_valid_ref_name(std::string_view name) noexcept { return !ref_name_fault(name); }

Head read_head(const Repository& repo) {
  const std::string content = trim(fs::read_file(repo.layout().head()));
  Head head;
  if (content.rfind(k_symref, 0) == 0) {
    const std::string target = content.substr(k_symref.size());
    if (target.rfind("refs/heads/", 0) != 0) throw CorruptError("HEAD points outside refs/heads: " + target);
    head.branch = target.substr(11);
    head.commit = find_ref(repo, target);
  } else {
    head.commit = parse_ref_content(content, "HEAD");
  }
  return head;
}

std::optional<core::ObjectId> find_ref(const Repository& repo, const std::string& full_name) {
  if (!is_valid_full_name(full_name)) return std::nullopt;
  const auto path = repo.layout().ref(full_name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  return parse_ref_content(fs::read_file(path), describe(full_name));
}

core::ObjectId get_ref(const Repository& repo, const std::string& full_name) {
  auto id = find_ref(repo, full_name);
  if (!id) throw NotFoundError(describe(full_name) + " not found");
  return *id;
}

void update_ref(Repository& repo, const std::string& full_name, const core::ObjectId& new_id,
                const std::optional<core::ObjectId>& expected) {
  check_full_name(full_name);
  auto lock = lock_refs(repo);
  check_expected(full_name, find_ref(repo, full_name), expected);
  const auto path = repo.layout().ref(full_name);
  fs::create_directories_durable(path.parent_path());
  fs::write_file_atomic(path, new_id.hex() + "\n");
}

void delete_ref(Repository& repo, const std::string& full_name, const core::ObjectId& expected) {
  check_full_name(full_name);
  auto lock = lock_refs(repo);
  check_expected(full_name, find_ref(repo, full_name), expected);
  const auto path = repo.layout().ref(full_name);
  std::filesystem::remove(path);
  fs::fsync_dir(path.parent_path());
  // Remove now-empty parent directories of nested names (refs/heads/a/b).
  for (auto dir = path.parent_path(); dir != repo.layout().refs_dir() / "heads" && dir != repo.layout().refs_dir() / "tags";
       dir = dir.parent_path()) {
    std::error_code ec;
    if (!std::filesystem::is_empty(dir, ec) || ec) break;
    std::filesystem::remove(dir, ec);
  }
}

void advance_head(Repository& repo, const Head& expected, const core::ObjectId& new_id) {
  if (expected.branch) {
    update_ref(repo, "refs/heads/" + *expected.branch, new_id, expected.commit);
    return;
  }
  auto lock = lock_refs(repo);
  const Head current = read_head(repo);
  if (current.branch || current.commit != expected.commit)
    throw ConflictError("HEAD moved while committing", {}, "your objects are kept; retry the command");
  fs::write_file_atomic(repo.layout().head(), new_id.hex() + "\n");
}

void set_head_branch(Repository& repo, const std::string& branch) {
  validate_ref_name(branch);
  auto lock = lock_refs(repo);
  fs::write_file_atomic(repo.layout().head(), std::string(k_symref) + "refs/heads/" + branch + "\n");
}

void set_head_detached(Repository& repo, const core::ObjectId& id) {
  auto lock = lock_refs(repo);
  fs::write_file_atomic(repo.layout().head(), id.hex() + "\n");
}

std::vector<std::string> list_refs(const Repository& repo, std::string_view prefix) {
  std::vector<std::string> out;
  const auto base = repo.layout().ref(std::string(prefix));
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(base, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || fs::is_temp_name(it->path().filename().string())) continue;
    out.push_back(it->path().lexically_relative(base).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace coral::vcs
