// The vcs operations end to end through the library (the CLI tests drive the same through the
// binary): add, commit, log, status, diff, checkout, branch, tag, revisions, rm.

#include "coral/core/error.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"
#include "coral/storage/object_store.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>

using namespace coral;
using namespace coral::vcs;
using coral::test::TempDir;
namespace stdfs = std::filesystem;

namespace {

class WorkflowTest : public test::RepoTest {
protected:
  Commit commit_epoch(int epoch) {
    test::write_checkpoint_dir(dir / "ckpt", epoch);
    add(*repo, {.paths = {"ckpt"}});
    return commit(*repo, {.message = "epoch " + std::to_string(epoch), .metrics = {{"val_loss", 3.0 - epoch}}}).commit;
  }
};

}  // namespace

TEST_F(WorkflowTest, CommitCheckoutRoundTripIsByteIdentical) {
  const Commit c1 = commit_epoch(1);
  const std::string shard1 = test::read_file(dir / "ckpt/model-00001-of-00002.safetensors");
  const Commit c2 = commit_epoch(2);
  EXPECT_NE(shard1, test::read_file(dir / "ckpt/model-00001-of-00002.safetensors"));
  ASSERT_EQ(c2.parents, std::vector<core::ObjectId>{c1.id});

  const auto r = checkout(*repo, {.rev = c1.id.hex().substr(0, 8)});
  EXPECT_TRUE(r.head.detached());
  EXPECT_EQ(test::read_file(dir / "ckpt/model-00001-of-00002.safetensors"), shard1);
  EXPECT_TRUE(status(*repo).clean());

  checkout(*repo, {.rev = "main"});
  EXPECT_EQ(*read_head(*repo).branch, "main");
  EXPECT_EQ(resolve_commit(*repo, "HEAD"), c2.id);
  EXPECT_EQ(resolve_commit(*repo, "HEAD~1"), c1.id);
  EXPECT_EQ(resolve_commit(*repo, "main^"), c1.id);
}

TEST_F(WorkflowTest, ForceCheckoutOfHeadRestoresFilesAndStaysOnBranch) {
  commit_epoch(1);
  const std::string shard = test::read_file(dir / "ckpt/model-00002-of-00002.safetensors");
  stdfs::remove_all(dir / "ckpt");
  const auto r = checkout(*repo, {.rev = "HEAD", .force = true});
  ASSERT_TRUE(r.head.branch);
  EXPECT_EQ(*r.head.branch, "main");
  EXPECT_EQ(r.files_written, 5u);
  EXPECT_EQ(test::read_file(dir / "ckpt/model-00002-of-00002.safetensors"), shard);
}

TEST_F(WorkflowTest, TensorsAreStoredOncePerContent) {
  commit_epoch(1);
  const auto first = repo->objects().data_store().list().size();
  // Same content under another path: no new data objects.
  stdfs::copy(dir / "ckpt", dir / "copy", stdfs::copy_options::recursive);
  const auto r = add(*repo, {.paths = {"copy"}});
  EXPECT_EQ(r.added.size(), 5u);
  EXPECT_EQ(r.stored.objects_written, 0u);
  EXPECT_EQ(repo->objects().data_store().list().size(), first);
}

TEST_F(WorkflowTest, StatusSeesModificationsDeletionsAndUntracked) {
  commit_epoch(1);
  EXPECT_TRUE(status(*repo).clean());
  test::write_file(dir / "ckpt/config.json", "{\"hidden_size\": 65}\n");
  stdfs::remove(dir / "ckpt/tokenizer.json");
  test::write_file(dir / "notes.txt", "x");
  const auto s = status(*repo);
  ASSERT_EQ(s.entries.size(), 3u);
  EXPECT_EQ(s.entries[0].path, "ckpt/config.json");
  EXPECT_EQ(s.entries[0].unstaged, Change::modified);
  EXPECT_EQ(s.entries[1].unstaged, Change::deleted);
  EXPECT_EQ(s.entries[2].unstaged, Change::untracked);
}

TEST_F(WorkflowTest, StatusOfUnchangedTreeReadsNothing) {
  commit_epoch(1);
  status(*repo);  // may re-read files written in the index's clock tick, then refreshes the cache
  EXPECT_EQ(status(*repo).files_hashed, 0u);
}

TEST_F(WorkflowTest, DiffReportsTensorStatistics) {
  commit_epoch(1);
  commit_epoch(2);
  const auto d = diff(*repo, {.revs = {"HEAD~1", "HEAD"}});
  ASSERT_EQ(d.size(), 2u);  // both shards; config and tokenizer unchanged
  const auto& t = d[0].tensors;
  ASSERT_EQ(t.size(), 2u);  // layers.0.bias (re-drawn each epoch), layers.0.weight (nudged)
  ASSERT_EQ(t[1].name, "layers.0.weight");
  ASSERT_TRUE(t[1].stats);
  EXPECT_GT(t[1].stats->max_abs_diff, 0);
  EXPECT_LT(t[1].stats->rel_l2, 0.1);
  EXPECT_GT(t[1].stats->cosine, 0.99);
  ASSERT_TRUE(t[0].stats);
  EXPECT_LT(t[0].stats->cosine, 0.9);
}

TEST_F(WorkflowTest, CheckoutRefusesToClobberLocalChanges) {
  commit_epoch(1);
  commit_epoch(2);
  test::write_file(dir / "ckpt/model-00001-of-00002.safetensors", "garbage, not my checkpoint");
  EXPECT_THROW(checkout(*repo, {.rev = "HEAD~1"}), ConflictError);
  EXPECT_EQ(test::read_file(dir / "ckpt/model-00001-of-00002.safetensors"), "garbage, not my checkpoint");
  checkout(*repo, {.rev = "HEAD~1", .force = true});
  EXPECT_TRUE(status(*repo).clean());
}

TEST_F(WorkflowTest, BranchesAndTags) {
  const Commit c1 = commit_epoch(1);
  commit_epoch(2);
  create_branch(*repo, "ft", "HEAD~1", false);
  EXPECT_THROW(create_branch(*repo, "ft", "HEAD", false), ConflictError);
  EXPECT_THROW(create_branch(*repo, "bad..name", "HEAD", false), UsageError);
  create_tag(*repo, "v1", "ft", "first release", "", "", false);
  EXPECT_EQ(resolve_commit(*repo, "v1"), c1.id);
  EXPECT_EQ(list_tags(*repo).at(0).annotation->message, "first release");
  rename_branch(*repo, "ft", "finetune", false);
  EXPECT_EQ(list_branches(*repo).size(), 2u);
  EXPECT_THROW(delete_branch(*repo, "main", false), ConflictError);  // checked out
  delete_branch(*repo, "finetune", false);                          // merged into main
  EXPECT_THROW(resolve_commit(*repo, "finetune"), NotFoundError);
}

TEST_F(WorkflowTest, DetachedHeadCommitsAndCheckoutNewBranch) {
  commit_epoch(1);
  const Commit c2 = commit_epoch(2);
  checkout(*repo, {.rev = "HEAD~1"});
  test::write_file(dir / "ckpt/config.json", "{\"detached\": true}\n");
  add(*repo, {.paths = {"ckpt/config.json"}});
  const auto r = commit(*repo, {.message = "on a detached head"});
  EXPECT_FALSE(r.branch);
  EXPECT_EQ(resolve_commit(*repo, "HEAD"), r.commit.id);
  checkout(*repo, {.new_branch = "rescued"});
  EXPECT_EQ(*read_head(*repo).branch, "rescued");
  EXPECT_EQ(resolve_commit(*repo, "rescued"), r.commit.id);
  EXPECT_EQ(resolve_commit(*repo, "main"), c2.id);
}

TEST_F(WorkflowTest, NothingToCommitAndAllowEmpty) {
  commit_epoch(1);
  EXPECT_THROW(commit(*repo, {.message = "again"}), Error);
  EXPECT_NO_THROW(commit(*repo, {.message = "again", .allow_empty = true}));
}

TEST_F(WorkflowTest, CommitAllStagesTrackedChangesAndDeletions) {
  commit_epoch(1);
  test::write_file(dir / "ckpt/config.json", "{\"hidden_size\": 99}\n");
  stdfs::remove(dir / "ckpt/tokenizer.json");
  const auto r = commit(*repo, {.message = "-a", .all = true});
  EXPECT_EQ(r.files_changed, 2u);
  EXPECT_TRUE(status(*repo).clean());
}

TEST_F(WorkflowTest, RmUntracksAndCachedKeepsTheFile) {
  commit_epoch(1);
  rm(*repo, {.paths = {"ckpt/tokenizer.json"}, .cached = true});
  EXPECT_TRUE(stdfs::exists(dir / "ckpt/tokenizer.json"));
  rm(*repo, {.paths = {"ckpt/config.json"}});
  EXPECT_FALSE(stdfs::exists(dir / "ckpt/config.json"));
  const auto s = status(*repo);
  EXPECT_EQ(s.entries.size(), 2u);  // config deleted (staged), tokenizer deleted (staged) + untracked
}

TEST_F(WorkflowTest, InvalidFileStagesNothing) {
  commit_epoch(1);
  test::write_file(dir / "ckpt/extra.txt", "new file");
  test::write_file(dir / "ckpt/broken.safetensors", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
  const auto before = repo->objects().data_store().list().size();
  EXPECT_THROW(add(*repo, {.paths = {"ckpt"}}), InvalidInputError);
  EXPECT_EQ(repo->objects().data_store().list().size(), before);
  for (const auto& e : status(*repo).entries) EXPECT_EQ(e.staged, Change::none) << e.path;
}

TEST_F(WorkflowTest, CorruptObjectIsDetectedOnRead) {
  commit_epoch(1);
  // Flip one byte inside every pack's data; checkout must fail with CorruptError, never write wrong bytes.
  for (const auto& e : stdfs::directory_iterator(repo->layout().packs_dir())) {
    if (e.path().extension() != ".h5") continue;
    std::string bytes = test::read_file(e.path());
    bytes[bytes.size() / 2] ^= 0x01;
    stdfs::permissions(e.path(), stdfs::perms::owner_write, stdfs::perm_options::add);
    test::write_file(e.path(), bytes);
  }
  stdfs::remove_all(dir / "ckpt");
  Repository fresh = Repository::open({.start_dir = dir.path()});
  EXPECT_THROW(checkout(fresh, {.rev = "HEAD", .force = true}), CorruptError);
}
