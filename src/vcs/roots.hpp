#pragma once
// The roots of a repository's history: every branch, every tag (an annotated tag's commit) and
// HEAD, in that order, each with the error that kept it from naming a commit. What fsck, stats
// and (later) gc walk from; the staging index is their other root.
#include "coral/core/object_id.hpp"
#include "coral/vcs/repository.hpp"

#include <optional>
#include <string>
#include <vector>

namespace coral::vcs {

struct Root {
  std::string ref;                       // "refs/heads/main", "refs/tags/v1", "HEAD"; empty when
                                         // the refs themselves could not be listed
  std::optional<core::ObjectId> commit;  // unset when it could not be read
  std::optional<core::ObjectId> object;  // what the ref names (an annotated tag's object), if known
  bool missing = false;                  // the object it names is not in the repository
  std::string error;                     // why `commit` is unset
};

// Never throws for one bad root: its error is in its entry. An unborn HEAD is no root.
std::vector<Root> history_roots(Repository& repo);

}  // namespace coral::vcs
