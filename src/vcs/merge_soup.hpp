#pragma once
// Greedy model soup (Wortsman et al. 2022) over the sides of a merge: score each side with the
// user's eval command, then, best first, add each side to the running average only when the
// average's score improves (docs/merge.md "soup" under "Every strategy on one example").
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/merge.hpp"

#include <functional>
#include <string>
#include <vector>

namespace coral::vcs {

struct SoupOutcome {
  std::vector<std::size_t> selected;  // side indices, ascending
  std::vector<double> side_scores;    // by side index
  std::vector<SoupStep> steps;        // every multi-side candidate, in evaluation order
};

// `score_of(subset)` scores the average of the sides in `subset` (ascending side indices; a
// single side is that side itself).
SoupOutcome greedy_soup(const std::vector<std::string>& labels, bool maximize,
                        const std::function<double(const std::vector<std::size_t>&)>& score_of);

// Writes `tree` into a scratch directory under .coral/tmp, runs `command` through /bin/sh with
// every "{}" replaced by that directory (quoted), and returns the last number the command printed
// on stdout. Error naming `what` when the command fails or prints no number.
// Removes scratch directories of soups whose process is gone (killed or interrupted).
void remove_stale_soup_dirs(const Repository& repo);

double evaluate_tree(Repository& repo, const Tree& tree, const std::string& command, const std::string& what,
                     core::ThreadPool& pool);

}  // namespace coral::vcs
