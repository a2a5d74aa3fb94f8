#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

using namespace coral::test;

TEST(CliVersionTest, PrintsVersionAndExitsZero) {
  TempDir dir;
  const auto r = run_coral({"--version"}, {.cwd = dir.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("coral "), std::string::npos) << r.out;
}
