#include "coral/vcs/revision.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/object_db.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/repository.hpp"

#include <cctype>

namespace coral::vcs {
namespace {

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  return !s.empty();
}

// A tag ref may name an annotated tag object; peel it to its commit.
core::ObjectId peel(Repository& repo, const core::ObjectId& id) {
  const std::string json = repo.objects().read_metadata(id);
  if (metadata_type(json) == "tag") return decode_tag(json, id).target;
  return id;
}

std::optional<core::ObjectId> resolve_base(Repository& repo, const std::string& name) {
  if (name == "HEAD" || name == "@") {
    const Head head = read_head(repo);
    if (!head.commit)
      throw NotFoundError("HEAD has no commits yet" + (head.branch ? " (branch '" + *head.branch + "')" : std::string()),
                          {}, "make a first commit with 'coral add' and 'coral commit'");
    return head.commit;
  }
  for (const std::string prefix : {"refs/heads/", "refs/tags/", ""}) {
    if (prefix.empty() && name.rfind("refs/", 0) != 0) continue;
    const std::string full = prefix + name;
    if (full.find("..") != std::string::npos) continue;
    if (auto id = find_ref(repo, full)) return peel(repo, *id);
  }
  if (name.size() >= 4 && name.size() <= 32 && is_hex(name)) {
    if (name.size() == 32) {
      auto id = core::ObjectId::from_hex(name);
      if (id && repo.objects().has_metadata(*id)) return peel(repo, *id);
      return std::nullopt;
    }
    std::vector<core::ObjectId> commits;
    for (const auto& id : repo.objects().find_metadata_by_prefix(name))
      if (metadata_type(repo.objects().read_metadata(id)) == "commit") commits.push_back(id);
    if (commits.size() > 1)
      throw UsageError("short id '" + name + "' is ambiguous (" + std::to_string(commits.size()) + " commits)", {},
                       "use more hex digits");
    if (commits.size() == 1) return commits.front();
  }
  return std::nullopt;
}

}  // namespace

core::ObjectId resolve_commit(Repository& repo, std::string_view rev) {
  const std::string text(rev);
  if (text.empty()) throw UsageError("empty revision");
  const auto suffix = text.find_first_of("~^");
  const std::string base = text.substr(0, suffix);
  auto id = resolve_base(repo, base);
  if (!id) throw NotFoundError("unknown revision '" + text + "'", {}, "see 'coral log' or 'coral branch' for names");
  std::size_t pos = suffix;
  while (pos != std::string::npos && pos < text.size()) {
    const char op = text[pos++];
    if (op != '~' && op != '^') throw UsageError("bad revision '" + text + "'");
    std::size_t end = pos;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    const bool has_num = end > pos;
    std::uint64_t n = 1;
    if (has_num) {
      if (end - pos > 6) throw UsageError("bad revision '" + text + "': number too large");
      n = std::stoull(text.substr(pos, end - pos));
    }
    pos = end;
    if (op == '~') {
      for (std::uint64_t i = 0; i < n; ++i) {
        const Commit c = repo.objects().read_commit(*id);
        if (c.parents.empty()) throw NotFoundError("unknown revision '" + text + "': history is shorter");
        id = c.parents.front();
      }
    } else if (n > 0) {
      const Commit c = repo.objects().read_commit(*id);
      if (c.parents.size() < n) throw NotFoundError("unknown revision '" + text + "': no parent " + std::to_string(n));
      id = c.parents[n - 1];
    }
  }
  // Make sure it really is a commit.
  (void)repo.objects().read_commit(*id);
  return *id;
}

RevPath split_rev_path(std::string_view spec) {
  const auto colon = spec.find(':');
  if (colon == std::string_view::npos) return {std::string(spec), {}};
  return {std::string(spec.substr(0, colon)), std::string(spec.substr(colon + 1))};
}

}  // namespace coral::vcs
