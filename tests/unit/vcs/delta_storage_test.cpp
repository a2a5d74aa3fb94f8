// The storage engine end to end (DESIGN.md §5): a checkpoint series stored newest-whole with the
// older versions re-encoded as XOR deltas against their successors, chains bounded by
// delta.max_chain, big tensors encoded in chunks on every
// thread with the same bytes for any thread count, and damage detected on read.

#include "coral/core/error.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <random>

using namespace coral;
using namespace coral::vcs;
namespace stdfs = std::filesystem;

namespace {

using Drift = test::DriftingWeights;

std::string checkpoint(const Drift& w, const Drift& b, std::uint64_t n, std::uint64_t nb) {
  return test::safetensors_bytes({{"w", "F32", {n}, w.f32()}, {"b", "F32", {nb}, b.f32()}});
}

class DeltaStorageTest : public test::RepoTest {
protected:
  TensorEntry tensor(const std::string& rev, const std::string& path, const std::string& name) {
    const auto f = show(*repo, rev + ":" + path).file;
    EXPECT_TRUE(f.has_value());
    for (const auto& t : f->tensors)
      if (t.name == name) return t;
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }
  storage::ObjectInfo info(const core::ObjectId& id) { return *repo->objects().data_store().find_info(id); }
  // Writes `bytes` to `path`, adds and commits it.
  void commit_version(Repository& r, const std::string& path, const std::string& bytes, const std::string& message) {
    test::write_file(r.worktree() / path, bytes);
    add(r, {.paths = {(r.worktree() / path).string()}});
    commit(r, {.message = message});
  }
};

TEST_F(DeltaStorageTest, SeriesKeepsTheNewestWholeAndOlderVersionsAsDeltas) {
  constexpr std::uint64_t n = 300'000, nb = 64;
  Drift w(n, 1), b(nb, 2);
  std::vector<std::string> versions;
  for (int epoch = 1; epoch <= 4; ++epoch) {
    versions.push_back(checkpoint(w, b, n, nb));
    commit_version(*repo, "model.safetensors", versions.back(), "epoch " + std::to_string(epoch));
    w.step();
    b.step();
  }
  const auto oldest = tensor("HEAD~3", "model.safetensors", "w");
  const auto second = tensor("HEAD~2", "model.safetensors", "w");
  const auto newest = tensor("HEAD", "model.safetensors", "w");
  EXPECT_EQ(info(oldest.id).base, second.id);
  EXPECT_TRUE(info(newest.id).base.is_zero());
  EXPECT_EQ(repo->objects().delta_depth(newest.id), 0u);
  EXPECT_EQ(repo->objects().delta_depth(oldest.id), 3u);
  // The XOR delta of a 1e-3 drift is much smaller than the self-contained newest version.
  EXPECT_LT(info(oldest.id).stored_size, info(newest.id).stored_size * 8 / 10);
  EXPECT_LT(info(newest.id).stored_size, n * 4 * 100 / 112);  // byte planes beat raw by > 12%
  // The self-contained records that the deltas replaced are gone from the packs.
  std::uint64_t stored = 0, on_disk = 0;
  for (const auto& i : repo->objects().data_store().list()) stored += i.stored_size;
  for (const auto& e : stdfs::directory_iterator(repo->layout().packs_dir()))
    if (e.path().extension() == ".h5") on_disk += e.file_size();
  EXPECT_LT(on_disk, stored + 4 * (64u << 10)) << stored;

  for (int back = 0; back < 4; ++back) {
    stdfs::remove(dir / "model.safetensors");
    Repository fresh = Repository::open({.start_dir = dir.path()});
    checkout(fresh, {.rev = "HEAD~" + std::to_string(back), .force = true});
    EXPECT_EQ(test::read_file(dir / "model.safetensors"), versions[static_cast<std::size_t>(3 - back)]) << back;
    checkout(fresh, {.rev = "main", .force = true});
  }
}

TEST_F(DeltaStorageTest, MaxChainBoundsTheDeltasAReadDecodes) {
  ::setenv("CORAL_DELTA_MAX_CHAIN", "2", 1);
  Repository bounded = Repository::open({.start_dir = dir.path()});
  ::unsetenv("CORAL_DELTA_MAX_CHAIN");
  ASSERT_EQ(bounded.max_chain(), 2u);
  constexpr std::uint64_t n = 100'000;
  Drift w(n, 3), b(8, 4);
  std::vector<core::ObjectId> ids;
  for (int epoch = 1; epoch <= 7; ++epoch) {
    commit_version(bounded, "m.safetensors", checkpoint(w, b, n, 8), "e");
    ids.push_back(tensor("HEAD", "m.safetensors", "w").id);
    w.step();
  }
  // Each new version is whole and re-encodes its predecessor until that would make a chain of
  // three: then the predecessor stays whole and a new chain starts.
  std::vector<unsigned> depths;
  for (const auto& id : ids) depths.push_back(*bounded.objects().delta_depth(id));
  EXPECT_EQ(depths, (std::vector<unsigned>{2, 1, 0, 2, 1, 0, 0}));
}

// Review finding: the chain bound was inferred from the last max_chain + 1 commits, so versions
// staged without a commit, or changed rarely among many commits, made chains without bound (past
// the 63 links a reader accepts). Heights are now recorded in the objects.
TEST_F(DeltaStorageTest, StagedVersionsNeverCommittedStillCountTowardsTheChainBound) {
  constexpr std::uint64_t n = 20'000;
  Drift w(n, 21), b(8, 22);
  commit_version(*repo, "m.safetensors", checkpoint(w, b, n, 8), "v0");
  const auto v0 = tensor("HEAD", "m.safetensors", "w").id;
  for (int v = 1; v <= 20; ++v) {  // re-added, never committed
    w.step();
    test::write_file(dir / "m.safetensors", checkpoint(w, b, n, 8));
    add(*repo, {.paths = {"m.safetensors"}});
  }
  commit(*repo, {.message = "v20"});
  EXPECT_LE(*repo->objects().delta_depth(v0), repo->max_chain());
  EXPECT_NO_THROW((void)repo->objects().read_data(v0));
}

TEST_F(DeltaStorageTest, RarelyChangedTensorStaysWithinTheChainBound) {
  constexpr std::uint64_t n = 20'000;
  Drift w(n, 23), b(8, 24);
  std::vector<core::ObjectId> versions;
  for (int v = 0; v < 12; ++v) {
    commit_version(*repo, "m.safetensors", checkpoint(w, b, n, 8), "tensor " + std::to_string(v));
    versions.push_back(tensor("HEAD", "m.safetensors", "w").id);
    for (int other = 0; other < 9; ++other) {  // nine commits that leave the tensor alone
      commit_version(*repo, "notes.txt", std::to_string(v) + "." + std::to_string(other), "notes");
    }
    w.step();
  }
  for (const auto& id : versions) EXPECT_LE(*repo->objects().delta_depth(id), repo->max_chain());
  EXPECT_EQ(*repo->objects().delta_depth(versions.back()), 0u);
}

// Review finding: dropping a small superseded record rewrote its whole pack, frozen tensors and
// all, on every add. A pack is now rewritten only when the dropped records are most of it.
TEST_F(DeltaStorageTest, PackOfFrozenTensorsIsNotRewrittenToDropASmallRecord) {
  constexpr std::uint64_t n_frozen = 1'500'000, n = 25'000;
  Drift frozen(n_frozen, 25), w(n, 26);
  const auto file = [&] {
    return test::safetensors_bytes({{"frozen", "F32", {n_frozen}, frozen.f32()}, {"w", "F32", {n}, w.f32()}});
  };
  commit_version(*repo, "m.safetensors", file(), "v1");
  const auto first_pack = *repo->objects().data_store().find_pack_of(tensor("HEAD", "m.safetensors", "frozen").id);
  const auto w1 = tensor("HEAD", "m.safetensors", "w").id;
  w.step();
  const std::string v2 = file();
  commit_version(*repo, "m.safetensors", v2, "v2");
  EXPECT_TRUE(stdfs::exists(repo->layout().pack(first_pack)));  // not rewritten: w1 keeps its old record there
  Repository fresh = Repository::open({.start_dir = dir.path()});
  EXPECT_NO_THROW((void)fresh.objects().read_data(w1));
  stdfs::remove(dir / "m.safetensors");
  checkout(fresh, {.rev = "HEAD", .force = true});
  EXPECT_EQ(test::read_file(dir / "m.safetensors"), v2);
}

// Review finding: when two tensors shared their old content, which new tensor it was re-encoded
// against depended on thread timing. The first tensor in the file (by offset) decides.
TEST_F(DeltaStorageTest, SharedOldContentIsReencodedAgainstTheFirstTensorWhateverTheThreads) {
  constexpr std::uint64_t n = 30'000;
  for (int jobs : {1, 4, 4, 4}) {
    test::TempDir other;
    Repository r = Repository::init(other.path(), {.jobs = jobs});
    Drift a(n, 31);
    test::write_file(other / "m.safetensors",
                     test::safetensors_bytes({{"a", "F32", {n}, a.f32()}, {"b", "F32", {n}, a.f32()}}));
    add(r, {.paths = {(other / "m.safetensors").string()}});
    commit(r, {.message = "v0"});
    const auto old_id = show(r, "HEAD:m.safetensors").file->tensors[0].id;
    Drift b = a;
    a.step();
    b.step();
    b.step();
    test::write_file(other / "m.safetensors",
                     test::safetensors_bytes({{"a", "F32", {n}, a.f32()}, {"b", "F32", {n}, b.f32()}}));
    add(r, {.paths = {(other / "m.safetensors").string()}});
    commit(r, {.message = "v1"});
    const auto now = show(r, "HEAD:m.safetensors").file->tensors;
    EXPECT_EQ(r.objects().data_store().find_info(old_id)->base, now[0].id) << "jobs " << jobs;
  }
}

TEST_F(DeltaStorageTest, BigTensorsAreChunkedIdenticallyForAnyThreadCount) {
  // 20 MiB: bigger than what is encoded in one task, so it is hashed in place and its chunks
  // are encoded on every thread.
  constexpr std::uint64_t n = 5u << 20;
  Drift w(n, 5), b(16, 6);
  const std::string v1 = checkpoint(w, b, n, 16);
  w.step();
  const std::string v2 = checkpoint(w, b, n, 16);
  std::vector<std::vector<std::byte>> stored;
  for (int jobs : {1, 2, 3}) {
    test::TempDir other;
    Repository r = Repository::init(other.path(), {.jobs = jobs});
    std::vector<std::byte> all;
    for (const auto* v : {&v1, &v2}) {
      test::write_file(other / "big.safetensors", *v);
      add(r, {.paths = {(other / "big.safetensors").string()}});
      commit(r, {.message = "x"});
    }
    for (const auto& i : r.objects().data_store().list()) {
      const auto rec = r.objects().data_store().get(i.id);
      all.insert(all.end(), rec.data.begin(), rec.data.end());
    }
    stored.push_back(std::move(all));
    stdfs::remove(other / "big.safetensors");
    checkout(r, {.rev = "HEAD~1", .force = true});
    EXPECT_EQ(test::read_file(other / "big.safetensors"), v1);
    checkout(r, {.rev = "main", .force = true});
    EXPECT_EQ(test::read_file(other / "big.safetensors"), v2);
  }
  EXPECT_EQ(stored[0], stored[1]);
  EXPECT_EQ(stored[0], stored[2]);
}

TEST_F(DeltaStorageTest, DamagedDeltaIsReportedNamingTheObject) {
  constexpr std::uint64_t n = 50'000;
  Drift w(n, 7), b(8, 8);
  commit_version(*repo, "m.safetensors", checkpoint(w, b, n, 8), "1");
  w.step();
  commit_version(*repo, "m.safetensors", checkpoint(w, b, n, 8), "2");
  const auto t = tensor("HEAD~1", "m.safetensors", "w");  // re-encoded against its successor
  ASSERT_FALSE(info(t.id).base.is_zero());

  // Find the delta's stored bytes in its pack file and flip one in the middle (with the pack
  // closed: HDF5 caches what it read of an open file).
  const core::ObjectId base = info(t.id).base;
  std::string needle;
  stdfs::path pack;
  {
    const auto object = repo->objects().data_store().open_object(t.id);
    std::vector<std::byte> enc(static_cast<std::size_t>(object->info().stored_size));
    object->read(0, enc);
    needle.assign(reinterpret_cast<const char*>(enc.data()) + enc.size() / 2 - 32, 64);
    pack = repo->layout().pack(*repo->objects().data_store().find_pack_of(t.id));
  }
  repo.reset();
  std::string file = test::read_file(pack);
  const auto at = file.find(needle);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(file.find(needle, at + 1), std::string::npos);
  file[at + 32] = static_cast<char>(file[at + 32] ^ 0x10);
  stdfs::permissions(pack, stdfs::perms::owner_write, stdfs::perm_options::add);
  test::write_file(pack, file);

  Repository fresh = Repository::open({.start_dir = dir.path()});
  try {
    (void)fresh.objects().read_data(t.id);
    FAIL() << "damaged object read without error";
  } catch (const CorruptError& e) {
    EXPECT_NE(std::string(e.what()).find(t.id.hex()), std::string::npos) << e.what();
  }
  // The base is intact and still reads.
  EXPECT_NO_THROW((void)fresh.objects().read_data(base));
}

}  // namespace

namespace {

// The similarity index finds a base when names do not match (DESIGN.md §6).
class SimilarBaseTest : public DeltaStorageTest {
protected:
  static constexpr std::uint64_t n = 60'000;
  void commit_file(const std::string& path, const std::string& tensor_name, const Drift& w) {
    test::write_file(dir / path, test::safetensors_bytes({{tensor_name, "F32", {n}, w.f32()}}));
    add(*repo, {.paths = {path}});
    commit(*repo, {.message = path});
  }
  std::string checked_out(const std::string& rev, const std::string& path) {
    stdfs::remove(dir / path);
    checkout(*repo, {.rev = rev, .paths = {path}});
    return test::read_file(dir / path);
  }
};

TEST_F(SimilarBaseTest, RenamedTensorIsADeltaAgainstItsOldSelf) {
  Drift w(n, 11);
  commit_file("m.safetensors", "layer.0.weight", w);
  const auto before = tensor("HEAD", "m.safetensors", "layer.0.weight").id;
  w.step();
  commit_file("m.safetensors", "blocks.0.weight", w);
  const auto after = tensor("HEAD", "m.safetensors", "blocks.0.weight").id;
  EXPECT_EQ(info(after).base, before);
  EXPECT_LT(info(after).stored_size, info(before).stored_size * 8 / 10);
  EXPECT_EQ(checked_out("HEAD", "m.safetensors"), test::safetensors_bytes({{"blocks.0.weight", "F32", {n}, w.f32()}}));
}

TEST_F(SimilarBaseTest, CheckpointUnderANewFileNameFindsThePreviousOne) {
  Drift w(n, 12);
  commit_file("ckpt-1/model.safetensors", "w", w);
  const auto first = tensor("HEAD", "ckpt-1/model.safetensors", "w").id;
  w.step();
  commit_file("ckpt-2/model.safetensors", "w", w);
  EXPECT_EQ(info(tensor("HEAD", "ckpt-2/model.safetensors", "w").id).base, first);
}

TEST_F(SimilarBaseTest, FineTuneOnAnotherBranchFindsTheBaseModel) {
  commit_version(*repo, "README", "model card\n", "start");
  create_branch(*repo, "ft", "HEAD", false);
  Drift w(n, 13);
  commit_file("base.safetensors", "w", w);  // on main
  const auto base = tensor("HEAD", "base.safetensors", "w").id;
  checkout(*repo, {.rev = "ft"});
  ASSERT_FALSE(stdfs::exists(dir / "base.safetensors"));
  w.step();
  commit_file("tuned.safetensors", "w", w);  // on ft, where base.safetensors does not exist
  EXPECT_EQ(info(tensor("HEAD", "tuned.safetensors", "w").id).base, base);
  EXPECT_EQ(checked_out("ft", "tuned.safetensors"), test::safetensors_bytes({{"w", "F32", {n}, w.f32()}}));
}

TEST_F(SimilarBaseTest, UnrelatedTensorOfTheSameShapeIsNotABase) {
  Drift a(n, 14), b(n, 15);
  commit_file("a.safetensors", "w", a);
  commit_file("b.safetensors", "w", b);
  EXPECT_TRUE(info(tensor("HEAD", "b.safetensors", "w").id).base.is_zero());
}

TEST_F(SimilarBaseTest, RebuiltIndexFindsBasesAgain) {
  Drift w(n, 17);
  commit_file("ckpt-1/model.safetensors", "w", w);
  const auto first = tensor("HEAD", "ckpt-1/model.safetensors", "w").id;
  stdfs::remove_all(repo->layout().similarity_dir());
  EXPECT_EQ(rebuild_similarity_index(*repo), 1u);
  w.step();
  commit_file("ckpt-2/model.safetensors", "w", w);
  EXPECT_EQ(info(tensor("HEAD", "ckpt-2/model.safetensors", "w").id).base, first);
}

TEST_F(SimilarBaseTest, LosingTheIndexLosesNoData) {
  Drift w(n, 16);
  commit_file("ckpt-1/model.safetensors", "w", w);
  stdfs::remove_all(repo->layout().similarity_dir());
  w.step();
  commit_file("ckpt-2/model.safetensors", "w", w);
  EXPECT_TRUE(info(tensor("HEAD", "ckpt-2/model.safetensors", "w").id).base.is_zero());  // no index: no base
  EXPECT_EQ(checked_out("HEAD", "ckpt-2/model.safetensors"), test::safetensors_bytes({{"w", "F32", {n}, w.f32()}}));
}

}  // namespace
