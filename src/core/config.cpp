#include "coral/core/config.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace coral::core {
namespace {

namespace stdfs = std::filesystem;

// The key table: docs/cli.md "Configuration" repeats it; keep the two in step.
constexpr std::array k_keys{
  ConfigKey{"core.compression_level", ConfigType::integer, "1", "CORAL_COMPRESSION_LEVEL",
            "zstd level where zstd is used (metadata, zstd-coded chunks and planes)"},
  ConfigKey{"core.jobs", ConfigType::integer, "0", "CORAL_JOBS", "worker threads; 0 = all cores"},
  ConfigKey{"core.lock_wait", ConfigType::number, "10", "CORAL_LOCK_WAIT",
            "seconds to wait for a repository lock before giving up"},
  ConfigKey{"delta.max_chain", ConfigType::integer, "8", "CORAL_DELTA_MAX_CHAIN",
            "longest chain of deltas a read decodes (0 = store every object self-contained)"},
  ConfigKey{"pack.max_bytes", ConfigType::integer, "2147483648", "CORAL_PACK_MAX_BYTES",
            "largest pack file written, in bytes (>= 1 MiB)"},
  ConfigKey{"user.email", ConfigType::string, "", "CORAL_USER_EMAIL", "author email recorded in commits and tags"},
  ConfigKey{"user.name", ConfigType::string, "", "CORAL_USER_NAME", "author name recorded in commits and tags"},
};

// Numeric bounds of the keys that have them (inclusive).
struct Bounds {
  std::string_view name;
  double min;
  double max;
};
constexpr std::array k_bounds{
  Bounds{"core.compression_level", 1, 19},
  Bounds{"core.jobs", 0, 4096},
  Bounds{"core.lock_wait", 0, 1e9},
  Bounds{"delta.max_chain", 0, 16},
  Bounds{"pack.max_bytes", 1024.0 * 1024.0, 9.2e18},
};

const Bounds* find_bounds(std::string_view name) {
  for (const auto& b : k_bounds)
    if (b.name == name) return &b;
  return nullptr;
}

const ConfigKey& get_key(std::string_view name) {
  if (const auto* k = find_config_key(name)) return *k;
  throw UsageError("unknown config key '" + std::string(name) + "'", {},
                   "run 'coral config list' to see the known keys");
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

[[noreturn]] void invalid(const ConfigKey& key, std::string_view value, std::string_view why) {
  throw UsageError("invalid value '" + std::string(value) + "' for config key '" + std::string(key.name) + "': " +
                   std::string(why));
}

void check_bounds(const ConfigKey& key, std::string_view value, double v) {
  const auto* b = find_bounds(key.name);
  if (!b || (v >= b->min && v <= b->max)) return;
  invalid(key, value, fmt::format("must be between {} and {}", b->min, b->max));
}

std::string canonical_integer(const ConfigKey& key, std::string_view value) {
  const std::string t = trim(value);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc{} || end != t.data() + t.size()) invalid(key, value, "not an integer");
  check_bounds(key, value, static_cast<double>(v));
  return std::to_string(v);
}

std::string canonical_number(const ConfigKey& key, std::string_view value) {
  const std::string t = trim(value);
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || !std::isfinite(v))
    invalid(key, value, "not a number");
  check_bounds(key, value, v);
  return fmt::format("{}", v);
}

std::string canonical_boolean(const ConfigKey& key, std::string_view value) {
  std::string t = trim(value);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "true" || t == "yes" || t == "on" || t == "1") return "true";
  if (t == "false" || t == "no" || t == "off" || t == "0") return "false";
  invalid(key, value, "not a boolean (true or false)");
}

std::string canonical_string(const ConfigKey& key, std::string_view value) {
  if (std::any_of(value.begin(), value.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    invalid(key, value, "control characters are not allowed");
  return std::string(value);
}


// A config file as a TOML table; empty when the file does not exist. Syntax errors are the
// user's to fix, so they are UsageErrors naming the file, line and column.
toml::table read_table(const stdfs::path& file) {
  std::string text;
  try {
    text = fs::read_file(file);
  } catch (const NotFoundError&) {
    return {};
  }
  try {
    return toml::parse(text, std::string_view{file.native()});
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw UsageError(fmt::format("cannot parse config file '{}' (line {}, column {}): {}", file.string(), where.line,
                                 where.column, e.description()),
                     {}, "fix the file by hand or remove it");
  }
}

// The text of a TOML leaf as coral's config text (before validation).
std::optional<std::string> leaf_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return fmt::format("{}", f->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  return std::nullopt;
}

// Splits "user.name" into table "user" and leaf "name" (every key has exactly one dot).
std::pair<std::string, std::string> split_key(std::string_view name) {
  const auto dot = name.find('.');
  return {std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

void write_table(const stdfs::path& file, const toml::table& table) {
  std::ostringstream out;
  out << toml::toml_formatter{table} << "\n";
  fs::create_directories_durable(file.parent_path());
  fs::write_file_atomic(file, out.str());
}

void load_file(std::map<std::string, ConfigValue, std::less<>>& values, const stdfs::path& file, ConfigOrigin origin) {
  if (file.empty()) return;
  const toml::table table = read_table(file);
  for (const auto& key : k_keys) {
    const auto [section, leaf] = split_key(key.name);
    const toml::node* node = table.get(section);
    if (node && node->is_table()) node = node->as_table()->get(leaf);
    else node = nullptr;
    if (!node) continue;
    const auto text = leaf_text(*node);
    if (!text) throw UsageError("config key '" + std::string(key.name) + "' in '" + file.string() + "' is not a value");
    try {
      values[std::string(key.name)] = {Config::validate(key.name, *text), origin, file.string()};
    } catch (const UsageError& e) {
      throw UsageError(std::string(e.what()) + " in '" + file.string() + "'", {},
                       "fix it with 'coral config set' or edit the file");
    }
  }
}

std::string type_name(ConfigType t) {
  switch (t) {
    case ConfigType::string: return "string";
    case ConfigType::integer: return "integer";
    case ConfigType::number: return "number";
    case ConfigType::boolean: return "boolean";
  }
  return "?";
}

}  // namespace

std::span<const ConfigKey> config_keys() noexcept { return k_keys; }

const ConfigKey* find_config_key(std::string_view name) noexcept {
  for (const auto& k : k_keys)
    if (k.name == name) return &k;
  return nullptr;
}

std::string_view origin_name(ConfigOrigin o) noexcept {
  switch (o) {
    case ConfigOrigin::flag: return "flag";
    case ConfigOrigin::env: return "env";
    case ConfigOrigin::repo: return "repo";
    case ConfigOrigin::user: return "user";
    case ConfigOrigin::default_value: return "default";
  }
  return "default";
}

Config Config::load(const std::filesystem::path& repo_config) {
  Config c;
  for (const auto& key : k_keys)
    c.m_values[std::string(key.name)] = {std::string(key.default_value), ConfigOrigin::default_value, {}};
  load_file(c.m_values, user_config_path(), ConfigOrigin::user);
  load_file(c.m_values, repo_config, ConfigOrigin::repo);
  for (const auto& key : k_keys) {
    const char* env = std::getenv(std::string(key.env).c_str());
    if (!env || !*env) continue;
    try {
      c.m_values[std::string(key.name)] = {validate(key.name, env), ConfigOrigin::env, std::string(key.env)};
    } catch (const UsageError& e) {
      throw UsageError(std::string(e.what()) + " (from " + std::string(key.env) + ")", {},
                       "fix or unset " + std::string(key.env));
    }
  }
  log().debug("config: user file '{}', repo file '{}'", user_config_path().string(), repo_config.string());
  return c;
}

void Config::set_flag(std::string_view key, std::string value) {
  m_values[std::string(key)] = {validate(key, value), ConfigOrigin::flag, {}};
}

ConfigValue Config::get(std::string_view key) const {
  get_key(key);
  const auto it = m_values.find(key);
  CORAL_ASSERT(it != m_values.end());
  return it->second;
}

std::string Config::get_string(std::string_view key) const { return get(key).text; }

std::int64_t Config::get_int(std::string_view key) const {
  const std::string text = get(key).text;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw UsageError("config key '" + std::string(key) + "' is not an integer: '" + text + "'");
  return v;
}

double Config::get_number(std::string_view key) const {
  const std::string text = get(key).text;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw UsageError("config key '" + std::string(key) + "' is not a number: '" + text + "'");
  return v;
}

bool Config::get_bool(std::string_view key) const {
  return canonical_boolean(get_key(key), get(key).text) == "true";
}

std::map<std::string, ConfigValue> Config::list() const { return {m_values.begin(), m_values.end()}; }

std::string Config::validate(std::string_view key, std::string_view value) {
  const ConfigKey& k = get_key(key);
  switch (k.type) {
    case ConfigType::string: return canonical_string(k, value);
    case ConfigType::integer: return canonical_integer(k, value);
    case ConfigType::number: return canonical_number(k, value);
    case ConfigType::boolean: return canonical_boolean(k, value);
  }
  throw UsageError("config key '" + std::string(key) + "' has unknown type " + type_name(k.type));
}

void Config::write_value(const std::filesystem::path& file, std::string_view key, std::string_view value) {
  const ConfigKey& k = get_key(key);
  const std::string text = validate(key, value);
  toml::table table = read_table(file);
  const auto [section, leaf] = split_key(k.name);
  toml::node* node = table.get(section);
  if (node && !node->is_table())
    throw UsageError("cannot set '" + std::string(key) + "': '" + section + "' in '" + file.string() +
                     "' is not a table");
  if (!node) node = &table.insert_or_assign(section, toml::table{}).first->second;
  toml::table& sub = *node->as_table();
  switch (k.type) {
    case ConfigType::string: sub.insert_or_assign(leaf, text); break;
    case ConfigType::integer: sub.insert_or_assign(leaf, std::stoll(text)); break;
    case ConfigType::number: sub.insert_or_assign(leaf, std::stod(text)); break;
    case ConfigType::boolean: sub.insert_or_assign(leaf, text == "true"); break;
  }
  write_table(file, table);
}

void Config::unset_value(const std::filesystem::path& file, std::string_view key) {
  const ConfigKey& k = get_key(key);
  toml::table table = read_table(file);
  const auto [section, leaf] = split_key(k.name);
  auto* sub = table.get_as<toml::table>(section);
  if (!sub || !sub->contains(leaf)) return;
  sub->erase(leaf);
  if (sub->empty()) table.erase(section);
  write_table(file, table);
}

std::filesystem::path user_config_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg && stdfs::path(xdg).is_absolute()) return stdfs::path(xdg) / "coral" / "config.toml";
  const char* home = std::getenv("HOME");
  if (home && *home) return stdfs::path(home) / ".config" / "coral" / "config.toml";
  return {};
}

}  // namespace coral::core
