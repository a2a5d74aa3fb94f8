// `coral config` and the identity a commit records: precedence flag > env > repo > user > default.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace coral::test;
using nlohmann::json;

namespace {

std::filesystem::path user_config(const CliDir& dir) { return dir / ".home/.config/coral/config.toml"; }

}  // namespace

TEST(CliConfigTest, ListWorksOutsideARepository) {
  CliDir dir;
  const auto r = dir.ok({"config", "list"});
  EXPECT_TRUE(contains(r.out, "core.lock_wait=10\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "core.compression_level=1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "user.name=\n")) << r.out;
  const auto origin = dir.ok({"config", "list", "--show-origin"}).out;
  EXPECT_TRUE(contains(origin, "default\tcore.lock_wait=10\n")) << origin;
  EXPECT_EQ(dir.ok({"config", "get", "pack.max_bytes"}).out, "2147483648\n");
}

TEST(CliConfigTest, SetGetUnsetInTheRepository) {
  CliDir dir;
  dir.ok({"init"});
  EXPECT_EQ(dir.ok({"config", "set", "core.lock_wait", "2.50"}).out, "");
  EXPECT_EQ(dir.ok({"config", "get", "core.lock_wait"}).out, "2.5\n");
  const std::string file = dir.read(".coral/config.toml");
  EXPECT_TRUE(contains(file, "format_version = 1")) << file;
  EXPECT_TRUE(contains(file, "[core]")) << file;
  EXPECT_TRUE(contains(dir.ok({"config", "list", "--show-origin"}).out,
                       "repo:" + (dir / ".coral/config.toml").string() + "\tcore.lock_wait=2.5\n"));

  const auto j = json::parse(dir.ok({"--json", "config", "get", "core.lock_wait"}).out);
  EXPECT_EQ(j, json({{"key", "core.lock_wait"}, {"value", "2.5"}, {"origin", "repo"},
                     {"source", (dir / ".coral/config.toml").string()}}));

  dir.ok({"config", "unset", "core.lock_wait"});
  EXPECT_EQ(dir.ok({"config", "get", "core.lock_wait"}).out, "10\n");
  EXPECT_TRUE(contains(dir.read(".coral/config.toml"), "format_version = 1"));
  dir.ok({"status"});  // the repository still opens
}

TEST(CliConfigTest, PrecedenceFlagEnvRepoUser) {
  CliDir dir;
  dir.ok({"init"});
  dir.ok({"config", "set", "--user", "core.lock_wait", "1"});
  EXPECT_TRUE(std::filesystem::exists(user_config(dir)));
  EXPECT_EQ(dir.ok({"config", "get", "core.lock_wait"}).out, "1\n");
  dir.ok({"config", "set", "core.lock_wait", "2"});
  EXPECT_EQ(dir.ok({"config", "get", "core.lock_wait"}).out, "2\n");
  const std::map<std::string, std::string> env = {{"CORAL_LOCK_WAIT", "3"}};
  EXPECT_EQ(dir.ok({"config", "get", "core.lock_wait"}, env).out, "3\n");
  EXPECT_EQ(dir.ok({"--lock-wait", "4", "config", "get", "core.lock_wait"}, env).out, "4\n");
  const auto origin = json::parse(dir.ok({"--json", "config", "get", "core.lock_wait"}, env).out);
  EXPECT_EQ(origin.at("origin"), "env");
  EXPECT_EQ(origin.at("source"), "CORAL_LOCK_WAIT");
}

TEST(CliConfigTest, InvalidValuesAndKeysAreUsageErrors) {
  CliDir dir;
  dir.ok({"init"});
  const std::string before = dir.read(".coral/config.toml");
  const auto bad = dir.run({"config", "set", "core.compression_level", "50"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_TRUE(contains(bad.err, "coral: error: invalid value '50' for config key 'core.compression_level'")) << bad.err;
  EXPECT_EQ(dir.read(".coral/config.toml"), before);
  EXPECT_EQ(dir.run({"config", "get", "core.nope"}).exit_code, 2);
  EXPECT_EQ(dir.run({"config", "frob"}).exit_code, 2);
  EXPECT_EQ(dir.run({"config", "set", "user.name"}).exit_code, 2);
  const auto env = dir.run({"status"}, {{"CORAL_JOBS", "lots"}});
  EXPECT_EQ(env.exit_code, 2) << env.err;
  EXPECT_TRUE(contains(env.err, "CORAL_JOBS")) << env.err;
}

TEST(CliConfigTest, SetOutsideARepositoryNeedsUser) {
  CliDir dir;
  const auto r = dir.run({"config", "set", "user.name", "Ada"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  dir.ok({"config", "set", "--user", "user.name", "Ada"});
  EXPECT_TRUE(contains(read_file(user_config(dir)), "Ada"));
  EXPECT_EQ(dir.ok({"config", "get", "user.name"}).out, "Ada\n");
}

TEST(CliConfigTest, CommitAuthorComesFromFlagThenConfigThenEnvironment) {
  CliDir dir;
  dir.ok({"init"});
  dir.write("a.txt", "1\n");
  dir.ok({"add", "a.txt"});
  const std::map<std::string, std::string> env = {{"CORAL_AUTHOR_NAME", "Env Name"},
                                                  {"CORAL_AUTHOR_EMAIL", "env@example.com"}};
  dir.ok({"commit", "-m", "one"}, env);
  EXPECT_TRUE(contains(dir.ok({"log", "-n", "1"}).out, "Author: Env Name <env@example.com>\n"));

  dir.ok({"config", "set", "--user", "user.name", "User Name"});
  dir.ok({"config", "set", "--user", "user.email", "user@example.com"});
  dir.ok({"commit", "--allow-empty", "-m", "two"}, env);  // config beats CORAL_AUTHOR_* (DESIGN §10)
  EXPECT_TRUE(contains(dir.ok({"log", "-n", "1"}).out, "Author: User Name <user@example.com>\n"));
  dir.ok({"commit", "--allow-empty", "-m", "two-b"}, {{"CORAL_USER_NAME", "Key Env"}});  // the key's own variable
  EXPECT_TRUE(contains(dir.ok({"log", "-n", "1"}).out, "Author: Key Env <user@example.com>\n"));

  dir.ok({"commit", "--allow-empty", "-m", "three", "--author", "Flag Name", "--email", "flag@example.com"}, env);
  EXPECT_TRUE(contains(dir.ok({"log", "-n", "1"}).out, "Author: Flag Name <flag@example.com>\n"));

  std::filesystem::remove(user_config(dir));  // no identity anywhere: the login name and host
  dir.ok({"commit", "--allow-empty", "-m", "four"});
  const auto anon = json::parse(dir.ok({"--json", "log", "-n", "1"}).out).at(0);
  EXPECT_FALSE(anon.at("author").get<std::string>().empty());
  EXPECT_NE(anon.at("author"), "User Name");
}
