// fsck from the command line: the summary and exit 0 on a clean repository, 'error:' lines and
// exit 6 on a damaged one, the --json shape, and --rebuild-index repairing the lookup table.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace coral::test;
using nlohmann::json;

namespace {

// Removes every pack file of the repository.
void remove_packs(const CliDir& dir) {
  std::vector<std::filesystem::path> packs;
  for (const auto& e : std::filesystem::directory_iterator(dir / ".coral/packs"))
    if (e.path().extension() == ".h5") packs.push_back(e.path());
  ASSERT_FALSE(packs.empty());
  for (const auto& p : packs) std::filesystem::remove(p);
}

TEST(FsckCliTest, ACleanRepositoryExitsZeroWithASummary) {
  CliDir dir;
  dir.init_and_commit_model();
  const RunResult r = dir.ok({"fsck"});
  EXPECT_TRUE(contains(r.out, "checked 1 commit, 1 tree, ")) << r.out;
  EXPECT_TRUE(contains(r.out, " in 1 pack: no problems\n")) << r.out;
  const RunResult full = dir.ok({"fsck", "--full"});
  EXPECT_TRUE(contains(full.out, "(full: decoded and hashed)")) << full.out;
}

TEST(FsckCliTest, ADamagedRepositoryExitsSixNamingTheProblem) {
  CliDir dir;
  dir.init_and_commit_model();
  remove_packs(dir);
  const RunResult r = dir.run({"fsck"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_TRUE(contains(r.out, "error: object ")) << r.out;
  EXPECT_TRUE(contains(r.out, " is missing (ref refs/heads/main, commit ")) << r.out;
  EXPECT_TRUE(contains(r.out, "path model/model-00001-of-00002.safetensors, tensor layer.0.weight)")) << r.out;
  EXPECT_TRUE(contains(r.out, "is listed in the lookup table but missing")) << r.out;
  EXPECT_TRUE(contains(r.err, "coral: error: fsck found ")) << r.err;
}

TEST(FsckCliTest, JsonListsEveryProblemWithItsFields) {
  CliDir dir;
  dir.init_and_commit_model();
  const json clean = json::parse(dir.ok({"--json", "fsck"}).out);
  EXPECT_EQ(clean.at("ok"), true);
  EXPECT_EQ(clean.at("commits"), 1);
  EXPECT_EQ(clean.at("trees"), 1);
  EXPECT_GT(clean.at("objects").get<int>(), 3);
  EXPECT_EQ(clean.at("packs"), 1);
  EXPECT_EQ(clean.at("full"), false);
  EXPECT_TRUE(clean.at("rebuilt").is_null());
  EXPECT_EQ(clean.at("problems"), json::array());

  const std::string commit = dir.commit_id("HEAD");
  remove_packs(dir);
  const RunResult r = dir.run({"fsck", "--json", "--full"});
  EXPECT_EQ(r.exit_code, 6);
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("ok"), false);
  EXPECT_EQ(j.at("full"), true);
  EXPECT_EQ(j.at("packs"), 0);
  const json& problems = j.at("problems");
  ASSERT_EQ(problems.size(), j.at("objects").get<std::size_t>() + 1);  // each object, and the pack
  for (const auto& p : problems) {
    for (const char* key : {"kind", "object", "commit", "ref", "path", "tensor", "pack", "message"})
      EXPECT_TRUE(p.contains(key)) << key << " in " << p.dump();
  }
  const json& first = problems.at(0);
  EXPECT_EQ(first.at("kind"), "missing");
  EXPECT_EQ(first.at("commit"), commit);
  EXPECT_EQ(first.at("ref"), "refs/heads/main");
  EXPECT_TRUE(first.at("path").is_string());
  const json& last = problems.back();
  EXPECT_EQ(last.at("kind"), "lookup");
  EXPECT_TRUE(last.at("object").is_null());
  EXPECT_TRUE(last.at("pack").is_string());
}

TEST(FsckCliTest, RebuildIndexRepairsAMissingLookupTable) {
  CliDir dir;
  dir.init_and_commit_model();
  std::filesystem::remove(dir / ".coral/packs/lookup");
  const RunResult broken = dir.run({"fsck"});
  EXPECT_EQ(broken.exit_code, 6);
  EXPECT_TRUE(contains(broken.out, "error: pack lookup table ")) << broken.out;
  EXPECT_TRUE(contains(broken.out, "is missing")) << broken.out;
  EXPECT_FALSE(std::filesystem::exists(dir / ".coral/packs/lookup"));  // fsck alone writes nothing

  const RunResult fixed = dir.ok({"fsck", "--rebuild-index"});
  EXPECT_TRUE(contains(fixed.out, "rebuilt the pack lookup table (1 pack) and the similarity index (")) << fixed.out;
  EXPECT_TRUE(contains(fixed.out, ": no problems\n")) << fixed.out;
  EXPECT_TRUE(std::filesystem::exists(dir / ".coral/packs/lookup"));
  const json j = json::parse(dir.ok({"--json", "fsck", "--rebuild-index"}).out);
  EXPECT_EQ(j.at("rebuilt").at("packs"), 1);
  EXPECT_TRUE(j.at("rebuilt").at("similarity_error").is_null());
  dir.ok({"fsck"});
}

}  // namespace
