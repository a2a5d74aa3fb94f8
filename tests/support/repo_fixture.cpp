#include "support/repo_fixture.hpp"

namespace coral::test {

void RepoTest::SetUp() {
  m_old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  repo = std::make_unique<vcs::Repository>(vcs::Repository::init(dir.path(), {.start_dir = dir.path(), .jobs = 2}));
}

void RepoTest::TearDown() { std::filesystem::current_path(m_old_cwd); }

}  // namespace coral::test
