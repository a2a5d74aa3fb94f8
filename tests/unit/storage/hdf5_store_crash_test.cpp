// Hdf5Store under SIGKILL and under concurrent writer processes. Children are forked from the
// test process and killed from outside (leveldb-style fault injection).

#include "coral/storage/hdf5_store.hpp"

#include "storage/lookup_table.hpp"
#include "support/temp_dir.hpp"
#include "unit/storage/store_test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <random>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace coral::storage {
namespace {

using coral::test::TempDir;

constexpr int k_objects_per_batch = 40;

test::TestObject batch_object(int run, int batch, int i) {
  const auto seed = static_cast<std::uint64_t>(run) * 1000000 + static_cast<std::uint64_t>(batch) * 1000 +
                    static_cast<std::uint64_t>(i);
  return test::make_object(seed, 1 + seed * 7919 % 20000);
}

// Appends "run batch\n" durably once a batch's commit() has returned.
void record_commit(const std::filesystem::path& progress, int run, int batch) {
  const std::string line = std::to_string(run) + " " + std::to_string(batch) + "\n";
  const int fd = ::open(progress.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd) != 0)
    ::_exit(4);
  ::close(fd);
}

// The child: commits batches until it is killed (or `batches` are done). Never returns.
[[noreturn]] void write_batches(const Layout& layout, const std::filesystem::path& progress, int run, int batches) {
  try {
    Hdf5Store store(layout, {.max_pack_bytes = 200000});  // several packs per batch
    for (int batch = 0; batch < batches; ++batch) {
      auto writer = store.begin_write();
      for (int i = 0; i < k_objects_per_batch; ++i) {
        const auto o = batch_object(run, batch, i);
        writer->put(o.info, o.data);
      }
      writer->commit();
      record_commit(progress, run, batch);
    }
    ::_exit(0);
  } catch (...) {
    ::_exit(3);
  }
}

std::set<std::pair<int, int>> read_progress(const std::filesystem::path& progress) {
  std::set<std::pair<int, int>> done;
  if (!std::filesystem::exists(progress)) return done;
  std::istringstream in(coral::test::read_file(progress));
  int run = 0, batch = 0;
  while (in >> run >> batch) done.insert({run, batch});
  return done;
}

void expect_batches_readable(const Layout& layout, const std::set<std::pair<int, int>>& committed) {
  Hdf5Store store(layout);
  for (const auto& [run, batch] : committed)
    for (int i = 0; i < k_objects_per_batch; ++i) {
      const auto o = batch_object(run, batch, i);
      ASSERT_TRUE(store.has(o.info.id)) << "run " << run << " batch " << batch << " object " << i;
      ASSERT_TRUE(store.get(o.info.id).data == o.data) << "run " << run << " batch " << batch << " object " << i;
    }
  // Every object the store lists (including those of interrupted batches) reads back whole.
  for (const ObjectInfo& info : store.list()) ASSERT_EQ(store.get(info.id).data.size(), info.stored_size);
}

TEST(Hdf5StoreCrashTest, KilledWriterLeavesStoreReadable) {
  TempDir dir;
  const Layout layout(dir / ".coral");
  const auto progress = dir / "committed";
  std::mt19937 rng(20240601);
  std::set<std::pair<int, int>> committed;
  for (int run = 0; run < 10; ++run) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) write_batches(layout, progress, run, 1 << 30);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 400)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with status " << WEXITSTATUS(status);
    const auto now = read_progress(progress);
    std::printf("[ info ] run %d: killed after %zu committed batches\n", run, now.size() - committed.size());
    committed = now;
    expect_batches_readable(layout, committed);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(committed.size(), 0u) << "no batch ever committed: the kills came too early to test anything";
}

TEST(Hdf5StoreCrashTest, ConcurrentWriterProcessesMergeTheLookup) {
  TempDir dir;
  const Layout layout(dir / ".coral");
  const auto progress = dir / "committed";
  constexpr int k_writers = 3, k_batches = 6;
  std::vector<pid_t> children;
  for (int w = 0; w < k_writers; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) write_batches(layout, progress, w, k_batches);
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer failed, status " << status;
  }
  const auto committed = read_progress(progress);
  ASSERT_EQ(committed.size(), static_cast<std::size_t>(k_writers * k_batches));
  expect_batches_readable(layout, committed);
  // The table on disk lists every pack: no writer's merge lost another's packs.
  const auto parsed = LookupTable::parse(coral::test::read_file(layout.lookup()), layout.lookup());
  ASSERT_TRUE(parsed.table.has_value()) << parsed.problem;
  EXPECT_EQ(parsed.table->packs().size(), Hdf5Store(layout).list_packs().size());
  EXPECT_EQ(parsed.table->entries().size(), static_cast<std::size_t>(k_writers * k_batches * k_objects_per_batch));
}

}  // namespace
}  // namespace coral::storage
