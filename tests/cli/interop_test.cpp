// Files written by real tools (numpy's save/savez/savez_compressed, Fortran order, big-endian;
// safetensors from torch with F32/F16/BF16/I64/U8/BOOL, zero-size tensors and __metadata__) go
// through add, commit and checkout byte-identically, and coral finds their tensors.

#include "support/fixtures.hpp"
#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>

using namespace coral::test;
namespace stdfs = std::filesystem;

TEST(InteropTest, RealToolFilesRoundTripByteIdentically) {
  TempDir dir;
  const RunOptions o{.cwd = dir.path()};
  ASSERT_EQ(run_coral({"init"}, o).exit_code, 0);
  stdfs::create_directory(dir / "fixtures");
  if (auto skip = make_real_tool_fixtures(dir / "fixtures")) GTEST_SKIP() << *skip;
  std::map<std::string, std::string> originals;
  for (const auto& e : stdfs::recursive_directory_iterator(dir / "fixtures"))
    if (e.is_regular_file()) originals[e.path().lexically_relative(dir.path()).generic_string()] = read_file(e.path());
  ASSERT_GT(originals.size(), 10u);

  const auto add = run_coral({"add", "fixtures"}, o);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  ASSERT_EQ(run_coral({"commit", "-m", "fixtures"}, o).exit_code, 0);
  // coral saw tensors in them, not only whole files.
  const auto show = run_coral({"--json", "show", "HEAD:fixtures/model.safetensors"}, o);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const std::string listing = nlohmann::json::parse(show.out).dump();
  for (const char* dtype : {"\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"U8\"", "\"BOOL\""})
    EXPECT_NE(listing.find(dtype), std::string::npos) << dtype << " missing from " << show.out;
  stdfs::remove_all(dir / "fixtures");
  const auto co = run_coral({"checkout", "--force", "HEAD"}, o);
  ASSERT_EQ(co.exit_code, 0) << co.err;
  for (const auto& [path, bytes] : originals) {
    ASSERT_TRUE(stdfs::exists(dir / path)) << path;
    EXPECT_EQ(read_file(dir / path), bytes) << path;
  }
  EXPECT_EQ(run_coral({"status", "--porcelain"}, o).out, "");
}
