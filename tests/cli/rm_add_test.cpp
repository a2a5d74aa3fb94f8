// rm, add -u, and invalid input files: a truncated checkpoint must stop add with exit 7 and
// stage nothing.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace coral::test;
using nlohmann::json;

TEST(CliRmTest, RmDeletesAndUnstages) {
  CliDir dir;
  dir.init_and_commit_model();
  const auto r = dir.ok({"rm", "model/config.json"});
  EXPECT_EQ(r.out, "rm 'model/config.json'\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "model/config.json"));
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "D  model/config.json\n");
  dir.ok({"commit", "-m", "drop config"});
  EXPECT_TRUE(contains(dir.ok({"show"}).out, "\nD\tmodel/config.json\n"));
}

TEST(CliRmTest, RmCachedKeepsTheFile) {
  CliDir dir;
  dir.init_and_commit_model();
  const auto j = json::parse(dir.ok({"--json", "rm", "--cached", "model/config.json"}).out);
  EXPECT_EQ(j.at("removed"), json::array({"model/config.json"}));
  EXPECT_EQ(dir.read("model/config.json"), "{\"hidden\": 2}\n");
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "D  model/config.json\n?? model/config.json\n");
  const auto status = dir.ok({"status"}).out;
  EXPECT_TRUE(contains(status, "\tdeleted:    model/config.json\n")) << status;
  EXPECT_TRUE(contains(status, "Untracked files:\n\tmodel/config.json\n")) << status;
}

TEST(CliRmTest, DirectoriesNeedRecursiveAndChangesNeedForce) {
  CliDir dir;
  dir.init_and_commit_model();
  const auto dir_rm = dir.run({"rm", "model"});
  EXPECT_EQ(dir_rm.exit_code, 2) << dir_rm.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "model/config.json"));

  dir.write("model/config.json", "changed");
  const auto changed = dir.run({"rm", "model/config.json"});
  EXPECT_EQ(changed.exit_code, 4) << changed.err;
  EXPECT_EQ(dir.read("model/config.json"), "changed");
  dir.ok({"rm", "-f", "model/config.json"});
  EXPECT_FALSE(std::filesystem::exists(dir / "model/config.json"));

  const auto rec = dir.ok({"rm", "-r", "model"});
  EXPECT_EQ(rec.out,
            "rm 'model/model-00001-of-00002.safetensors'\n"
            "rm 'model/model-00002-of-00002.safetensors'\n");
  EXPECT_EQ(dir.run({"rm", "not-tracked.txt"}).exit_code, 3);
}

TEST(CliAddTest, UpdateStagesModificationsAndDeletionsOnly) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write("model/config.json", "{\"hidden\": 4}\n");
  std::filesystem::remove(dir / "model/model-00002-of-00002.safetensors");
  dir.write("new.txt", "untracked\n");
  const auto r = dir.ok({"add", "-u"});
  EXPECT_EQ(r.out.rfind("added 0, modified 1, removed 1, unchanged 2 files (", 0), 0u) << r.out;
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out,
            "M  model/config.json\n"
            "D  model/model-00002-of-00002.safetensors\n"
            "?? new.txt\n");
}

TEST(CliAddTest, TruncatedSafetensorsExitsSevenAndStagesNothing) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write("model/config.json", "{\"hidden\": 5}\n");           // a valid change in the same add
  const std::string good = safetensors_bytes(shard2());
  dir.write("model/model-00003-of-00003.safetensors", good.substr(0, good.size() - 4));  // data cut short
  const std::string before = dir.ok({"status", "--porcelain"}).out;

  const auto r = dir.run({"add", "model"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "coral: error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "model-00003-of-00003.safetensors")) << r.err;
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, before);
  EXPECT_EQ(before, " M model/config.json\n?? model/model-00003-of-00003.safetensors\n");

  dir.write("model/model-00003-of-00003.safetensors", good.substr(0, 6));  // not even a header length
  EXPECT_EQ(dir.run({"add", "model/model-00003-of-00003.safetensors"}).exit_code, 7);
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, before);
}
