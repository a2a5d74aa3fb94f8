// Regression tests for data-safety bugs found in review: each failed before its fix.

#include "coral/core/error.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/storage/object_store.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"
#include "vcs/index.hpp"
#include "vcs/paths.hpp"

#include <atomic>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <random>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace coral;
using namespace coral::vcs;
using coral::test::TempDir;
namespace stdfs = std::filesystem;

namespace {

class SafetyTest : public test::RepoTest {
protected:
  Commit commit_all(const std::string& msg) {
    add(*repo, {.paths = {"."}});
    return commit(*repo, {.message = msg}).commit;
  }
  void set_mtime(const stdfs::path& p, std::int64_t ns) {
    const timespec ts[2] = {{ns / 1'000'000'000, ns % 1'000'000'000}, {ns / 1'000'000'000, ns % 1'000'000'000}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  }
};

}  // namespace

// A cache entry that was racy (file mtime not older than the index) must not become trusted just
// because a later command rewrote the index (git's racy-entry smudging).
TEST_F(SafetyTest, RacyStatEntryStaysUntrustedAcrossIndexRewrites) {
  test::write_file(dir / "f", "AAAA");
  add(*repo, {.paths = {"f"}});
  const std::int64_t t = std::int64_t{1'800'000'000} * 1'000'000'000;
  StatInfo racy = *stat_file(dir / "f");
  racy.mtime_ns = t + 1;  // as if written in the same tick as the index
  {
    auto lock = repo->lock_index();
    Index index = Index::load(*repo);
    IndexEntry e = *index.find("f");
    e.stat = racy;
    index.upsert(e);
    index.save(*repo);
  }
  set_mtime(repo->layout().index(), t);
  EXPECT_FALSE(Index::load(*repo).stat_clean(*Index::load(*repo).find("f"), racy));
  {
    auto lock = repo->lock_index();
    Index index = Index::load(*repo);  // an unrelated command rewrites the index later
    index.save(*repo);
  }
  set_mtime(repo->layout().index(), t + 5'000'000'000);
  const Index later = Index::load(*repo);
  EXPECT_FALSE(later.stat_clean(*later.find("f"), racy)) << "a racy entry became trusted after an index rewrite";
}

TEST_F(SafetyTest, CheckoutSwapsFileAndDirectory) {
  test::write_file(dir / "a", "file a");
  test::write_file(dir / "zz", "1");
  const Commit c1 = commit_all("file a");
  rm(*repo, {.paths = {"a"}});
  test::write_file(dir / "a/b", "file a/b");
  test::write_file(dir / "zz", "2");
  const Commit c2 = commit_all("dir a");
  checkout(*repo, {.rev = c1.id.hex()});
  EXPECT_EQ(test::read_file(dir / "a"), "file a");
  EXPECT_TRUE(status(*repo).clean());
  checkout(*repo, {.rev = c2.id.hex()});
  EXPECT_EQ(test::read_file(dir / "a/b"), "file a/b");
  EXPECT_EQ(test::read_file(dir / "zz"), "2");
  EXPECT_TRUE(status(*repo).clean());
  // An untracked file inside the directory in the way: a conflict, and nothing is touched.
  test::write_file(dir / "a/untracked", "mine");
  EXPECT_THROW(checkout(*repo, {.rev = c1.id.hex()}), ConflictError);
  EXPECT_EQ(test::read_file(dir / "a/untracked"), "mine");
  EXPECT_EQ(test::read_file(dir / "zz"), "2");
}

TEST_F(SafetyTest, AddDirectoryStagesDeletionsAndFileBecomingDirectory) {
  test::write_file(dir / "d/x", "x");
  test::write_file(dir / "d/y", "y");
  test::write_file(dir / "a", "a");
  commit_all("one");
  stdfs::remove(dir / "d/x");
  stdfs::remove(dir / "a");
  test::write_file(dir / "a/b", "now a directory");
  const auto r = add(*repo, {.paths = {"."}});
  EXPECT_EQ(r.removed, (std::vector<std::string>{"a", "d/x"}));
  const Commit c = commit(*repo, {.message = "two"}).commit;
  const Tree t = repo->objects().read_tree(c.tree);
  ASSERT_EQ(t.files.size(), 2u);
  EXPECT_EQ(t.files[0].path, "a/b");
  EXPECT_EQ(t.files[1].path, "d/y");
}

TEST_F(SafetyTest, ForceCheckoutKeepsStagedNewFiles) {
  test::write_file(dir / "base", "b");
  commit_all("base");
  test::write_file(dir / "new.txt", "precious");
  add(*repo, {.paths = {"new.txt"}});
  checkout(*repo, {.rev = "HEAD", .force = true});
  EXPECT_EQ(test::read_file(dir / "new.txt"), "precious");
  const auto s = status(*repo);
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].staged, Change::added);
}

TEST_F(SafetyTest, RefNamesCannotEscapeTheirNamespace) {
  test::write_file(dir / "f", "f");
  const Commit c = commit_all("one");
  create_tag(*repo, "v1", "HEAD", "", "", "", false);
  EXPECT_ANY_THROW(delete_tag(*repo, "../heads/main"));
  EXPECT_ANY_THROW(delete_branch(*repo, "../tags/v1", true));
  EXPECT_ANY_THROW(rename_branch(*repo, "../tags/v1", "stolen", false));
  EXPECT_ANY_THROW(update_ref(*repo, "refs/heads/../../HEAD", c.id, std::nullopt));
  EXPECT_EQ(resolve_commit(*repo, "main"), c.id);
  EXPECT_EQ(resolve_commit(*repo, "v1"), c.id);
  EXPECT_TRUE(stdfs::exists(repo->layout().head()));
}

TEST_F(SafetyTest, TrackedPathThroughSymlinkIsNotRead) {
  TempDir outside;
  test::write_file(outside / "secret.txt", "outside the working tree");
  test::write_file(dir / "data/secret.txt", "inside");
  commit_all("one");
  stdfs::remove_all(dir / "data");
  stdfs::create_directory_symlink(outside.path(), dir / "data");
  const auto r = commit(*repo, {.message = "-a", .all = true});
  const Tree t = repo->objects().read_tree(r.commit.tree);
  EXPECT_EQ(t.find("data/secret.txt"), nullptr) << "coral read a file through a symlink out of the tree";
  // A symlink out of the tree in the working tree does not break status.
  stdfs::create_symlink(outside / "secret.txt", dir / "link");
  EXPECT_NO_THROW(status(*repo));
}

TEST_F(SafetyTest, NonUtf8FileNameIsNotAnInternalError) {
  test::write_file(dir / "ok.txt", "ok");
  test::write_file(dir / std::string("caf\xe9.txt"), "latin-1 name");
  try {
    add(*repo, {.paths = {"."}});
  } catch (const Error&) {
    // A clear coral error is acceptable; anything else (json type_error) is a bug.
  }
  EXPECT_NO_THROW(status(*repo));
  EXPECT_TRUE(unsafe_path_reason(std::string("caf\xe9.txt")).has_value());
  EXPECT_TRUE(unsafe_path_reason("sub/.coral/config.toml").has_value());
}

TEST_F(SafetyTest, TreesMustBeSortedAndUnique) {
  const std::string unsorted =
    R"({"files":[{"id":"00000000000000000000000000000001","mode":420,"path":"b","size":1},)"
    R"({"id":"00000000000000000000000000000001","mode":420,"path":"a","size":1}],"type":"tree"})";
  EXPECT_THROW(decode_tree(unsorted, core::ObjectId{}), CorruptError);
}

// A file rewritten in place while add reads it (with timestamps too coarse to notice) must never
// leave an object whose bytes differ from its id: either add fails, or what it stored verifies.
TEST_F(SafetyTest, FileChangingDuringAddNeverStoresAMismatchedObject) {
  std::vector<test::FakeTensor> tensors;
  for (int i = 0; i < 8; ++i) tensors.push_back(test::f32_tensor("t" + std::to_string(i), {1u << 20}, i));
  tensors.push_back(test::f32_tensor("big", {5u << 20}, 9));  // 20 MiB: the streaming path
  const std::string image = test::safetensors_bytes(tensors);
  test::write_file(dir / "m.safetensors", image);
  const auto st0 = *stat_file(dir / "m.safetensors");
  std::atomic<bool> stop{false};
  std::thread scribbler([&] {
    std::mt19937_64 rng(1);
    const int fd = ::open((dir / "m.safetensors").c_str(), O_WRONLY);
    while (!stop) {
      const off_t off = static_cast<off_t>(image.size() - (52u << 20) + rng() % (52u << 20) / 8 * 8);
      const std::uint64_t junk = rng();
      (void)!::pwrite(fd, &junk, sizeof junk, off);
      const timespec ts[2] = {{st0.mtime_ns / 1'000'000'000, st0.mtime_ns % 1'000'000'000},
                              {st0.mtime_ns / 1'000'000'000, st0.mtime_ns % 1'000'000'000}};
      ::futimens(fd, ts);  // coarse timestamps: the mtime does not move
    }
    ::close(fd);
  });
  int succeeded = 0;
  for (int round = 0; round < 20 && succeeded < 3; ++round) {
    try {
      add(*repo, {.paths = {"m.safetensors"}});
      ++succeeded;
    } catch (const IoError&) {
    }
  }
  stop = true;
  scribbler.join();
  for (const auto& info : repo->objects().data_store().list())
    EXPECT_NO_THROW(repo->objects().read_data(info.id)) << "stored object " << info.id.hex() << " does not verify";
  std::printf("%d adds succeeded while the file changed\n", succeeded);
}

// Review finding: when the index already equals the target for a path (here: staged back to the
// older content), an unstaged change to it is carried over as in git, not a conflict.
TEST_F(SafetyTest, UnstagedChangeOverAnIndexThatEqualsTheTargetIsCarried) {
  test::write_file(dir / "b", "one");
  const Commit c1 = commit_all("one");
  test::write_file(dir / "b", "two");
  commit_all("two");
  test::write_file(dir / "b", "one");
  add(*repo, {.paths = {"b"}});               // index: "one", as in c1; HEAD: "two"
  test::write_file(dir / "b", "local edit");  // unstaged change on top
  checkout(*repo, {.rev = c1.id.hex()});
  EXPECT_EQ(test::read_file(dir / "b"), "local edit");
  checkout(*repo, {.rev = c1.id.hex(), .force = true});
  EXPECT_EQ(test::read_file(dir / "b"), "one");
}
