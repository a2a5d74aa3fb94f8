#include "vcs/paths.hpp"

#include "coral/core/error.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>

using namespace coral::vcs;
using coral::test::TempDir;

TEST(PathsTest, AcceptsPlainRelativePaths) {
  EXPECT_FALSE(unsafe_path_reason("model.safetensors"));
  EXPECT_FALSE(unsafe_path_reason("ckpt/epoch-1/model-00001-of-00002.safetensors"));
  EXPECT_FALSE(unsafe_path_reason(".coralignore"));
  EXPECT_FALSE(unsafe_path_reason("a/.coralignore"));
}

TEST(PathsTest, RejectsUnsafePaths) {
  for (const char* p : {"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", ".coral", ".coral/HEAD", "a\\b", "a/.coral", "sub/.coral/config.toml"})
    EXPECT_TRUE(unsafe_path_reason(p).has_value()) << p;
  EXPECT_TRUE(unsafe_path_reason(std::string("a\0b", 3)).has_value());
  EXPECT_THROW(check_stored_path("../../etc/passwd"), coral::CorruptError);
}

TEST(PathsTest, UserPathsAreMadeRelativeToTheWorktree) {
  TempDir dir;
  std::filesystem::create_directories(dir / "ckpt");
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir / "ckpt");
  EXPECT_EQ(to_repo_path(dir.path(), "model.safetensors"), "ckpt/model.safetensors");
  EXPECT_EQ(to_repo_path(dir.path(), "."), "ckpt");
  EXPECT_EQ(to_repo_path(dir.path(), ".."), "");
  EXPECT_THROW(to_repo_path(dir.path(), "../.."), coral::UsageError);
  EXPECT_THROW(to_repo_path(dir.path(), "../.coral/HEAD"), coral::UsageError);
  std::filesystem::current_path(old);
}

TEST(PathsTest, SymlinkLeadingOutsideIsRejected) {
  TempDir outside, dir;
  std::filesystem::create_directory_symlink(outside.path(), dir / "link");
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  EXPECT_THROW(to_repo_path(dir.path(), "link/file"), coral::UsageError);
  std::filesystem::current_path(old);
}

TEST(PathsTest, WriteRefusesSymlinkedParent) {
  TempDir outside, dir;
  std::filesystem::create_directory_symlink(outside.path(), dir / "ckpt");
  EXPECT_THROW(worktree_path_for_write(dir.path(), "ckpt/model.bin"), coral::ConflictError);
  EXPECT_EQ(worktree_path_for_write(dir.path(), "other/model.bin"), dir / "other/model.bin");
  EXPECT_THROW(worktree_path_for_write(dir.path(), "../escape"), coral::CorruptError);
}
