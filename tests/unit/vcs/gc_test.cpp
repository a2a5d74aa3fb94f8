// gc and prune on real repositories: the retention policy of a 12-checkpoint run, byte-identical
// checkouts of what is kept after gc, fsck, stats before and after, a dry run equal to the real
// run, roots that cannot be read, deleted branches, leftovers of killed processes and the
// consolidation of many small packs.

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/maintenance.hpp"
#include "coral/vcs/merge.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/refs.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <unistd.h>

using namespace coral;
using namespace coral::vcs;
namespace stdfs = std::filesystem;

namespace {

constexpr double k_losses[12] = {3.0, 2.5, 2.2, 2.4, 2.0, 2.1, 1.9, 2.3, 2.05, 1.95, 2.2, 2.15};

class GcTest : public test::RepoTest {
protected:
  // A training run: `n` commits of one drifting checkpoint (two tensors), val_loss from k_losses.
  void training_run(int n) {
    test::DriftingWeights w(200'000, 11), b(20'000, 12);
    for (int e = 0; e < n; ++e) {
      const std::string bytes =
        test::safetensors_bytes({{"w", "F32", {200'000}, w.f32()}, {"b", "F32", {20'000}, b.f32()}});
      test::write_file(dir / "model.safetensors", bytes);
      add(*repo, {.paths = {"model.safetensors"}});
      const auto c = commit(*repo, {.message = "epoch " + std::to_string(e + 1),
                                    .metrics = {{"val_loss", k_losses[e % 12]}}});
      epochs.push_back(c.commit.id);
      content[c.commit.id] = bytes;
      w.step();
      b.step();
    }
  }
  // Checks out a commit and compares its file with what was committed.
  void expect_checks_out(const core::ObjectId& id) {
    checkout(*repo, {.rev = id.hex(), .force = true});
    EXPECT_EQ(test::read_file(dir / "model.safetensors"), content.at(id)) << id.hex();
  }
  std::uint64_t pack_count() const { return repo->objects().data_store().list_packs().size(); }

  std::vector<core::ObjectId> epochs;  // oldest first
  std::map<core::ObjectId, std::string> content;
};

}  // namespace

TEST_F(GcTest, PruneKeepsTheLastThreeAndTheBestTwoAndGcDropsTheRest) {
  training_run(12);
  const StatsResult before = stats(*repo);
  const PruneResult p = prune(*repo, {.keep_last = 3, .keep_best = {parse_keep_best("val_loss:min=2")}, .gc = true});
  // Epochs 12, 11, 10 (last 3), 7 (1.9) and 10 (1.95) (best 2): four commits.
  const std::set<core::ObjectId> expected{epochs[11], epochs[10], epochs[9], epochs[6]};
  std::set<core::ObjectId> kept;
  for (const auto& c : p.commits)
    if (c.kept) kept.insert(c.id);
  EXPECT_EQ(kept, expected);
  EXPECT_EQ(p.kept, 4u);
  EXPECT_EQ(p.pruned, 8u);
  ASSERT_TRUE(p.gc.has_value());
  EXPECT_EQ(p.gc->objects_removed, 8u * 2);  // w and b of each pruned commit (the skeleton is shared)
  EXPECT_GT(p.gc->objects_reencoded, 0u);    // epoch 7's tensors were deltas against epoch 8's

  // History stays whole, with metrics; pruned commits are marked.
  const auto history = log(*repo, {});
  ASSERT_EQ(history.size(), 12u);
  for (const auto& c : history) {
    EXPECT_EQ(c.pruned, !expected.contains(c.id)) << c.message;
    EXPECT_EQ(c.metrics.size(), 1u);
  }
  for (const auto& id : expected) expect_checks_out(id);
  EXPECT_THROW(checkout(*repo, {.rev = epochs[0].hex()}), NotFoundError);
  EXPECT_THROW(diff(*repo, {.revs = {epochs[4].hex(), epochs[5].hex()}}), NotFoundError);
  EXPECT_TRUE(show(*repo, epochs[0].hex()).commit->pruned);  // show still lists it

  const FsckResult f = fsck(*repo, {.full = true});
  EXPECT_TRUE(f.ok()) << (f.problems.empty() ? "" : f.problems[0].message);
  const StatsResult after = stats(*repo);
  EXPECT_LT(after.stored_bytes, before.stored_bytes / 2);
  EXPECT_EQ(after.pruned_commits, 8u);
  EXPECT_EQ(after.logical_bytes_history, 4 * content.at(epochs[0]).size());
  EXPECT_EQ(after.unreachable_objects, 0u);
  EXPECT_EQ(after.reclaimable_bytes, 0u);
  EXPECT_EQ(after.reencode_objects, 0u);
  EXPECT_EQ(after.objects, 4u * 2 + 1);

  // A second gc has nothing left to do.
  const GcResult again = gc(*repo, {});
  EXPECT_EQ(again.objects_removed, 0u);
  EXPECT_EQ(again.objects_reencoded, 0u);
  EXPECT_EQ(again.packs_rewritten + again.packs_removed, 0u);
  EXPECT_EQ(again.bytes_after, again.bytes_before);
}

TEST_F(GcTest, ADryRunPlansExactlyWhatTheRealRunDoesAndChangesNothing) {
  training_run(8);
  prune(*repo, {.keep_last = 2, .keep_best = {parse_keep_best("val_loss=2")}});  // 8, 7, 5
  const auto records = repo->objects().data_store().records();
  const GcResult dry = gc(*repo, {.dry_run = true});
  EXPECT_EQ(repo->objects().data_store().records().size(), records.size());
  const GcResult real = gc(*repo, {});
  EXPECT_TRUE(dry.dry_run);
  EXPECT_GT(dry.objects_removed, 0u);
  EXPECT_GT(dry.objects_reencoded, 0u);
  EXPECT_EQ(dry.objects_removed, real.objects_removed);
  EXPECT_EQ(dry.metadata_removed, real.metadata_removed);
  EXPECT_EQ(dry.records_dropped, real.records_dropped);
  EXPECT_EQ(dry.objects_reencoded, real.objects_reencoded);
  EXPECT_EQ(dry.packs_before, real.packs_before);
  EXPECT_EQ(dry.packs_removed, real.packs_removed);
  EXPECT_EQ(dry.packs_rewritten, real.packs_rewritten);
  EXPECT_EQ(dry.bytes_before, real.bytes_before);
  EXPECT_EQ(dry.bytes_after, real.bytes_after);
  // bytes_after is what the store now holds.
  std::uint64_t held = 0;
  for (const auto& r : repo->objects().data_store().records()) held += r.info.stored_size;
  for (const auto& m : repo->objects().list_metadata()) held += m.stored_size;
  EXPECT_EQ(real.bytes_after, held);
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
}

TEST_F(GcTest, PruneProtectsTagsBranchTipsAndHeadAndNeedsAPolicy) {
  training_run(6);
  create_tag(*repo, "v1", epochs[1].hex(), "", "", "", false);
  create_branch(*repo, "side", epochs[2].hex(), false);
  EXPECT_THROW(prune(*repo, {}), UsageError);
  PruneResult p = prune(*repo, {.keep_last = 1, .dry_run = true});
  std::map<core::ObjectId, std::vector<std::string>> why;
  for (const auto& c : p.commits)
    if (c.kept) why[c.id] = c.reasons;
  ASSERT_EQ(why.size(), 3u);
  EXPECT_EQ(why[epochs[1]], std::vector<std::string>{"tagged v1"});
  EXPECT_EQ(why[epochs[2]], std::vector<std::string>{"branch tip side"});
  EXPECT_FALSE(log(*repo, {}).back().pruned);  // a dry run marks nothing
  p = prune(*repo, {.keep_last = 1, .keep_tagged = false});
  EXPECT_EQ(p.kept, 2u);
  EXPECT_TRUE(repo->objects().read_commit(epochs[1]).pruned);
  // Already pruned commits are neither counted nor kept the next time.
  p = prune(*repo, {.keep_last = 10});
  EXPECT_EQ(p.already_pruned, 4u);
  EXPECT_EQ(p.pruned, 0u);
  EXPECT_EQ(p.kept, 2u);
}

TEST_F(GcTest, ADeletedBranchGoesWithItsCommitsAndData) {
  training_run(2);
  create_branch(*repo, "side", "HEAD", false);
  checkout(*repo, {.rev = "side"});
  test::write_file(dir / "extra.bin", std::string(5000, 'x'));
  add(*repo, {.paths = {"extra.bin"}});
  const auto side = commit(*repo, {.message = "side"}).commit.id;
  checkout(*repo, {.rev = "main"});
  delete_branch(*repo, "side", true);
  const GcResult r = gc(*repo, {});
  EXPECT_EQ(r.objects_removed, 1u);   // extra.bin
  EXPECT_EQ(r.metadata_removed, 2u);  // the side commit and its tree
  EXPECT_FALSE(repo->objects().has_metadata(side));
  expect_checks_out(epochs[0]);
  expect_checks_out(epochs[1]);
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
}

TEST_F(GcTest, AnUnreadableRootDeletesNothing) {
  training_run(2);
  create_branch(*repo, "side", "HEAD", false);
  checkout(*repo, {.rev = "side"});
  test::write_file(dir / "extra.bin", std::string(5000, 'y'));
  add(*repo, {.paths = {"extra.bin"}});
  commit(*repo, {.message = "side"});
  checkout(*repo, {.rev = "main"});
  delete_branch(*repo, "side", true);
  // A tag naming a commit object that is damaged: nothing may go.
  create_tag(*repo, "old", epochs[0].hex(), "", "", "", false);
  const auto path = repo->layout().loose_object(epochs[0]);
  stdfs::permissions(path, stdfs::perms::owner_write, stdfs::perm_options::add);
  test::write_file(path, "garbage");
  const auto records = repo->objects().data_store().records().size();
  const auto metadata = repo->objects().list_metadata().size();
  EXPECT_THROW(gc(*repo, {}), CorruptError);
  EXPECT_EQ(repo->objects().data_store().records().size(), records);
  EXPECT_EQ(repo->objects().list_metadata().size(), metadata);
  // Once the tag is gone the damaged commit is unreachable garbage like the side branch.
  delete_tag(*repo, "old");
  EXPECT_THROW(gc(*repo, {}), CorruptError);  // main's history still needs epoch 1
}

TEST_F(GcTest, LeftoversOfKilledProcessesAreRemoved) {
  training_run(1);
  const auto l = repo->layout();
  test::write_file(l.packs_dir() / "pack-new.h5.tmp-99999-0123456789abcdef", std::string(100, 'p'));
  test::write_file(l.coral_dir() / "refs/heads/main.tmp-99999-0123456789abcdef", "x");
  test::write_file(l.tmp_dir() / "soup-99999-0/model.safetensors", std::string(50, 's'));
  test::write_file(dir / "sub/.coral-checkout-99999-0123456789abcdef", std::string(7, 'c'));
  const GcResult dry = gc(*repo, {.dry_run = true});
  EXPECT_EQ(dry.temp_files_removed, 4u);
  EXPECT_EQ(dry.temp_bytes, 158u);
  EXPECT_TRUE(stdfs::exists(dir / "sub/.coral-checkout-99999-0123456789abcdef"));
  const GcResult r = gc(*repo, {});
  EXPECT_EQ(r.temp_files_removed, 4u);
  EXPECT_FALSE(stdfs::exists(l.packs_dir() / "pack-new.h5.tmp-99999-0123456789abcdef"));
  EXPECT_FALSE(stdfs::exists(l.tmp_dir() / "soup-99999-0"));
  EXPECT_FALSE(stdfs::exists(dir / "sub/.coral-checkout-99999-0123456789abcdef"));
  EXPECT_TRUE(stdfs::exists(l.lock("gc")));
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
}

// In memory when /dev/shm is there: 1,000 adds and commits fsync some 6,000 times.
TEST(GcPacksTest, AThousandOneCheckpointCommitsEndInAHandfulOfPacks) {
  std::error_code ec;
  const bool shm = stdfs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0;
  const auto tmp = shm ? std::make_unique<test::TempDir>("/dev/shm") : std::make_unique<test::TempDir>();
  const stdfs::path dir = tmp->path();
  auto repo = Repository::init(dir, {.start_dir = dir, .jobs = 2});
  const auto old_cwd = stdfs::current_path();
  stdfs::current_path(dir);
  for (int i = 0; i < 1000; ++i) {
    test::write_file(dir / "step.bin", "checkpoint " + std::to_string(i) + std::string(200, 'w'));
    add(repo, {.paths = {"step.bin"}});
    commit(repo, {.message = "step " + std::to_string(i)});
  }
  const auto packs = [&] { return repo.objects().data_store().list_packs().size(); };
  const std::uint64_t before = packs();
  EXPECT_GE(before, 500u);  // one per add, less those a later add's re-encoding emptied
  const GcResult r = gc(repo, {});
  EXPECT_EQ(r.packs_before, before);
  EXPECT_EQ(r.packs_rewritten, before);
  EXPECT_EQ(r.packs_after, packs());
  EXPECT_LE(packs(), 5u);
  EXPECT_EQ(r.objects_removed, 0u);
  EXPECT_TRUE(fsck(repo, {.full = false}).ok());
  checkout(repo, {.rev = "HEAD~500", .force = true});
  EXPECT_EQ(test::read_file(dir / "step.bin"), "checkpoint 499" + std::string(200, 'w'));
  stdfs::current_path(old_cwd);
}

TEST_F(GcTest, PruneKeepsTheForkPointOfAnotherBranchSoThatItCanStillBeMerged) {
  training_run(6);
  // A fine-tune forked from epoch 3, one commit ahead.
  create_branch(*repo, "ft", epochs[2].hex(), false);
  checkout(*repo, {.rev = "ft"});
  test::write_file(dir / "notes.txt", "fine-tune\n");
  add(*repo, {.paths = {"notes.txt"}});
  commit(*repo, {.message = "fine-tune"});
  checkout(*repo, {.rev = "main"});
  const PruneResult p = prune(*repo, {.keep_last = 1, .gc = true});
  for (const auto& c : p.commits) {
    if (c.id == epochs[2]) {
      EXPECT_EQ(c.reasons, std::vector<std::string>{"merge base of ft"});
    }
  }
  EXPECT_EQ(p.kept, 2u);
  MergeOptions o;
  o.revs = {"ft"};
  o.message = "merge ft";
  const MergeResult m = merge(*repo, o);
  EXPECT_TRUE(m.commit.has_value());
  EXPECT_TRUE(stdfs::exists(dir / "notes.txt"));
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
}

// A gc killed after rewriting the lookup table, while deleting the old packs: the old packs that
// remain come back as unlisted packs, holding records whose delta base is gone. Nothing may read
// those records, before or after later writes, and the next gc deletes them.
TEST_F(GcTest, OldPacksLeftByAGcKilledWhileDeletingThemAreHarmless) {
  training_run(6);
  prune(*repo, {.keep_last = 1, .keep_best = {parse_keep_best("val_loss:max=1")}});  // epochs 6 and 1
  const auto packs_dir = repo->layout().packs_dir();
  const stdfs::path aside = dir / "aside";
  stdfs::create_directories(aside);
  std::vector<std::string> old;
  for (const auto& e : stdfs::directory_iterator(packs_dir))
    if (e.path().extension() == ".h5") {
      old.push_back(e.path().filename().string());
      stdfs::copy_file(e.path(), aside / e.path().filename());
    }
  std::sort(old.begin(), old.end());
  ASSERT_GE(old.size(), 2u);
  const GcResult r = gc(*repo, {});
  ASSERT_GT(r.objects_reencoded, 0u);
  for (std::size_t i = 1; i < old.size(); ++i)  // the kill came after the first deletion
    if (!stdfs::exists(packs_dir / old[i])) stdfs::copy_file(aside / old[i], packs_dir / old[i]);
  repo = std::make_unique<Repository>(Repository::open({.start_dir = dir.path(), .jobs = 2}));
  expect_checks_out(epochs[0]);
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
  // A later epoch (its own pack, epoch 6 re-encoded against it, the rewrite of the pack holding
  // epoch 6's superseded record) changes nothing of that.
  checkout(*repo, {.rev = "main", .force = true});
  std::string next = content.at(epochs[5]);
  for (std::size_t i = next.size() - 1; i > next.size() - 800'000; i -= 4) next[i - 3] ^= 0x01;  // low mantissa bits
  test::write_file(dir / "model.safetensors", next);
  add(*repo, {.paths = {"model.safetensors"}});
  commit(*repo, {.message = "epoch 7"});
  repo = std::make_unique<Repository>(Repository::open({.start_dir = dir.path(), .jobs = 2}));
  expect_checks_out(epochs[0]);
  expect_checks_out(epochs[5]);
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
  repo->objects().data_store().rebuild_lookup();
  expect_checks_out(epochs[0]);
  // The next gc removes what is left of the old packs.
  gc(*repo, {});
  for (const auto& name : old) EXPECT_FALSE(stdfs::exists(packs_dir / name)) << name;
  expect_checks_out(epochs[0]);
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
}

// Only coral's own temp names count as leftovers: a branch named like one and a user's files that
// merely start like a checkout temp file stay, and so do the temp files of a nested repository.
TEST_F(GcTest, NamesThatOnlyLookLikeTempFilesAreNotLeftovers) {
  training_run(1);
  create_branch(*repo, "run.tmp-1", "HEAD", false);
  EXPECT_THROW(create_branch(*repo, "x.tmp-1-0123456789abcdef", "HEAD", false), UsageError);
  test::write_file(dir / "data/.coral-checkout-cache/file", "precious");
  test::write_file(dir / "data/.coral-checkout-notes", "precious too");
  test::write_file(dir / "nested/.coral/config.toml", "format_version = 1\n");
  test::write_file(dir / "nested/.coral-checkout-99999-0123456789abcdef", "a nested checkout's");
  const GcResult r = gc(*repo, {});
  EXPECT_EQ(r.temp_files_removed, 0u);
  EXPECT_EQ(r.objects_removed, 0u);
  EXPECT_TRUE(find_ref(*repo, "refs/heads/run.tmp-1").has_value());
  EXPECT_EQ(test::read_file(dir / "data/.coral-checkout-cache/file"), "precious");
  EXPECT_TRUE(stdfs::exists(dir / "data/.coral-checkout-notes"));
  EXPECT_TRUE(stdfs::exists(dir / "nested/.coral-checkout-99999-0123456789abcdef"));
  EXPECT_TRUE(core::fs::is_temp_name("lookup.tmp-12-0123456789abcdef"));
  for (const char* name : {"run.tmp-1", "x.tmp-12-0123456789abcdeg", "x.tmp--0123456789abcdef", "x.tmp-12-0123"})
    EXPECT_FALSE(core::fs::is_temp_name(name)) << name;
}

// A temp file of a process that is still running (status writes the index without the gc lock)
// is not a leftover.
TEST_F(GcTest, TempFilesOfLiveProcessesStay) {
  training_run(1);
  const std::string live = "index.tmp-" + std::to_string(::getppid()) + "-0123456789abcdef";
  test::write_file(repo->layout().coral_dir() / live, "being written");
  const GcResult r = gc(*repo, {});
  EXPECT_EQ(r.temp_files_removed, 0u);
  EXPECT_TRUE(stdfs::exists(repo->layout().coral_dir() / live));
}

// gc opened before another process wrote (it waited for the lock meanwhile) sees what was written.
TEST_F(GcTest, GcSeesWhatOtherProcessesWroteWhileItWaited) {
  training_run(1);
  auto other = Repository::open({.start_dir = dir.path(), .jobs = 2});
  repo->objects().data_store().list_packs();  // this process has read the catalog
  test::write_file(dir / "later.bin", std::string(3000, 'l'));
  add(other, {.paths = {"later.bin"}});
  commit(other, {.message = "later"});
  const GcResult r = gc(*repo, {});
  EXPECT_EQ(r.objects_removed, 0u);
  EXPECT_TRUE(fsck(*repo, {.full = true}).ok());
}
