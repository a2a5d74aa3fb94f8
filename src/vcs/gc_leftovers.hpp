#pragma once
// What killed processes leave behind and gc removes: temp files ("*.tmp-*", STYLE.md §9.1) under
// .coral/, everything under .coral/tmp/ (soup candidates, merge scratch files) and checkout temp
// files (".coral-checkout-*") in the working tree. gc holds the gc lock exclusively while it
// deletes them, so no writer that could own one is running; a file whose name carries the pid of
// a live process stays all the same (status and config write without the gc lock).

#include "coral/vcs/repository.hpp"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace coral::vcs {

struct Leftover {
  std::filesystem::path path;
  std::uint64_t bytes = 0;  // a directory's: its files'
};

// Sorted by path. Lock files are never listed.
std::vector<Leftover> find_leftovers(const Repository& repo);
// Deletes them; a failure is logged as a warning (a later gc tries again).
void remove_leftovers(const std::vector<Leftover>& leftovers);

}  // namespace coral::vcs
