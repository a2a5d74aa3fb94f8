// branch and tag: list, create, delete, rename, annotated tags, and their errors.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace coral::test;
using nlohmann::json;

namespace {

void two_commits(const CliDir& dir) {
  dir.init_and_commit_model();
  dir.write_model(0.5f);
  dir.ok({"add", "model"});
  dir.ok({"commit", "-m", "epoch 2"});
}

}  // namespace

TEST(CliBranchTest, ListCreateRenameDelete) {
  CliDir dir;
  two_commits(dir);
  EXPECT_EQ(dir.ok({"branch"}).out, "* main\n");

  const auto created = dir.ok({"branch", "ft-de"});
  EXPECT_EQ(created.out, "");
  dir.ok({"branch", "epoch-1", "HEAD~1"});
  EXPECT_EQ(dir.ok({"branch"}).out, "  epoch-1\n  ft-de\n* main\n");
  EXPECT_EQ(dir.commit_id("epoch-1"), dir.commit_id("main~1"));

  const auto j = json::parse(dir.ok({"branch", "--json"}).out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j.at(0), json({{"name", "epoch-1"}, {"commit", dir.commit_id("main~1")}, {"current", false}}));
  EXPECT_EQ(j.at(2).at("name"), "main");
  EXPECT_EQ(j.at(2).at("current"), true);

  dir.ok({"branch", "-m", "ft-de", "ft-german"});
  EXPECT_EQ(dir.ok({"branch"}).out, "  epoch-1\n  ft-german\n* main\n");
  dir.ok({"branch", "-m", "trunk"});  // renames the current branch
  EXPECT_EQ(dir.ok({"branch"}).out, "  epoch-1\n  ft-german\n* trunk\n");
  EXPECT_TRUE(contains(dir.ok({"status"}).out, "On branch trunk\n"));

  const auto deleted = dir.ok({"branch", "-d", "ft-german"});
  EXPECT_EQ(deleted.out, "Deleted branch 'ft-german'\n");
  EXPECT_EQ(dir.ok({"branch"}).out, "  epoch-1\n* trunk\n");
}

TEST(CliBranchTest, Errors) {
  CliDir dir;
  two_commits(dir);
  dir.ok({"branch", "ft"});
  const auto exists = dir.run({"branch", "ft"});
  EXPECT_EQ(exists.exit_code, 4) << exists.err;
  EXPECT_TRUE(contains(exists.err, "coral: error: branch 'ft' already exists")) << exists.err;
  dir.ok({"branch", "-f", "ft", "HEAD~1"});
  EXPECT_EQ(dir.commit_id("ft"), dir.commit_id("HEAD~1"));

  EXPECT_EQ(dir.run({"branch", "-d", "nope"}).exit_code, 3);
  EXPECT_EQ(dir.run({"branch", "-d", "main"}).exit_code, 4);  // checked out
  EXPECT_EQ(dir.run({"branch", "bad..name"}).exit_code, 2);
  EXPECT_EQ(dir.run({"branch", "x", "no-such-rev"}).exit_code, 3);
  EXPECT_EQ(dir.run({"branch", "-d"}).exit_code, 2);
}

TEST(CliBranchTest, UnmergedBranchNeedsCapitalD) {
  CliDir dir;
  two_commits(dir);
  dir.ok({"checkout", "-b", "side"});
  dir.write("side.txt", "s\n");
  dir.ok({"add", "side.txt"});
  dir.ok({"commit", "-m", "side work"});
  dir.ok({"checkout", "main"});
  const auto r = dir.run({"branch", "-d", "side"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  dir.ok({"branch", "-D", "side"});
  EXPECT_EQ(dir.ok({"branch"}).out, "* main\n");
}

TEST(CliTagTest, CreateListAnnotateDelete) {
  CliDir dir;
  two_commits(dir);
  EXPECT_EQ(dir.ok({"tag"}).out, "");
  dir.ok({"tag", "v1"});
  dir.ok({"config", "set", "user.name", "Release Bot"});
  dir.ok({"config", "set", "user.email", "bot@example.com"});
  dir.ok({"tag", "-m", "first release", "v0.9", "HEAD~1"});
  EXPECT_EQ(dir.ok({"tag"}).out, "v0.9\nv1\n");

  const auto j = json::parse(dir.ok({"--json", "tag"}).out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j.at(0).at("name"), "v0.9");
  EXPECT_EQ(j.at(0).at("commit"), dir.commit_id("HEAD~1"));
  EXPECT_EQ(j.at(0).at("annotation").at("message"), "first release");
  EXPECT_EQ(j.at(0).at("annotation").at("tagger"), "Release Bot");
  EXPECT_EQ(j.at(0).at("annotation").at("email"), "bot@example.com");
  EXPECT_EQ(j.at(1).at("name"), "v1");
  EXPECT_EQ(j.at(1).at("commit"), dir.commit_id("HEAD"));
  EXPECT_EQ(j.at(1).at("annotation"), nullptr);
  EXPECT_EQ(dir.commit_id("v0.9"), dir.commit_id("HEAD~1"));  // an annotated tag resolves to its commit

  const auto exists = dir.run({"tag", "v1", "HEAD~1"});
  EXPECT_EQ(exists.exit_code, 4) << exists.err;
  dir.ok({"tag", "-f", "v1", "HEAD~1"});
  EXPECT_EQ(dir.commit_id("v1"), dir.commit_id("HEAD~1"));

  EXPECT_EQ(dir.ok({"tag", "-d", "v1"}).out, "Deleted tag 'v1'\n");
  EXPECT_EQ(dir.ok({"tag"}).out, "v0.9\n");
  EXPECT_EQ(dir.run({"tag", "-d", "v1"}).exit_code, 3);
  EXPECT_EQ(dir.run({"tag", "-m", "no name"}).exit_code, 2);
}
