#include "gc_leftovers.hpp"

#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <unistd.h>
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

// Every leftover's name ends in "<pid>-<suffix>" (temps, checkout temps, soup and merge scratch).
// A writer that holds no gc lock (status refreshing the index, config set) may still own one:
// its file stays while that process lives.
bool owner_alive(const std::string& name) {
  const std::size_t last = name.rfind('-');
  if (last == std::string::npos || last == 0) return false;
  const std::size_t first = name.rfind('-', last - 1);
  const std::string digits = name.substr(first == std::string::npos ? 0 : first + 1, last - (first + 1));
  if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  const long pid = std::stol(digits);
  return pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
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
  std::erase_if(out, [](const Leftover& l) { return owner_alive(l.path.filename().string()); });
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
