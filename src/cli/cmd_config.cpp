#include "config_scope.hpp"
#include "output.hpp"
#include "verb.hpp"

#include "coral/core/config.hpp"
#include "coral/core/error.hpp"

#include <memory>

namespace coral::cli {
namespace {

struct ConfigArgs {
  std::string action;
  std::string key;
  std::string value;
  bool user = false;
  bool show_origin = false;
};

[[noreturn]] void usage(const std::string& message) { throw UsageError(message, {}, "run 'coral help config'"); }

int run_config(const ConfigArgs& a, const GlobalOptions& g, Output& out) {
  const bool has_key = !a.key.empty();
  const bool has_value = !a.value.empty();
  if (a.action == "list" && !has_key) {
    out.print_config_list(load_effective_config(g).list(), a.show_origin);
  } else if (a.action == "get" && has_key && !has_value) {
    out.print_config_value(a.key, load_effective_config(g).get(a.key));
  } else if (a.action == "set" && has_key && has_value) {
    const auto file = config_file_to_write(g, a.user);
    core::Config::write_value(file, a.key, a.value);
    out.print_config_write({.key = a.key, .value = core::Config::validate(a.key, a.value), .file = file});
  } else if (a.action == "unset" && has_key && !has_value) {
    const auto file = config_file_to_write(g, a.user);
    core::Config::unset_value(file, a.key);
    out.print_config_write({.key = a.key, .value = std::nullopt, .file = file});
  } else if (a.action.empty()) {
    usage("missing action: list, get, set or unset");
  } else if (a.action != "list" && a.action != "get" && a.action != "set" && a.action != "unset") {
    usage("unknown config action '" + a.action + "' (list, get, set or unset)");
  } else {
    usage("wrong arguments for 'config " + a.action + "'");
  }
  return 0;
}

}  // namespace

VerbSpec make_config_verb() {
  auto a = std::make_shared<ConfigArgs>();
  return {
    .name = "config",
    .summary = "Get and set configuration",
    .synopsis = "coral config list [--show-origin]\n"
                "coral config get KEY\n"
                "coral config set [--user] KEY VALUE\n"
                "coral config unset [--user] KEY",
    .description =
      "Values come from, highest first: a flag (--jobs, --lock-wait), the environment\n"
      "(CORAL_<KEY>), the repository's .coral/config.toml, the user's\n"
      "$XDG_CONFIG_HOME/coral/config.toml (~/.config/coral/config.toml), and built-in defaults.\n"
      "'list' shows every key with its effective value; --show-origin adds where it came from.\n"
      "'set' validates VALUE and writes the repository file (the user file with --user).\n"
      "list, get and --user work outside a repository.\n"
      "\n"
      "Keys: user.name, user.email, core.jobs, core.lock_wait, core.compression_level,\n"
      "pack.max_bytes (types, defaults and variables: docs/cli.md, or 'coral config list').",
    .options =
      {
        {"--user", "", "set/unset in the user file instead of the repository's", &a->user},
        {"--show-origin", "", "list: show where each value comes from", &a->show_origin},
      },
    .positionals =
      {
        {"ACTION", "list, get, set or unset", &a->action},
        {"KEY", "a config key, e.g. user.name", &a->key},
        {"VALUE", "the new value (set)", &a->value},
      },
    .examples = "coral config list --show-origin\n"
                "coral config get core.lock_wait\n"
                "coral config set user.name \"Ada Lovelace\"\n"
                "coral config set --user user.email ada@example.com\n"
                "coral config unset core.jobs",
    .exit_status = exit_status({{2, "usage error: unknown key, invalid value, wrong arguments"},
                                {3, "not found: set/unset without --user outside a repository"}}),
    .run = [a](const GlobalOptions& g, Output& out) { return run_config(*a, g, out); },
  };
}

}  // namespace coral::cli
