#include "roots.hpp"

#include "coral/core/error.hpp"
#include "coral/vcs/refs.hpp"

namespace coral::vcs {

std::vector<Root> history_roots(Repository& repo) {
  std::vector<Root> roots;
  ObjectDb& db = repo.objects();
  try {
    for (const std::string& name : list_refs(repo, "refs/heads")) {
      const std::string ref = "refs/heads/" + name;
      if (const auto id = find_ref(repo, ref)) roots.push_back({ref, *id, *id, false, {}});
    }
    for (const std::string& name : list_refs(repo, "refs/tags")) {
      const std::string ref = "refs/tags/" + name;
      const auto id = find_ref(repo, ref);
      if (!id) continue;
      Root root{ref, std::nullopt, *id, false, {}};
      try {
        if (!db.has_metadata(*id)) {
          root.missing = true;
          root.error = "tag or commit " + id->hex() + " is missing";
        } else {
          const std::string json = db.read_metadata(*id);
          root.commit = metadata_type(json) == "tag" ? decode_tag(json, *id).target : *id;
        }
      } catch (const Error& e) {
        root.error = e.what();
      }
      roots.push_back(std::move(root));
    }
  } catch (const Error& e) {
    roots.push_back({{}, std::nullopt, std::nullopt, false, std::string("cannot read the refs: ") + e.what()});
  }
  try {
    if (const auto head = read_head(repo).commit) roots.push_back({"HEAD", *head, *head, false, {}});
  } catch (const Error& e) {
    roots.push_back({"HEAD", std::nullopt, std::nullopt, false, e.what()});
  }
  return roots;
}

}  // namespace coral::vcs
