// SIGKILL `coral add` and `coral commit` at random moments (from outside, like leveldb's fault
// injection); afterwards log, status and a checkout of HEAD must work and give back exactly the
// last completed commit.

#include "support/checkpoint.hpp"
#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <signal.h>

using namespace coral::test;
namespace stdfs = std::filesystem;

namespace {

using Snapshot = std::map<std::string, std::string>;  // path -> bytes

Snapshot snapshot(const stdfs::path& dir) {
  Snapshot s;
  for (const auto& e : stdfs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) s[e.path().lexically_relative(dir).generic_string()] = read_file(e.path());
  return s;
}

struct Repo {
  TempDir dir;
  RunOptions opts() const { return {.cwd = dir.path()}; }
  RunResult run(const std::vector<std::string>& args) const { return run_coral(args, opts()); }
  std::string head_id() const {
    const auto r = run({"log", "-n", "1", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    return j.empty() ? "" : j[0]["id"].get<std::string>();
  }
};

long time_micros(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
}

// After a kill: log works, status works, and a forced checkout of HEAD reproduces `expected`.
void expect_recovers_to(const Repo& repo, const std::string& head, const Snapshot& expected) {
  EXPECT_EQ(repo.head_id(), head);
  const auto st = repo.run({"status", "--porcelain"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  const auto co = repo.run({"checkout", "--force", "HEAD"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(snapshot(repo.dir / "ckpt"), expected);
}

}  // namespace

TEST(CrashTest, KilledAddLeavesLastCommitIntact) {
  Repo repo;
  ASSERT_EQ(repo.run({"init"}).exit_code, 0);
  write_checkpoint_dir(repo.dir / "ckpt", 0, 1 << 17);
  ASSERT_EQ(repo.run({"add", "ckpt"}).exit_code, 0);
  ASSERT_EQ(repo.run({"commit", "-m", "epoch 0"}).exit_code, 0);
  std::string head = repo.head_id();
  Snapshot committed = snapshot(repo.dir / "ckpt");

  std::mt19937_64 rng(42);
  long full = time_micros([&] {
    write_checkpoint_dir(repo.dir / "ckpt", 1, 1 << 17);
    repo.run({"add", "ckpt"});
  });
  ASSERT_EQ(repo.run({"commit", "-m", "epoch 1"}).exit_code, 0);
  head = repo.head_id();
  committed = snapshot(repo.dir / "ckpt");

  int killed = 0;
  for (int i = 0; i < 20; ++i) {
    write_checkpoint_dir(repo.dir / "ckpt", 2 + i, 1 << 17);
    const long at = std::uniform_int_distribution<long>(0, full)(rng);
    const int pid = spawn_coral({"add", "ckpt"}, repo.opts());
    const int code = kill_after(pid, at);
    killed += code == 128 + 9;
    SCOPED_TRACE("round " + std::to_string(i) + ", kill at " + std::to_string(at) + "us, exit " + std::to_string(code));
    expect_recovers_to(repo, head, committed);
  }
  EXPECT_GT(killed, 0) << "no add was killed mid-way; the kill window is wrong";
}

TEST(CrashTest, KilledCommitLeavesACompleteCommit) {
  Repo repo;
  ASSERT_EQ(repo.run({"init"}).exit_code, 0);
  write_checkpoint_dir(repo.dir / "ckpt", 0, 1 << 15);
  ASSERT_EQ(repo.run({"add", "ckpt"}).exit_code, 0);
  ASSERT_EQ(repo.run({"commit", "-m", "epoch 0"}).exit_code, 0);
  std::string head = repo.head_id();
  Snapshot committed = snapshot(repo.dir / "ckpt");
  const long full = time_micros([&] { repo.run({"commit", "--allow-empty", "-m", "probe"}); });
  head = repo.head_id();

  std::mt19937_64 rng(7);
  int landed = 0, killed = 0;
  for (int i = 0; i < 20; ++i) {
    write_checkpoint_dir(repo.dir / "ckpt", 1 + i, 1 << 15);
    ASSERT_EQ(repo.run({"add", "ckpt"}).exit_code, 0);
    const Snapshot staged = snapshot(repo.dir / "ckpt");
    const long at = std::uniform_int_distribution<long>(0, full)(rng);
    const int code = kill_after(spawn_coral({"commit", "-m", "epoch " + std::to_string(i + 1)}, repo.opts()), at);
    killed += code == 128 + 9;
    const std::string now = repo.head_id();
    SCOPED_TRACE("round " + std::to_string(i) + ", exit " + std::to_string(code));
    if (code == 0) {
      EXPECT_NE(now, head) << "commit said 0 but HEAD did not move";
    }
    if (now != head) {  // the commit completed before the kill
      ++landed;
      head = now;
      committed = staged;
    }
    expect_recovers_to(repo, head, committed);
  }
  EXPECT_GT(killed, 0);
  std::printf("killed %d commits, %d landed before the kill\n", killed, landed);
}

TEST(CrashTest, InterruptedAddExits130AndStagesNothing) {
  Repo repo;
  ASSERT_EQ(repo.run({"init"}).exit_code, 0);
  write_checkpoint_dir(repo.dir / "ckpt", 0, 1 << 18);
  ASSERT_EQ(repo.run({"add", "ckpt"}).exit_code, 0);
  ASSERT_EQ(repo.run({"commit", "-m", "epoch 0"}).exit_code, 0);
  const std::string head = repo.head_id();
  const Snapshot committed = snapshot(repo.dir / "ckpt");
  int interrupted = 0;
  for (int i = 0; i < 5 && interrupted == 0; ++i) {
    write_checkpoint_dir(repo.dir / "ckpt", 1 + i, 1 << 18);
    const int code = kill_after(spawn_coral({"add", "ckpt"}, repo.opts()), 5000 + 5000 * i, SIGINT);
    if (code == 0) continue;  // finished before the signal; try again with new data
    EXPECT_EQ(code, 130);
    ++interrupted;
    const auto st = repo.run({"status", "--porcelain"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    EXPECT_EQ(st.out.find("M  "), std::string::npos) << "an interrupted add staged something:\n" << st.out;
  }
  EXPECT_EQ(interrupted, 1) << "no add was interrupted";
  expect_recovers_to(repo, head, committed);
}
