// fsck() on real repositories: a clean history with a merge and a tag passes and writes nothing;
// damage is named (object, ref, commit, path, tensor, pack): flipped bytes only with --full,
// deleted packs and commit objects always, and lookup-table damage until --rebuild-index.

#include "coral/core/error.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"
#include "coral/vcs/merge.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"
#include "storage/lookup_table.hpp"
#include "storage/pack_reader.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

using namespace coral;
using namespace coral::vcs;

namespace {

std::string noise(std::uint64_t seed) {  // incompressible: stored raw, so damage decodes silently
  std::mt19937_64 rng(seed);
  std::string s(3000 * 4, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0x7F);
  return s;
}

std::string model(std::uint64_t seed) {
  return test::safetensors_bytes({{"b", "F32", {4}, std::string(16, '\1')}, {"w", "F32", {3000}, noise(seed)}});
}

// Every file under .coral with its size and mtime: fsck must leave all of it as it was.
std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>> snapshot(
  const std::filesystem::path& dir) {
  std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    out[e.path().string()] = {e.is_regular_file() ? e.file_size() : 0, e.last_write_time()};
  return out;
}

class FsckTest : public test::RepoTest {
protected:
  void SetUp() override {
    RepoTest::SetUp();
    commit_files(model(1), "readme v1\n", "base");
  }
  void commit_files(const std::string& m, const std::string& readme, const std::string& message) {
    test::write_file(dir.path() / "m.safetensors", m);
    test::write_file(dir.path() / "README", readme);
    add(*repo, {.paths = {"m.safetensors", "README"}});
    commit(*repo, {.message = message});
  }
  const TensorEntry& tensor(const FileEntry& f, const std::string& name) {
    for (const auto& t : f.tensors)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  }
  FileEntry file_at(const std::string& rev) { return *show(*repo, rev + ":m.safetensors").file; }
  void reopen() {
    repo.reset();
    repo = std::make_unique<Repository>(Repository::open({.start_dir = dir.path(), .jobs = 2}));
  }
  const FsckProblem* find_problem(const FsckResult& r, const core::ObjectId& id) {
    for (const auto& p : r.problems)
      if (p.object == id) return &p;
    return nullptr;
  }
};

TEST_F(FsckTest, ACleanRepositoryWithAMergeAndATagPassesAndWritesNothing) {
  checkout(*repo, {.rev = "main", .new_branch = "ft-a"});
  commit_files(model(2), "readme v1\n", "ft-a");
  checkout(*repo, {.rev = "main"});
  commit_files(model(1), "readme v2\n", "readme");
  MergeOptions m;
  m.revs = {"ft-a"};
  const auto merged = merge(*repo, m);
  ASSERT_TRUE(merged.commit);
  create_tag(*repo, "v1", "ft-a", "release", "Ada", "ada@example.com", false);

  std::set<core::ObjectId> objects;
  for (const auto& c : log(*repo, {.rev = "HEAD"}))
    for (const auto& f : repo->objects().read_tree(c.tree).files) {
      objects.insert(f.id);
      for (const auto& t : f.tensors) objects.insert(t.id);
    }
  const auto before = snapshot(repo->layout().coral_dir());
  for (const bool full : {false, true}) {
    const FsckResult r = fsck(*repo, {.full = full});
    EXPECT_TRUE(r.ok()) << r.problems.front().message;
    EXPECT_EQ(r.commits, 4u);
    EXPECT_EQ(r.trees, 4u);
    EXPECT_EQ(r.objects, objects.size());
    EXPECT_EQ(r.packs, repo->objects().data_store().list_packs().size());
    EXPECT_EQ(r.full, full);
    EXPECT_FALSE(r.rebuilt);
  }
  EXPECT_EQ(snapshot(repo->layout().coral_dir()), before);
}

TEST_F(FsckTest, AnEmptyRepositoryPasses) {
  test::TempDir other;
  auto empty = Repository::init(other.path(), {.start_dir = other.path()});
  const FsckResult r = fsck(empty, {.full = true});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.commits, 0u);
  EXPECT_EQ(r.objects, 0u);
}

TEST_F(FsckTest, AFlippedByteInARawObjectIsFoundOnlyByFull) {
  const core::ObjectId victim = tensor(file_at("HEAD"), "w").id;
  const core::ObjectId head = resolve_commit(*repo, "HEAD");
  damage_object(victim);

  EXPECT_TRUE(fsck(*repo, {}).ok());
  const FsckResult r = fsck(*repo, {.full = true});
  ASSERT_EQ(r.problems.size(), 1u);
  const FsckProblem& p = r.problems[0];
  EXPECT_EQ(p.kind, "corrupt");
  EXPECT_EQ(p.object, victim);
  EXPECT_EQ(p.commit, head);
  EXPECT_EQ(p.ref, "refs/heads/main");
  EXPECT_EQ(p.path, "m.safetensors");
  EXPECT_EQ(p.tensor, "w");
  EXPECT_EQ(p.pack, *repo->objects().data_store().find_pack_of(victim));
  EXPECT_NE(p.message.find(victim.hex()), std::string::npos) << p.message;
}

TEST_F(FsckTest, ADeletedPackMakesItsObjectsMissing) {
  checkout(*repo, {.rev = "main", .new_branch = "ft-a"});
  commit_files(model(2), "readme v1\n", "ft-a");
  const FileEntry f = file_at("ft-a");
  const core::ObjectId w = tensor(f, "w").id;
  const std::string pack = *repo->objects().data_store().find_pack_of(w);
  const storage::Layout layout = repo->layout();
  repo.reset();
  std::filesystem::remove(layout.pack(pack));
  reopen();

  const FsckResult r = fsck(*repo, {});
  const FsckProblem* p = find_problem(r, w);
  ASSERT_TRUE(p) << r.problems.size();
  EXPECT_EQ(p->kind, "missing");
  EXPECT_EQ(p->ref, "refs/heads/ft-a");
  EXPECT_EQ(p->commit, resolve_commit(*repo, "ft-a"));
  EXPECT_EQ(p->path, "m.safetensors");
  EXPECT_EQ(p->tensor, "w");
  bool pack_named = false;
  for (const auto& q : r.problems)
    if (q.kind == "lookup" && q.pack == pack) pack_named = q.message.find("missing") != std::string::npos;
  EXPECT_TRUE(pack_named);
}

TEST_F(FsckTest, AMissingCommitObjectIsReportedForItsRef) {
  checkout(*repo, {.rev = "main", .new_branch = "ft-a"});
  commit_files(model(2), "readme v1\n", "ft-a");
  checkout(*repo, {.rev = "main"});
  const core::ObjectId tip = resolve_commit(*repo, "ft-a");
  std::filesystem::remove(repo->layout().loose_object(tip));

  const FsckResult r = fsck(*repo, {});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].kind, "missing");
  EXPECT_EQ(r.problems[0].object, tip);
  EXPECT_EQ(r.problems[0].ref, "refs/heads/ft-a");
  EXPECT_EQ(r.commits, 2u);
}

TEST_F(FsckTest, ALookupTablePointingAtTheWrongPackIsReportedAndRebuilt) {
  commit_files(model(2), "readme v2\n", "second");
  auto packs = repo->objects().data_store().list_packs();
  ASSERT_GE(packs.size(), 2u);
  // Each pack's rows recorded under the other pack's name.
  const storage::Layout layout = repo->layout();
  repo.reset();
  const storage::PackReader a(layout.pack(packs[0]), packs[0]), b(layout.pack(packs[1]), packs[1]);
  storage::LookupTable swapped;
  swapped.add_pack(packs[0], b.rows());
  swapped.add_pack(packs[1], a.rows());
  storage::write_lookup_file(layout.lookup(), swapped);
  reopen();

  const auto problems = repo->objects().data_store().check_lookup();
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].message.find("at row"), std::string::npos) << problems[0].message;
  EXPECT_TRUE(problems[0].object);
  const FsckResult r = fsck(*repo, {});
  EXPECT_FALSE(r.ok());
  bool lookup = false;
  for (const auto& p : r.problems) lookup = lookup || p.kind == "lookup";
  EXPECT_TRUE(lookup);

  const FsckResult fixed = fsck(*repo, {.full = true, .rebuild_index = true});
  EXPECT_TRUE(fixed.ok()) << fixed.problems.front().message;
  ASSERT_TRUE(fixed.rebuilt);
  EXPECT_EQ(fixed.rebuilt->packs, packs.size());
  EXPECT_TRUE(repo->objects().data_store().check_lookup().empty());
}

TEST_F(FsckTest, ARemovedLookupTableIsReportedAndRebuilt) {
  const storage::Layout layout = repo->layout();
  repo.reset();
  std::filesystem::remove(layout.lookup());
  reopen();
  const auto problems = repo->objects().data_store().check_lookup();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("is missing"), std::string::npos) << problems[0].message;
  const FsckResult r = fsck(*repo, {});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].kind, "lookup");

  EXPECT_TRUE(fsck(*repo, {.rebuild_index = true}).ok());
  EXPECT_TRUE(std::filesystem::exists(layout.lookup()));
  reopen();
  EXPECT_TRUE(fsck(*repo, {}).ok());
}

TEST_F(FsckTest, ResultsDoNotDependOnTheThreadCount) {
  commit_files(model(2), "readme v2\n", "second");
  const core::ObjectId victim = tensor(file_at("HEAD~1"), "w").id;
  damage_object(victim);
  std::vector<std::string> messages[2];
  for (int jobs : {1, 4}) {
    auto r = Repository::open({.start_dir = dir.path(), .jobs = jobs});
    for (const auto& p : fsck(r, {.full = true}).problems) messages[jobs == 4].push_back(p.message);
  }
  EXPECT_FALSE(messages[0].empty());
  EXPECT_EQ(messages[0], messages[1]);
}

}  // namespace
