#include "gc_leftovers.hpp"

#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"

#include <algorithm>
#include <string_view>
#include <system_error>

namespace coral::vcs {
namespace {

namespace stdfs = std::filesystem;

std::uint64_t size_of(const stdfs::directory_entry& e) {
  std::error_code ec;
  if (e.is_directory(ec)) return core::fs::tree_bytes(e.path());
  const auto size = e.is_regular_file(ec) ? e.file_size(ec) : 0;
  return ec ? 0 : size;
}

// Regular files matching `match` under `dir`, not descending into `skip` or into another
// repository (a directory holding a .coral of its own, whose writers this gc does not lock out).
template <typename Match>
void collect(const stdfs::path& dir, const stdfs::path& skip, Match&& match, std::vector<Leftover>& out) {
  std::error_code ec;
  for (stdfs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->is_directory(fec)) {
      if (it->path() == skip || (it->path() != dir && stdfs::exists(it->path() / ".coral", fec)))
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(fec) && match(it->path().filename().string())) out.push_back({it->path(), size_of(*it)});
  }
}

}  // namespace

std::vector<Leftover> find_leftovers(const Repository& repo) {
  const storage::Layout& layout = repo.layout();
  std::vector<Leftover> out;
  const stdfs::path tmp = layout.tmp_dir();
  collect(layout.coral_dir(), tmp, [](const std::string& name) { return core::fs::is_temp_name(name); }, out);
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(tmp, ec)) out.push_back({e.path(), size_of(e)});
  collect(repo.worktree(), layout.coral_dir(), [](const std::string& name) { return core::fs::is_checkout_temp_name(name); },
          out);
  std::sort(out.begin(), out.end(), [](const Leftover& a, const Leftover& b) { return a.path < b.path; });
  return out;
}

void remove_leftovers(const std::vector<Leftover>& leftovers) {
  for (const Leftover& l : leftovers) {
    std::error_code ec;
    stdfs::remove_all(l.path, ec);
    if (ec) core::log().warn("cannot delete leftover '{}': {}", l.path.string(), ec.message());
  }
}

}  // namespace coral::vcs
