#pragma once
// A gtest fixture with a fresh repository in a TempDir, which is also the current directory for
// the test (paths given to vcs operations are relative to it, as on the command line).

#include "coral/core/object_id.hpp"
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

  // Flips one bit in the middle of a data object's stored bytes inside its pack file (with the
  // repository closed: HDF5 caches what it read), then reopens the repository.
  void damage_object(const core::ObjectId& id);

  TempDir dir;
  std::unique_ptr<vcs::Repository> repo;

private:
  std::filesystem::path m_old_cwd;
};

}  // namespace coral::test
