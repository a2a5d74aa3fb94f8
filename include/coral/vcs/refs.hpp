#pragma once
// Refs: refs/heads/NAME, refs/tags/NAME and HEAD (symbolic "ref: refs/heads/NAME" or a detached
// commit id). Changed only by compare-and-swap under the refs lock (STYLE.md §9.5).

#include "coral/core/object_id.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coral::vcs {

class Repository;

// Validates a branch or tag name like git's check-ref-format: no "..", no control characters,
// no space ~ ^ : ? * [ \, no leading '-' or '.', no trailing '/' or '.', no ".lock" suffix, no
// "@{", not "@", no empty component. Throws UsageError naming the name and the fault.
void validate_ref_name(std::string_view name);
bool is_valid_ref_name(std::string_view name) noexcept;

struct Head {
  std::optional<std::string> branch;     // set when HEAD is symbolic
  std::optional<core::ObjectId> commit;  // unset on an unborn branch
  bool detached() const noexcept { return !branch.has_value(); }
};

Head read_head(const Repository& repo);

// Full ref names ("refs/heads/main"). find_ returns nullopt when absent or not a valid name
// under refs/heads or refs/tags; update_ref and delete_ref throw UsageError for such a name.
std::optional<core::ObjectId> find_ref(const Repository& repo, const std::string& full_name);
core::ObjectId get_ref(const Repository& repo, const std::string& full_name);  // NotFoundError

// Sets `full_name` to `new_id` if its current value equals `expected` (nullopt: must not
// exist). Throws ConflictError("branch 'main' moved from X to Y") otherwise. Takes the refs lock.
void update_ref(Repository& repo, const std::string& full_name, const core::ObjectId& new_id,
                const std::optional<core::ObjectId>& expected);
void delete_ref(Repository& repo, const std::string& full_name, const core::ObjectId& expected);

// Moves HEAD's commit: the branch HEAD points to, or HEAD itself when detached (CAS as above).
void advance_head(Repository& repo, const Head& expected, const core::ObjectId& new_id);
// Points HEAD at a branch (symbolic) or detaches it at a commit.
void set_head_branch(Repository& repo, const std::string& branch);
void set_head_detached(Repository& repo, const core::ObjectId& id);

// Short names under refs/heads or refs/tags, sorted.
std::vector<std::string> list_refs(const Repository& repo, std::string_view prefix);

}  // namespace coral::vcs
