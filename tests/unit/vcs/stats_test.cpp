// coral stats: logical bytes against the committed files' sizes, dedup of a tree committed twice,
// stored bytes against the size of .coral on disk, reclaimable objects after a branch is deleted
// and delta depths of a drifting checkpoint.

#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>

using namespace coral;
using namespace coral::vcs;
namespace stdfs = std::filesystem;

namespace {

std::uint64_t tree_size(const stdfs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

class StatsTest : public test::RepoTest {
protected:
  // Writes the files, adds them and commits.
  void commit_files(const std::vector<std::pair<std::string, std::string>>& files, const std::string& message) {
    AddOptions o;
    for (const auto& [path, bytes] : files) {
      test::write_file(dir / path, bytes);
      o.paths.push_back(path);
    }
    add(*repo, o);
    commit(*repo, {.message = message});
  }
  std::uint64_t raw_of(const FileEntry& f) {
    const auto& store = repo->objects().data_store();
    std::uint64_t raw = store.find_info(f.id)->raw_size;
    for (const auto& t : f.tensors) raw += store.find_info(t.id)->raw_size;
    return raw;
  }
};

TEST_F(StatsTest, AnUnbornRepositoryHasNothingLogical) {
  const StatsResult r = stats(*repo);
  EXPECT_EQ(r.commits, 0u);
  EXPECT_EQ(r.logical_bytes_head, 0u);
  EXPECT_EQ(r.logical_bytes_history, 0u);
  EXPECT_EQ(r.objects, 0u);
  EXPECT_EQ(r.stored_bytes, tree_size(dir / ".coral"));
}

TEST_F(StatsTest, LogicalBytesAreTheCommittedFilesSizes) {
  const std::string model = test::safetensors_bytes({test::f32_tensor("w", {64, 32}, 1), test::f32_tensor("b", {32}, 2)});
  const std::string notes1 = "first notes\n", notes2 = "second, longer notes\n";
  commit_files({{"model.safetensors", model}, {"notes.txt", notes1}}, "one");
  commit_files({{"notes.txt", notes2}}, "two");
  const StatsResult r = stats(*repo);
  EXPECT_EQ(r.commits, 2u);
  EXPECT_EQ(r.logical_bytes_head, model.size() + notes2.size());
  EXPECT_EQ(r.logical_bytes_history, model.size() + notes1.size() + model.size() + notes2.size());
  EXPECT_EQ(r.stored_bytes, tree_size(dir / ".coral"));
  std::uint64_t packs = 0, pack_bytes = 0;
  for (const auto& e : stdfs::directory_iterator(dir / ".coral/packs"))
    if (e.path().extension() == ".h5") ++packs, pack_bytes += e.file_size();
  EXPECT_EQ(r.packs, packs);
  EXPECT_EQ(r.pack_bytes, pack_bytes);
  EXPECT_GT(r.pack_bytes, 0u);
  EXPECT_LT(r.pack_bytes, r.stored_bytes);
  EXPECT_DOUBLE_EQ(r.ratio, static_cast<double>(r.logical_bytes_history) / static_cast<double>(r.stored_bytes));
  EXPECT_DOUBLE_EQ(r.ratio_head, static_cast<double>(r.logical_bytes_head) / static_cast<double>(r.stored_bytes));
  EXPECT_EQ(r.unreachable_objects, 0u);
  EXPECT_EQ(r.reclaimable_bytes, 0u);
  // Per encoding, the objects add up to the store's list.
  std::uint64_t objects = 0, raw = 0, stored = 0, listed_raw = 0, listed_stored = 0;
  for (const auto& [name, e] : r.by_encoding) {
    EXPECT_TRUE(name == "raw" || name == "zstd" || name == "chunks") << name;
    objects += e.objects, raw += e.raw_bytes, stored += e.stored_bytes;
  }
  const auto list = repo->objects().data_store().list();
  for (const auto& i : list) listed_raw += i.raw_size, listed_stored += i.stored_size;
  EXPECT_EQ(r.objects, list.size());
  EXPECT_EQ(objects, list.size());
  EXPECT_EQ(raw, listed_raw);
  EXPECT_EQ(stored, listed_stored);
}

TEST_F(StatsTest, ATreeCommittedTwiceCountsTwiceInHistoryButItsObjectsOnce) {
  const std::string model = test::safetensors_bytes({test::f32_tensor("w", {64, 32}, 3), test::f32_tensor("b", {32}, 4)});
  commit_files({{"model.safetensors", model}}, "one");
  commit(*repo, {.message = "again", .allow_empty = true});
  const StatsResult r = stats(*repo);
  EXPECT_EQ(r.logical_bytes_head, model.size());
  EXPECT_EQ(r.logical_bytes_history, 2 * model.size());
  const auto f = show(*repo, "HEAD:model.safetensors").file;
  ASSERT_TRUE(f.has_value());
  const std::uint64_t per_copy = 1 + f->tensors.size();  // skeleton + tensors
  EXPECT_EQ(r.references, 2 * per_copy);
  EXPECT_EQ(r.distinct, per_copy);
  EXPECT_EQ(r.saved_bytes, raw_of(*f));
  EXPECT_GT(r.saved_bytes, 64u * 32 * 4);  // at least the w tensor's bytes
}

TEST_F(StatsTest, DeletingABranchMakesItsUniqueObjectsReclaimable) {
  commit_files({{"model.safetensors", test::safetensors_bytes({test::f32_tensor("w", {64, 32}, 5)})}}, "main");
  create_branch(*repo, "side", "HEAD", false);
  checkout(*repo, {.rev = "side"});
  commit_files({{"extra.safetensors", test::safetensors_bytes({test::f32_tensor("only_here", {48, 16}, 6)})}}, "side");
  const auto extra = show(*repo, "HEAD:extra.safetensors").file;
  ASSERT_TRUE(extra.has_value());
  EXPECT_EQ(stats(*repo).unreachable_objects, 0u);
  checkout(*repo, {.rev = "main"});
  delete_branch(*repo, "side", true);

  const StatsResult r = stats(*repo);
  const auto& store = repo->objects().data_store();
  std::uint64_t stored = store.find_info(extra->id)->stored_size;
  for (const auto& t : extra->tensors) stored += store.find_info(t.id)->stored_size;
  EXPECT_EQ(r.unreachable_objects, 1 + extra->tensors.size());
  EXPECT_EQ(r.reclaimable_bytes, stored);
  EXPECT_GT(r.reclaimable_bytes, 0u);
  EXPECT_EQ(r.commits, 1u);
}

TEST_F(StatsTest, AnOlderDriftingVersionIsADeltaOfDepthOne) {
  constexpr std::uint64_t n = 300'000;
  test::DriftingWeights w(n, 7);
  commit_files({{"model.safetensors", test::safetensors_bytes({{"w", "F32", {n}, w.f32()}})}}, "epoch 1");
  w.step();
  commit_files({{"model.safetensors", test::safetensors_bytes({{"w", "F32", {n}, w.f32()}})}}, "epoch 2");
  const StatsResult r = stats(*repo);
  ASSERT_TRUE(r.delta_depth.contains(1)) << r.delta_depth.size();
  std::uint64_t with_base = 0, total = 0;
  for (const auto& i : repo->objects().data_store().list()) with_base += i.base.is_zero() ? 0 : 1;
  for (const auto& [depth, count] : r.delta_depth) total += count;
  EXPECT_EQ(r.delta_depth.at(1), with_base);
  EXPECT_GE(with_base, 1u);
  EXPECT_EQ(total, r.objects);
  EXPECT_EQ(r.unreachable_objects, 0u);  // the old version is reachable from HEAD~1
}

}  // namespace
