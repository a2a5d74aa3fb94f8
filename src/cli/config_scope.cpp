#include "config_scope.hpp"

#include "coral/core/error.hpp"

#include <cstdlib>
#include <system_error>
#include <string>

namespace coral::cli {
namespace {

namespace stdfs = std::filesystem;

// Mirrors core::Config::load's choice of user file ($XDG_CONFIG_HOME, else ~/.config).
stdfs::path user_config_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg && stdfs::path(xdg).is_absolute()) return stdfs::path(xdg) / "coral" / "config.toml";
  const char* home = std::getenv("HOME");
  if (home && *home) return stdfs::path(home) / ".config" / "coral" / "config.toml";
  throw UsageError("cannot find the user config file: neither XDG_CONFIG_HOME nor HOME is set");
}

// True when the current directory or a parent holds a repository (.coral/config.toml), as
// vcs::Repository::open searches.
bool inside_repository() {
  std::error_code ec;
  for (stdfs::path dir = stdfs::current_path(); ; dir = dir.parent_path()) {
    if (stdfs::exists(dir / ".coral" / "config.toml", ec)) return true;
    if (!dir.has_relative_path()) return false;
  }
}

}  // namespace

core::Config load_effective_config(const GlobalOptions& g) {
  if (inside_repository()) return vcs::Repository::open(open_options(g)).config();
  core::Config config = core::Config::load({});
  if (g.lock_wait >= 0) config.set_flag("core.lock_wait", std::to_string(g.lock_wait));
  if (g.jobs > 0) config.set_flag("core.jobs", std::to_string(g.jobs));
  return config;
}

stdfs::path config_file_to_write(const GlobalOptions& g, bool user) {
  if (user) return user_config_file();
  return vcs::Repository::open(open_options(g)).layout().config();
}

}  // namespace coral::cli
