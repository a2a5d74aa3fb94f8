// Golden repositories (tests/data/golden/v<N>.tar.gz) were written by the coral of format
// version N and are never edited. Every later coral must read them: same log, byte-identical
// checkouts, clean status.

#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace coral::test;
namespace stdfs = std::filesystem;

namespace {

void expect_same_tree(const stdfs::path& expected, const stdfs::path& actual) {
  for (const auto& e : stdfs::recursive_directory_iterator(expected)) {
    if (!e.is_regular_file()) continue;
    const auto rel = e.path().lexically_relative(expected);
    ASSERT_TRUE(stdfs::exists(actual / rel)) << rel;
    EXPECT_EQ(read_file(actual / rel), read_file(e.path())) << rel;
  }
}

}  // namespace

TEST(GoldenTest, Version1RepositoryStillReads) {
  const auto archive = source_dir() / "tests/data/golden/v1.tar.gz";
  ASSERT_TRUE(stdfs::exists(archive)) << archive;
  TempDir dir;
  ASSERT_EQ(run_program({"tar", "-xzf", archive.string(), "-C", dir.path().string()}, {.cwd = dir.path()}).exit_code, 0);
  const RunOptions o{.cwd = dir / "repo"};

  for (const std::string branch : {"main", "finetune"}) {
    const auto r = run_coral({"log", "--json", branch}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto expected = nlohmann::json::parse(read_file(dir / ("expected/log-" + branch + ".json")));
    EXPECT_EQ(nlohmann::json::parse(r.out), expected) << branch;
  }
  const auto st = run_coral({"status", "--porcelain"}, o);
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(st.out, "");
  for (const std::string rev : {"v1", "v2", "finetune"}) {
    const auto r = run_coral({"checkout", "--force", rev}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_tree(dir / "expected" / rev, dir / "repo");
  }
  const auto show = run_coral({"show", "v1:ckpt/model.safetensors"}, o);
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("F16"), std::string::npos) << show.out;
}
