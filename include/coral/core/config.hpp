#pragma once
// Configuration: one key table drives parsing, validation, `coral config list --show-origin` and
// the table in docs/cli.md (DESIGN.md §10). Precedence: flag > CORAL_<KEY> env >
// .coral/config.toml > $XDG_CONFIG_HOME/coral/config.toml > built-in default.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace coral::core {

enum class ConfigType { string, integer, number, boolean };

struct ConfigKey {
  std::string_view name;           // "user.name"
  ConfigType type;
  std::string_view default_value;  // as text; "" means unset
  std::string_view env;            // "CORAL_USER_NAME"
  std::string_view doc;            // one line
};

// Every key coral knows, sorted by name.
std::span<const ConfigKey> config_keys() noexcept;
const ConfigKey* find_config_key(std::string_view name) noexcept;

// $XDG_CONFIG_HOME/coral/config.toml, else ~/.config/coral/config.toml; empty when neither
// XDG_CONFIG_HOME (absolute) nor HOME is set.
std::filesystem::path user_config_path();

enum class ConfigOrigin { flag, env, repo, user, default_value };
std::string_view origin_name(ConfigOrigin o) noexcept;  // "flag", "env", "repo", "user", "default"

struct ConfigValue {
  std::string text;  // canonical text form
  ConfigOrigin origin = ConfigOrigin::default_value;
  std::string source;  // file path or env name, for --show-origin
};

class Config {
public:
  // Loads the user file ($XDG_CONFIG_HOME/coral/config.toml, else ~/.config/coral/config.toml),
  // the repository file (when repo_config is not empty) and the environment.
  static Config load(const std::filesystem::path& repo_config);

  // Flags override everything (e.g. --lock-wait sets core.lock_wait).
  void set_flag(std::string_view key, std::string value);

  ConfigValue get(std::string_view key) const;  // throws UsageError for an unknown key
  std::string get_string(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_number(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::map<std::string, ConfigValue> list() const;

  // Validates `value` for `key` (UsageError naming key and value on failure) and returns its
  // canonical text.
  static std::string validate(std::string_view key, std::string_view value);
  // Sets key = value in a config.toml file (validated, written atomically, other keys kept).
  static void write_value(const std::filesystem::path& file, std::string_view key, std::string_view value);
  static void unset_value(const std::filesystem::path& file, std::string_view key);

private:
  std::map<std::string, ConfigValue, std::less<>> m_values;
};

}  // namespace coral::core
