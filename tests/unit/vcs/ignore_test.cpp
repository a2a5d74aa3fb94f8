#include "vcs/ignore.hpp"

#include <gtest/gtest.h>

using namespace coral::vcs;

TEST(IgnoreTest, GlobBasics) {
  EXPECT_TRUE(glob_match("*.tmp", "a.tmp"));
  EXPECT_FALSE(glob_match("*.tmp", "dir/a.tmp"));  // '*' does not cross '/'
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_TRUE(glob_match("[ab]x", "bx"));
  EXPECT_FALSE(glob_match("[!ab]x", "bx"));
  EXPECT_TRUE(glob_match("[0-9].bin", "7.bin"));
  EXPECT_TRUE(glob_match("**/x", "x"));
  EXPECT_TRUE(glob_match("**/x", "a/b/x"));
  EXPECT_TRUE(glob_match("a/**/b", "a/b"));
  EXPECT_TRUE(glob_match("a/**/b", "a/x/y/b"));
  EXPECT_TRUE(glob_match("a/**", "a/x/y"));
  EXPECT_FALSE(glob_match("a/**/b", "c/a/b"));
}

TEST(IgnoreTest, GitignoreSemantics) {
  IgnoreRules r;
  r.add_pattern("# comment");
  r.add_pattern("*.log");
  r.add_pattern("!keep.log");
  r.add_pattern("/optimizer/");
  r.add_pattern("cache/");
  r.add_pattern("ckpt/*.pt");
  EXPECT_TRUE(r.ignored("train.log", false));
  EXPECT_TRUE(r.ignored("sub/train.log", false));  // no slash: matches at any depth
  EXPECT_FALSE(r.ignored("keep.log", false));      // negation, last match wins
  EXPECT_TRUE(r.ignored("optimizer", true));
  EXPECT_FALSE(r.ignored("optimizer", false));     // trailing '/': directories only
  EXPECT_FALSE(r.ignored("sub/optimizer", true));  // leading '/': anchored
  EXPECT_TRUE(r.ignored("sub/cache", true));
  EXPECT_TRUE(r.ignored("ckpt/x.pt", false));
  EXPECT_FALSE(r.ignored("other/ckpt/x.pt", false));  // inner '/': anchored
  EXPECT_FALSE(r.ignored("model.safetensors", false));
  EXPECT_TRUE(r.ignored(".coral", true));
}
