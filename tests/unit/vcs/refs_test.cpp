#include "coral/vcs/refs.hpp"

#include "coral/core/error.hpp"

#include <gtest/gtest.h>

using coral::vcs::validate_ref_name;

TEST(RefsTest, ValidNames) {
  for (const char* n : {"main", "feature/x", "v1.2", "ft-de", "epoch_7", "a/b/c"}) EXPECT_NO_THROW(validate_ref_name(n)) << n;
}

TEST(RefsTest, InvalidNamesLikeGit) {
  for (const char* n : {"", "-x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "x.lock", "a/x.lock", "/a",
                        "a/", "a.", ".a", "a/.b", "a//b", "@", "a@{1}", "HEAD"})
    EXPECT_THROW(validate_ref_name(n), coral::UsageError) << n;
  EXPECT_THROW(validate_ref_name(std::string("a\x01")), coral::UsageError);
  EXPECT_THROW(validate_ref_name(std::string("a\x7f")), coral::UsageError);
}
