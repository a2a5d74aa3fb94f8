// Lock waits are bounded: a writer that cannot get the repository lock within --lock-wait exits 5
// and names the holder; readers take no lock.

#include "coral/core/file_lock.hpp"
#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace coral::test;

TEST(LockTest, WriterTimesOutWithExit5NamingTheHolder) {
  TempDir dir;
  const RunOptions o{.cwd = dir.path()};
  ASSERT_EQ(run_coral({"init"}, o).exit_code, 0);
  ASSERT_EQ(run_coral({"commit", "--allow-empty", "-m", "root"}, o).exit_code, 0);
  // Hold the gc lock exclusively, as `coral gc` would.
  auto lock = coral::core::FileLock::acquire(dir / ".coral/locks/gc.lock", coral::core::LockMode::exclusive, 0,
                                             "repository", "gc");
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_coral({"commit", "--allow-empty", "-m", "blocked", "--lock-wait", "0.3"}, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("coral: error: repository is locked by 'coral gc' (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
  EXPECT_GE(secs, 0.3);
  EXPECT_LT(secs, 10);
  // Readers do not wait.
  const auto log = run_coral({"log", "--oneline"}, o);
  EXPECT_EQ(log.exit_code, 0) << log.err;
  EXPECT_EQ(log.out.find("blocked"), std::string::npos);
  lock.release();
  EXPECT_EQ(run_coral({"commit", "--allow-empty", "-m", "free", "--lock-wait", "0"}, o).exit_code, 0);
}

TEST(LockTest, NewerFormatVersionIsRefused) {
  TempDir dir;
  const RunOptions o{.cwd = dir.path()};
  ASSERT_EQ(run_coral({"init"}, o).exit_code, 0);
  write_file(dir / ".coral/config.toml", "format_version = 99\n");
  const auto r = run_coral({"status"}, o);
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("format version 99 is newer"), std::string::npos) << r.err;
}
