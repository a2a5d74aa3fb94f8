#pragma once
// A gtest fixture with a fresh repository in a TempDir, which is also the current directory for
// the test (paths given to vcs operations are relative to it, as on the command line).

#include "coral/vcs/repository.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <memory>

namespace coral::test {

class RepoTest : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  TempDir dir;
  std::unique_ptr<vcs::Repository> repo;

private:
  std::filesystem::path m_old_cwd;
};

}  // namespace coral::test
