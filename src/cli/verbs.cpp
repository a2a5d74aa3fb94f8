#include "verb.hpp"

namespace coral::cli {

// One line per verb, alphabetical; `coral --help` lists them in this order.
std::vector<VerbSpec> make_verbs() {
  std::vector<VerbSpec> verbs;
  verbs.push_back(make_add_verb());
  verbs.push_back(make_branch_verb());
  verbs.push_back(make_checkout_verb());
  verbs.push_back(make_commit_verb());
  verbs.push_back(make_config_verb());
  verbs.push_back(make_diff_verb());
  verbs.push_back(make_fsck_verb());
  verbs.push_back(make_gc_verb());
  verbs.push_back(make_init_verb());
  verbs.push_back(make_log_verb());
  verbs.push_back(make_merge_verb());
  verbs.push_back(make_prune_verb());
  verbs.push_back(make_rm_verb());
  verbs.push_back(make_show_verb());
  verbs.push_back(make_stats_verb());
  verbs.push_back(make_status_verb());
  verbs.push_back(make_tag_verb());
  return verbs;
}

}  // namespace coral::cli
