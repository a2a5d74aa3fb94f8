#include "config_scope.hpp"

#include "coral/core/error.hpp"

#include <cstdlib>
#include <system_error>
#include <string>

namespace coral::cli {
namespace stdfs = std::filesystem;

core::Config load_effective_config(const GlobalOptions& g) {
  if (vcs::Repository::find(".")) return vcs::Repository::open(open_options(g)).config();
  core::Config config = core::Config::load({});
  if (g.lock_wait >= 0) config.set_flag("core.lock_wait", std::to_string(g.lock_wait));
  if (g.jobs > 0) config.set_flag("core.jobs", std::to_string(g.jobs));
  return config;
}

stdfs::path config_file_to_write(const GlobalOptions& g, bool user) {
  if (user) {
    auto path = core::user_config_path();
    if (path.empty()) throw UsageError("cannot find the user config file: neither XDG_CONFIG_HOME nor HOME is set");
    return path;
  }
  return vcs::Repository::open(open_options(g)).layout().config();
}

}  // namespace coral::cli
