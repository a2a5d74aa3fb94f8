#pragma once
// Revision syntax (git's): a branch, a tag, a full or unique-prefix (>= 4 hex) commit id, HEAD,
// followed by any number of ~N / ^N suffixes ("main~2", "HEAD^2", "v1^", "a1b2c3~1^2").

#include "coral/core/object_id.hpp"

#include <string>
#include <string_view>

namespace coral::vcs {

class Repository;

// Throws NotFoundError ("unknown revision 'x'") or UsageError (bad syntax, ambiguous prefix).
core::ObjectId resolve_commit(Repository& repo, std::string_view rev);

// "REV:PATH" split for `show`; path empty when there is no colon.
struct RevPath {
  std::string rev;
  std::string path;
};
RevPath split_rev_path(std::string_view spec);

}  // namespace coral::vcs
