#include "coral/core/config.hpp"

#include "coral/core/error.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using coral::UsageError;
using coral::core::Config;
using coral::core::ConfigOrigin;
using coral::test::read_file;
using coral::test::TempDir;
using coral::test::write_file;

namespace {

// Points XDG_CONFIG_HOME into a temp dir and clears every CORAL_* variable the key table names;
// restores the previous environment afterwards.
class ConfigTest : public ::testing::Test {
protected:
  void SetUp() override {
    save("XDG_CONFIG_HOME");
    save("HOME");
    for (const auto& key : coral::core::config_keys()) save(std::string(key.env));
    for (const auto& [name, value] : m_saved) ::unsetenv(name.c_str());
    ::setenv("XDG_CONFIG_HOME", (m_dir.path() / "xdg").c_str(), 1);
    ::setenv("HOME", (m_dir.path() / "home").c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : m_saved) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }
  std::filesystem::path user_file() const { return m_dir.path() / "xdg" / "coral" / "config.toml"; }
  std::filesystem::path repo_file() const { return m_dir.path() / "repo" / ".coral" / "config.toml"; }

  TempDir m_dir;

private:
  void save(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    m_saved.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> m_saved;
};

}  // namespace

TEST_F(ConfigTest, KeyTableIsSortedDocumentedAndDefaultsValidate) {
  const auto keys = coral::core::config_keys();
  ASSERT_GE(keys.size(), 6u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.name < b.name; }));
  for (const auto& k : keys) {
    EXPECT_EQ(k.env.rfind("CORAL_", 0), 0u) << k.name;
    EXPECT_FALSE(k.doc.empty()) << k.name;
    EXPECT_EQ(Config::validate(k.name, k.default_value), k.default_value) << k.name;
    EXPECT_EQ(coral::core::find_config_key(k.name), &k);
  }
  EXPECT_EQ(coral::core::find_config_key("user.nope"), nullptr);
  EXPECT_EQ(coral::core::find_config_key("user.name")->env, "CORAL_USER_NAME");
  EXPECT_EQ(coral::core::find_config_key("user.email")->env, "CORAL_USER_EMAIL");
}

TEST_F(ConfigTest, DefaultsWhenNothingIsSet) {
  const Config c = Config::load({});
  EXPECT_EQ(c.get("core.lock_wait").text, "10");
  EXPECT_EQ(c.get("core.lock_wait").origin, ConfigOrigin::default_value);
  EXPECT_EQ(c.get_int("core.jobs"), 0);
  EXPECT_EQ(c.get_int("core.compression_level"), 1);
  EXPECT_EQ(c.get_int("pack.max_bytes"), 2147483648LL);
  EXPECT_DOUBLE_EQ(c.get_number("core.lock_wait"), 10.0);
  EXPECT_EQ(c.get_string("user.name"), "");
  EXPECT_EQ(c.list().size(), coral::core::config_keys().size());
}

TEST_F(ConfigTest, PrecedenceIsFlagEnvRepoUserDefault) {
  write_file(user_file(), "[core]\nlock_wait = 1\njobs = 2\ncompression_level = 3\n[user]\nname = 'user-file'\n");
  write_file(repo_file(), "format_version = 1\n[core]\nlock_wait = 4\njobs = 5\n");
  ::setenv("CORAL_LOCK_WAIT", "7", 1);

  Config c = Config::load(repo_file());
  c.set_flag("core.lock_wait", "9");
  EXPECT_EQ(c.get("core.lock_wait").text, "9");
  EXPECT_EQ(c.get("core.lock_wait").origin, ConfigOrigin::flag);

  const Config no_flag = Config::load(repo_file());
  EXPECT_EQ(no_flag.get("core.lock_wait").text, "7");
  EXPECT_EQ(no_flag.get("core.lock_wait").origin, ConfigOrigin::env);
  EXPECT_EQ(no_flag.get("core.lock_wait").source, "CORAL_LOCK_WAIT");
  EXPECT_EQ(no_flag.get("core.jobs").text, "5");
  EXPECT_EQ(no_flag.get("core.jobs").origin, ConfigOrigin::repo);
  EXPECT_EQ(no_flag.get("core.jobs").source, repo_file().string());
  EXPECT_EQ(no_flag.get("core.compression_level").text, "3");
  EXPECT_EQ(no_flag.get("core.compression_level").origin, ConfigOrigin::user);
  EXPECT_EQ(no_flag.get("user.name").text, "user-file");
  EXPECT_EQ(no_flag.get("pack.max_bytes").origin, ConfigOrigin::default_value);
}

TEST_F(ConfigTest, UserEnvironmentVariablesSetUserKeys) {
  ::setenv("CORAL_USER_NAME", "Ada", 1);
  ::setenv("CORAL_USER_EMAIL", "ada@example.com", 1);
  const Config c = Config::load({});
  EXPECT_EQ(c.get_string("user.name"), "Ada");
  EXPECT_EQ(c.get_string("user.email"), "ada@example.com");
}

TEST_F(ConfigTest, UserFileFallsBackToHomeDotConfig) {
  ::unsetenv("XDG_CONFIG_HOME");
  write_file(m_dir.path() / "home" / ".config" / "coral" / "config.toml", "[user]\nemail = 'h@example.com'\n");
  EXPECT_EQ(Config::load({}).get_string("user.email"), "h@example.com");
}

TEST_F(ConfigTest, ValidateCanonicalisesValues) {
  EXPECT_EQ(Config::validate("core.jobs", " 4 "), "4");
  EXPECT_EQ(Config::validate("core.lock_wait", "2.50"), "2.5");
  EXPECT_EQ(Config::validate("core.lock_wait", "10.000000"), "10");
  EXPECT_EQ(Config::validate("core.lock_wait", "0"), "0");
  EXPECT_EQ(Config::validate("pack.max_bytes", "1048576"), "1048576");
  EXPECT_EQ(Config::validate("user.name", "Grace Hopper"), "Grace Hopper");
}

TEST_F(ConfigTest, ValidateRejectsBadValues) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
         {"core.compression_level", "0"},
         {"core.compression_level", "20"},
         {"core.compression_level", "abc"},
         {"core.compression_level", "3.5"},
         {"core.jobs", "-1"},
         {"core.jobs", ""},
         {"core.lock_wait", "-1"},
         {"core.lock_wait", "nan"},
         {"core.lock_wait", "inf"},
         {"core.lock_wait", "10s"},
         {"pack.max_bytes", "1000"},
         {"user.name", "two\nlines"},
       }) {
    try {
      Config::validate(key, value);
      ADD_FAILURE() << key << " accepted '" << value << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(Config::validate("user.nickname", "x"), UsageError);
}

TEST_F(ConfigTest, UnknownKeyIsAUsageErrorWithHint) {
  const Config c = Config::load({});
  try {
    c.get("core.nope");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "unknown config key 'core.nope'");
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST_F(ConfigTest, InvalidEnvironmentValueNamesTheVariable) {
  ::setenv("CORAL_JOBS", "many", 1);
  try {
    Config::load({});
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("CORAL_JOBS"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, InvalidFileValueAndSyntaxNameTheFile) {
  write_file(repo_file(), "format_version = 1\n[core]\ncompression_level = 99\n");
  try {
    Config::load(repo_file());
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(repo_file().string()), std::string::npos) << e.what();
  }
  write_file(user_file(), "[core\njobs = 1\n");
  try {
    Config::load({});
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(user_file().string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, UnknownKeysAndTopLevelValuesInFilesAreIgnored) {
  write_file(repo_file(), "format_version = 1\nrepo_id = 'abc'\n[future]\nknob = true\n[core]\njobs = 3\n");
  EXPECT_EQ(Config::load(repo_file()).get_int("core.jobs"), 3);
}

TEST_F(ConfigTest, WriteKeepsOtherKeysAndFormatVersion) {
  write_file(repo_file(), "format_version = 1\nrepo_id = 'abc'\n[user]\nemail = 'x@example.com'\n");
  Config::write_value(repo_file(), "user.name", "Ada Lovelace");
  Config::write_value(repo_file(), "core.lock_wait", "2.5");
  Config::write_value(repo_file(), "core.jobs", "4");

  const std::string text = read_file(repo_file());
  EXPECT_NE(text.find("format_version = 1"), std::string::npos) << text;
  EXPECT_NE(text.find("repo_id"), std::string::npos) << text;
  EXPECT_NE(text.find("[user]"), std::string::npos) << text;
  EXPECT_NE(text.find("jobs = 4"), std::string::npos) << text;  // typed, not a string

  const Config c = Config::load(repo_file());
  EXPECT_EQ(c.get_string("user.name"), "Ada Lovelace");
  EXPECT_EQ(c.get_string("user.email"), "x@example.com");
  EXPECT_DOUBLE_EQ(c.get_number("core.lock_wait"), 2.5);
  EXPECT_EQ(c.get_int("core.jobs"), 4);
  EXPECT_EQ(c.get("core.jobs").origin, ConfigOrigin::repo);

  Config::write_value(repo_file(), "user.name", "Grace");  // overwrite
  EXPECT_EQ(Config::load(repo_file()).get_string("user.name"), "Grace");
}

TEST_F(ConfigTest, WriteRejectsInvalidValueAndLeavesFileUntouched) {
  write_file(repo_file(), "format_version = 1\n");
  EXPECT_THROW(Config::write_value(repo_file(), "core.compression_level", "42"), UsageError);
  EXPECT_THROW(Config::write_value(repo_file(), "no.such", "1"), UsageError);
  EXPECT_EQ(read_file(repo_file()), "format_version = 1\n");
}

TEST_F(ConfigTest, WriteCreatesTheUserConfigDirectory) {
  ASSERT_FALSE(std::filesystem::exists(user_file()));
  Config::write_value(user_file(), "user.email", "u@example.com");
  EXPECT_EQ(Config::load({}).get_string("user.email"), "u@example.com");
  EXPECT_EQ(Config::load({}).get("user.email").origin, ConfigOrigin::user);
}

TEST_F(ConfigTest, UnsetRemovesOnlyThatKey) {
  write_file(repo_file(), "format_version = 1\n[user]\nname = 'a'\nemail = 'b@example.com'\n[core]\njobs = 2\n");
  Config::unset_value(repo_file(), "user.name");
  Config c = Config::load(repo_file());
  EXPECT_EQ(c.get("user.name").origin, ConfigOrigin::default_value);
  EXPECT_EQ(c.get_string("user.email"), "b@example.com");
  EXPECT_EQ(c.get_int("core.jobs"), 2);

  Config::unset_value(repo_file(), "core.jobs");  // last key of [core]: the table goes too
  const std::string text = read_file(repo_file());
  EXPECT_EQ(text.find("[core]"), std::string::npos) << text;
  EXPECT_NE(text.find("format_version = 1"), std::string::npos) << text;

  Config::unset_value(repo_file(), "core.jobs");  // absent: no-op
  EXPECT_EQ(read_file(repo_file()), text);
  EXPECT_THROW(Config::unset_value(repo_file(), "no.such"), UsageError);
}

TEST_F(ConfigTest, UnsetOnMissingFileCreatesNothing) {
  Config::unset_value(user_file(), "user.name");
  EXPECT_FALSE(std::filesystem::exists(user_file()));
}

TEST_F(ConfigTest, OriginNames) {
  EXPECT_EQ(coral::core::origin_name(ConfigOrigin::flag), "flag");
  EXPECT_EQ(coral::core::origin_name(ConfigOrigin::env), "env");
  EXPECT_EQ(coral::core::origin_name(ConfigOrigin::repo), "repo");
  EXPECT_EQ(coral::core::origin_name(ConfigOrigin::user), "user");
  EXPECT_EQ(coral::core::origin_name(ConfigOrigin::default_value), "default");
}
