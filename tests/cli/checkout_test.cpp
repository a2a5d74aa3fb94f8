// checkout: byte-identical restores, branches, detached HEAD, revision syntax, refusing to
// clobber local changes, and restoring single paths.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

using namespace coral::test;
using nlohmann::json;

namespace {

const std::string k_shard1 = "model/model-00001-of-00002.safetensors";

// Two commits on main: "epoch 1" (the files of write_model()) and "epoch 2" (shard 1 changed,
// config.json changed, notes.txt added).
void two_commits(const CliDir& dir) {
  dir.init_and_commit_model();
  dir.write_model(0.5f, "{\"hidden\": 3}\n");
  dir.write("notes.txt", "epoch 2 notes\n");
  dir.ok({"add", "model", "notes.txt"});
  dir.ok({"commit", "-m", "epoch 2"});
}

}  // namespace

TEST(CliCheckoutTest, OlderCommitIsByteIdenticalAndBranchComesBack) {
  CliDir dir;
  two_commits(dir);
  const std::string v2_shard = dir.read(k_shard1);

  const auto r = dir.ok({"checkout", "HEAD~1"});
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(std::regex_search(r.err, std::regex("HEAD is now at [0-9a-f]{8} epoch 1\n"))) << r.err;
  EXPECT_EQ(dir.read(k_shard1), safetensors_bytes(shard1()));
  EXPECT_EQ(dir.read("model/model-00002-of-00002.safetensors"), safetensors_bytes(shard2()));
  EXPECT_EQ(dir.read("model/config.json"), "{\"hidden\": 2}\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "notes.txt"));  // not in epoch 1
  EXPECT_TRUE(std::filesystem::exists(dir / "model/optimizer.tmp"));  // ignored files are left alone
  EXPECT_TRUE(contains(dir.ok({"status"}).out, "HEAD detached at " + dir.commit_id("HEAD").substr(0, 8)));
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");

  const auto back = dir.ok({"checkout", "main"});
  EXPECT_TRUE(contains(back.err, "Switched to branch 'main'")) << back.err;
  EXPECT_EQ(dir.read(k_shard1), v2_shard);
  EXPECT_EQ(dir.read("notes.txt"), "epoch 2 notes\n");
  EXPECT_TRUE(contains(dir.ok({"status"}).out, "On branch main\n"));
}

TEST(CliCheckoutTest, NewBranchWithDashB) {
  CliDir dir;
  two_commits(dir);
  const auto r = dir.ok({"checkout", "-b", "exp"});
  EXPECT_TRUE(contains(r.err, "Switched to a new branch 'exp'")) << r.err;
  EXPECT_EQ(dir.ok({"branch"}).out, "* exp\n  main\n");
  EXPECT_EQ(dir.commit_id("exp"), dir.commit_id("main"));

  dir.ok({"checkout", "-b", "old", "main~1"});
  EXPECT_EQ(dir.commit_id("HEAD"), dir.commit_id("main~1"));
  EXPECT_EQ(dir.read(k_shard1), safetensors_bytes(shard1()));
  const auto exists = dir.run({"checkout", "-b", "exp"});
  EXPECT_EQ(exists.exit_code, 4) << exists.err;
}

TEST(CliCheckoutTest, JsonPrintsTheNewHead) {
  CliDir dir;
  two_commits(dir);
  const auto j = json::parse(dir.ok({"--json", "checkout", "HEAD~1"}).out);
  EXPECT_EQ(j.at("branch"), nullptr);
  EXPECT_EQ(j.at("detached"), true);
  EXPECT_EQ(j.at("commit"), dir.commit_id("main~1"));
  EXPECT_GE(j.at("files_written").get<int>(), 2);
  EXPECT_EQ(j.at("files_removed"), 1);
  const auto back = json::parse(dir.ok({"checkout", "main", "--json"}).out);
  EXPECT_EQ(back.at("branch"), "main");
  EXPECT_EQ(back.at("detached"), false);
}

TEST(CliCheckoutTest, RevisionSyntax) {
  CliDir dir;
  two_commits(dir);
  dir.write("third.txt", "3\n");
  dir.ok({"add", "third.txt"});
  dir.ok({"commit", "-m", "epoch 3"});
  const auto oneline = dir.ok({"log", "--oneline"}).out;  // newest first
  const std::string c3 = oneline.substr(0, 8);
  const std::string c2 = oneline.substr(oneline.find('\n') + 1, 8);
  const std::string c1 = oneline.substr(oneline.rfind('\n', oneline.size() - 2) + 1, 8);
  auto first_of = [&](const std::string& rev) { return dir.commit_id(rev).substr(0, 8); };
  EXPECT_EQ(first_of("HEAD"), c3);
  EXPECT_EQ(first_of("HEAD~1"), c2);
  EXPECT_EQ(first_of("HEAD^"), c2);
  EXPECT_EQ(first_of("HEAD~2"), c1);
  EXPECT_EQ(first_of("HEAD^^"), c1);
  EXPECT_EQ(first_of("main~1^"), c1);
  EXPECT_EQ(first_of(c2), c2);                 // unique 8-digit prefix
  EXPECT_EQ(first_of(dir.commit_id(c1)), c1);  // full id
  dir.ok({"tag", "v1", "HEAD~2"});
  EXPECT_EQ(first_of("v1"), c1);
  EXPECT_EQ(dir.run({"log", "HEAD~3"}).exit_code, 3);
  EXPECT_EQ(dir.run({"log", "nope"}).exit_code, 3);
}

TEST(CliCheckoutTest, CommitOnDetachedHead) {
  CliDir dir;
  two_commits(dir);
  const std::string main_before = dir.commit_id("main");
  dir.ok({"checkout", "HEAD~1"});
  dir.write("model/config.json", "{\"hidden\": 7}\n");
  const auto r = dir.ok({"commit", "-a", "-m", "side experiment"});
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^\\[detached HEAD [0-9a-f]{8}\\] side experiment\n"))) << r.out;
  EXPECT_EQ(dir.ok({"log", "--oneline", "-n", "1"}).out.substr(9), "side experiment\n");
  EXPECT_EQ(dir.commit_id("main"), main_before);
  EXPECT_EQ(dir.commit_id("HEAD~1"), dir.commit_id("main~1"));
}

TEST(CliCheckoutTest, RefusesToClobberLocalChangesUnlessForced) {
  CliDir dir;
  two_commits(dir);
  write_safetensors(dir / k_shard1, shard1(9.0f));  // local edit of a file that differs in HEAD~1
  const std::string local = dir.read(k_shard1);
  const std::string head = dir.commit_id("HEAD");

  const auto r = dir.run({"checkout", "HEAD~1"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "coral: error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, k_shard1)) << r.err;
  EXPECT_EQ(dir.read(k_shard1), local);
  EXPECT_EQ(dir.commit_id("HEAD"), head);

  dir.ok({"checkout", "--force", "HEAD~1"});
  EXPECT_EQ(dir.read(k_shard1), safetensors_bytes(shard1()));
}

TEST(CliCheckoutTest, ForceHeadRestoresDeletedAndChangedFiles) {
  CliDir dir;
  two_commits(dir);
  const std::string shard = dir.read(k_shard1);
  std::filesystem::remove(dir / "notes.txt");
  dir.write("model/config.json", "broken");
  dir.ok({"checkout", "-f", "HEAD"});
  EXPECT_EQ(dir.read("notes.txt"), "epoch 2 notes\n");
  EXPECT_EQ(dir.read("model/config.json"), "{\"hidden\": 3}\n");
  EXPECT_EQ(dir.read(k_shard1), shard);
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
}

TEST(CliCheckoutTest, PathsAfterDashDashRestoreOnlyThoseFiles) {
  CliDir dir;
  two_commits(dir);
  const std::string head = dir.commit_id("HEAD");
  dir.write("model/config.json", "local edit");
  dir.write("notes.txt", "local notes");

  const auto from_index = dir.ok({"checkout", "--", "model/config.json"});
  EXPECT_TRUE(contains(from_index.err, "Updated 1 path from the index")) << from_index.err;
  EXPECT_EQ(dir.read("model/config.json"), "{\"hidden\": 3}\n");
  EXPECT_EQ(dir.read("notes.txt"), "local notes");  // untouched

  dir.ok({"checkout", "HEAD~1", "--", "model/config.json"});
  EXPECT_EQ(dir.read("model/config.json"), "{\"hidden\": 2}\n");
  EXPECT_EQ(dir.commit_id("HEAD"), head);  // HEAD did not move
  EXPECT_TRUE(contains(dir.ok({"status"}).out, "On branch main\n"));

  const auto missing = dir.run({"checkout", "--", "no/such/file"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
}
