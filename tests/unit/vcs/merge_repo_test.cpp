// merge() end to end on a repository: octopus TIES with every head as a parent, the result equal
// to the arithmetic on the stored inputs, fast-forwards, refusals that write nothing, the same
// tree for any thread count, and greedy soup with a real eval command.

#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/merge.hpp"
#include "coral/vcs/refs.hpp"
#include "coral/vcs/revision.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"
#include "vcs/merge_math.hpp"

#include <cstring>
#include <map>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace coral;
using namespace coral::vcs;

namespace {

constexpr std::uint64_t k_n = 3000;

// F32 weights: the base plus a seeded perturbation of `fraction` of the elements.
std::string weights(std::uint64_t seed, double fraction) {
  const auto base = test::f32_tensor("w", {k_n}, 1).data;
  if (fraction == 0) return base;
  std::string out = base;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::normal_distribution<float> d(0, 0.01f);
  for (std::uint64_t i = 0; i < k_n; ++i) {
    if (u(rng) >= fraction) continue;
    float v;
    std::memcpy(&v, out.data() + i * 4, 4);
    v += d(rng);
    std::memcpy(out.data() + i * 4, &v, 4);
  }
  return out;
}

std::string model(const std::string& w, const std::string& b) {
  return test::safetensors_bytes({{"b", "F32", {4}, b}, {"w", "F32", {k_n}, w}});
}

std::string bias(float v) {
  std::string s(16, '\0');
  for (int i = 0; i < 4; ++i) std::memcpy(s.data() + i * 4, &v, 4);
  return s;
}

class MergeRepoTest : public test::RepoTest {
protected:
  void SetUp() override {
    RepoTest::SetUp();
    commit_model(model(weights(0, 0), bias(0)), "base");
  }
  void commit_model(const std::string& bytes, const std::string& message) {
    test::write_file(dir.path() / "m.safetensors", bytes);
    add(*repo, {.paths = {"m.safetensors"}});
    commit(*repo, {.message = message});
  }
  // A branch from main with the model replaced, then back on main.
  void branch_with(const std::string& name, const std::string& bytes) {
    checkout(*repo, {.rev = "main", .new_branch = name});
    commit_model(bytes, name);
    checkout(*repo, {.rev = "main"});
  }
  core::ObjectId head() { return *read_head(*repo).commit; }
  core::ObjectId resolve_ref(const std::string& rev) { return resolve_commit(*repo, rev); }
  std::string tensor_bytes(const std::string& rev, const std::string& name) {
    const auto f = show(*repo, rev + ":m.safetensors").file;
    for (const auto& t : f->tensors)
      if (t.name == name) {
        const auto data = repo->objects().read_data(t.id);
        return {reinterpret_cast<const char*>(data.data()), data.size()};
      }
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }
  MergeOptions ties3() {
    MergeOptions o;
    o.revs = {"ft-a", "ft-b", "ft-c"};
    o.strategy.name = "ties";
    o.strategy.density = 0.5;
    o.strategy.lambda = 1.0;
    return o;
  }
};

TEST_F(MergeRepoTest, OctopusTiesIsOneCommitWithEveryHeadAsParentAndTheDefinedArithmetic) {
  branch_with("ft-a", model(weights(1, 0.3), bias(1)));
  branch_with("ft-b", model(weights(2, 0.3), bias(0)));
  branch_with("ft-c", model(weights(3, 0.3), bias(0)));
  const auto main_before = head();
  const MergeResult r = merge(*repo, ties3());
  ASSERT_EQ(r.conflicts, 0u);
  ASSERT_TRUE(r.commit.has_value());
  EXPECT_EQ(r.kind, MergeResult::Kind::merge);
  // main is the base: as in git, it is no side and no parent (the three heads contain it).
  const std::vector<core::ObjectId> parents = {resolve_ref("ft-a"), resolve_ref("ft-b"), resolve_ref("ft-c")};
  EXPECT_EQ(r.commit->parents, parents);
  EXPECT_EQ(r.labels, (std::vector<std::string>{"ft-a", "ft-b", "ft-c"}));
  EXPECT_EQ(head(), r.commit->id);
  const Commit stored = repo->objects().read_commit(r.commit->id);
  ASSERT_TRUE(stored.merge.has_value());
  EXPECT_EQ(stored.merge->strategy, "ties");
  EXPECT_EQ(stored.merge->parameters.at("density"), "0.5");
  EXPECT_EQ(stored.merge->base, main_before);
  EXPECT_EQ(stored.message, "Merge branches 'ft-a', 'ft-b' and 'ft-c'");
  EXPECT_EQ(r.tensors_merged, 1u);

  // b changed on ft-a only: its bytes exactly. w: TIES over the three sides.
  EXPECT_EQ(tensor_bytes("HEAD", "b"), bias(1));
  std::vector<std::string> sides = {weights(1, 0.3), weights(2, 0.3), weights(3, 0.3)};
  std::vector<TensorView> views;
  for (const auto& s : sides) views.push_back({core::DType::f32, false, std::as_bytes(std::span(s))});
  const std::string base = weights(0, 0);
  const TensorView base_view{core::DType::f32, false, std::as_bytes(std::span(base))};
  MergeParams p;
  p.density = 0.5;
  const auto expected = merge_tensor(MergeMethod::ties, p, views, &base_view, std::string("m.safetensors\0w", 15));
  EXPECT_EQ(tensor_bytes("HEAD", "w"), std::string(reinterpret_cast<const char*>(expected.data()), expected.size()));
  // The working tree holds the merge and the index matches it.
  EXPECT_EQ(test::read_file(dir.path() / "m.safetensors"),
            model(tensor_bytes("HEAD", "w"), bias(1)));
  EXPECT_TRUE(status(*repo).clean());
}

TEST_F(MergeRepoTest, NoFastForwardKeepsHeadAsASideAndTheFirstParent) {
  branch_with("ft-a", model(weights(1, 0.3), bias(1)));
  branch_with("ft-b", model(weights(2, 0.3), bias(2)));
  const auto main_before = head();
  MergeOptions o;
  o.revs = {"ft-a", "ft-b"};
  o.strategy.name = "average";
  o.fast_forward = FastForward::never;
  const MergeResult r = merge(*repo, o);
  ASSERT_TRUE(r.commit.has_value());
  EXPECT_EQ(r.commit->parents, (std::vector<core::ObjectId>{main_before, resolve_ref("ft-a"), resolve_ref("ft-b")}));
  // b: (0 + 1 + 2) / 3 over the three sides.
  EXPECT_EQ(tensor_bytes("HEAD", "b"), bias(1));
}

TEST_F(MergeRepoTest, ARevisionContainedInAnotherIsNoSide) {
  branch_with("ft-a", model(weights(1, 0.3), bias(1)));
  checkout(*repo, {.rev = "ft-a", .new_branch = "ft-a2"});
  commit_model(model(weights(1, 0.3), bias(3)), "more");
  checkout(*repo, {.rev = "main"});
  MergeOptions o;
  o.revs = {"ft-a", "ft-a2"};
  const MergeResult r = merge(*repo, o);
  EXPECT_EQ(r.kind, MergeResult::Kind::fast_forward);
  EXPECT_EQ(head(), resolve_ref("ft-a2"));
}

TEST_F(MergeRepoTest, UntrackedFilesAreNeverOverwritten) {
  checkout(*repo, {.rev = "main", .new_branch = "ft"});
  test::write_file(dir.path() / "notes.txt", "ft's notes");
  add(*repo, {.paths = {"notes.txt"}});
  commit(*repo, {.message = "notes"});
  checkout(*repo, {.rev = "main"});
  test::write_file(dir.path() / "notes.txt", "my own notes");
  const auto before = head();
  MergeOptions o;
  o.revs = {"ft"};
  try {
    merge(*repo, o);  // a fast-forward
    ADD_FAILURE() << "overwrote an untracked file";
  } catch (const ConflictError& e) {
    EXPECT_EQ(std::string(e.what()), "merge would overwrite untracked files in notes.txt");
  }
  // A real merge too, and checkout (which overwrites only with --force).
  commit_model(model(weights(2, 0.3), bias(2)), "main moves on");
  o.strategy.name = "average";
  EXPECT_THROW(merge(*repo, o), ConflictError);
  EXPECT_THROW(checkout(*repo, {.rev = "ft"}), ConflictError);
  EXPECT_EQ(test::read_file(dir.path() / "notes.txt"), "my own notes");
  EXPECT_NE(head(), before);  // the commit above, not a merge
  EXPECT_EQ(repo->objects().read_commit(head()).parents.size(), 1u);
  checkout(*repo, {.rev = "ft", .force = true});
  EXPECT_EQ(test::read_file(dir.path() / "notes.txt"), "ft's notes");
}

TEST_F(MergeRepoTest, SoupChecksForLocalChangesBeforeEvaluatingAnything) {
  branch_with("ft-a", model(weights(1, 0.3), bias(1)));
  branch_with("ft-b", model(weights(2, 0.3), bias(2)));
  test::write_file(dir.path() / "m.safetensors", model(weights(9, 0.3), bias(9)));
  MergeOptions o;
  o.revs = {"ft-a", "ft-b"};
  o.strategy.name = "soup";
  o.eval_command = "touch " + (dir.path() / "evaluated").string() + "; echo 1 {}";
  EXPECT_THROW(merge(*repo, o), ConflictError);
  o.dry_run = true;  // a dry run refuses the same way
  EXPECT_THROW(merge(*repo, o), ConflictError);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "evaluated"));
  // An untracked file where a side has one: refused before evaluating too.
  checkout(*repo, {.rev = "main", .force = true});
  checkout(*repo, {.rev = "ft-b"});
  test::write_file(dir.path() / "extra.txt", "b's");
  add(*repo, {.paths = {"extra.txt"}});
  commit(*repo, {.message = "extra"});
  checkout(*repo, {.rev = "main"});
  test::write_file(dir.path() / "extra.txt", "mine");
  o.dry_run = false;
  EXPECT_THROW(merge(*repo, o), ConflictError);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "evaluated"));
}

TEST_F(MergeRepoTest, TwoSideStrategiesNameTheSides) {
  branch_with("ft-a", model(weights(1, 0.3), bias(1)));
  branch_with("ft-b", model(weights(2, 0.3), bias(2)));
  branch_with("ft-c", model(weights(3, 0.3), bias(3)));
  MergeOptions o = ties3();
  o.strategy = {};
  o.strategy.name = "theirs";
  try {
    merge(*repo, o);
    ADD_FAILURE() << "theirs with three sides";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "--strategy: strategy 'theirs' needs exactly two sides, not 3 (ft-a, ft-b, ft-c)");
  }
}

TEST_F(MergeRepoTest, ScratchDirectoriesOfDeadSoupsAreRemoved) {
  const auto stale = repo->layout().coral_dir() / "tmp" / "soup-999999999-0";
  const auto live = repo->layout().coral_dir() / "tmp" / ("soup-" + std::to_string(::getpid()) + "-99");
  std::filesystem::create_directories(stale);
  std::filesystem::create_directories(live);
  branch_with("ft-a", model(weights(1, 0.3), bias(1)));
  branch_with("ft-b", model(weights(2, 0.3), bias(2)));
  MergeOptions o;
  o.revs = {"ft-a", "ft-b"};
  o.strategy.name = "soup";
  o.eval_command = "echo 1 {}";
  ASSERT_TRUE(merge(*repo, o).commit.has_value());
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(live));  // this process is alive
}

TEST_F(MergeRepoTest, UnrelatedHistoriesAreRefusedUnlessAllowed) {
  // A root commit of its own whose tree holds the model under another name.
  Tree tree = repo->objects().read_tree(repo->objects().read_commit(head()).tree);
  tree.files[0].path = "other.safetensors";
  Commit root;
  root.tree = repo->objects().write_tree(tree);
  root.author = "t";
  root.email = "t@x";
  root.message = "unrelated";
  update_ref(*repo, "refs/heads/orphan", repo->objects().write_commit(root), std::nullopt);
  MergeOptions o;
  o.revs = {"orphan"};
  try {
    merge(*repo, o);
    ADD_FAILURE() << "merged unrelated histories";
  } catch (const ConflictError& e) {
    EXPECT_EQ(std::string(e.what()), "refusing to merge unrelated histories");
  }
  o.allow_unrelated = true;
  const MergeResult r = merge(*repo, o);
  ASSERT_TRUE(r.commit.has_value());
  EXPECT_FALSE(r.base.has_value());
  EXPECT_FALSE(repo->objects().read_commit(r.commit->id).merge->base.has_value());
  EXPECT_EQ(test::read_file(dir.path() / "other.safetensors"), test::read_file(dir.path() / "m.safetensors"));
}

TEST_F(MergeRepoTest, TheSameTreeForAnyThreadCount) {
  branch_with("ft-a", model(weights(1, 0.5), bias(1)));
  branch_with("ft-b", model(weights(2, 0.5), bias(2)));
  branch_with("ft-c", model(weights(3, 0.5), bias(3)));
  const auto start = head();
  std::vector<core::ObjectId> trees;
  for (int jobs : {1, 4}) {
    Repository r = Repository::open({.start_dir = dir.path(), .jobs = jobs});
    auto o = ties3();
    o.strategy.name = "dare-ties";
    o.strategy.seed = 42;
    const auto result = merge(r, o);
    ASSERT_TRUE(result.commit.has_value());
    trees.push_back(result.commit->tree);
    update_ref(r, "refs/heads/main", start, result.commit->id);
    checkout(r, {.rev = "main", .force = true});
  }
  EXPECT_EQ(trees[0], trees[1]);
}

// Two sides that change a safetensors file's layout differently (each adds a tensor, one deletes
// another, one changes the metadata) merge tensor by tensor into a new header.
TEST_F(MergeRepoTest, LayoutsChangedOnSeveralSidesGetANewHeader) {
  const std::string a0 = bias(0), b0 = bias(1), x = bias(7), y = std::string(8, '\x11');
  const auto file = [](std::vector<test::FakeTensor> tensors, const std::string& meta = "") {
    return test::safetensors_bytes(tensors, meta);
  };
  commit_model(file({{"a", "F32", {4}, a0}, {"b", "F32", {4}, b0}}, R"({"format":"pt"})"), "base layout");
  branch_with("ft-a", file({{"a", "F32", {4}, bias(3)}, {"b", "F32", {4}, b0}, {"x", "F32", {4}, x}}, R"({"format":"pt"})"));
  branch_with("ft-b", file({{"a", "F32", {4}, a0}, {"y", "I32", {2}, y}}, R"({"format":"pt","step":"7"})"));
  MergeOptions o;
  o.revs = {"ft-a", "ft-b"};
  const MergeResult r = merge(*repo, o);
  ASSERT_EQ(r.conflicts, 0u);
  ASSERT_TRUE(r.commit.has_value());
  const std::string merged = test::read_file(dir.path() / "m.safetensors");
  // A valid safetensors file: a from ft-a, x added on ft-a, y added on ft-b, b deleted on ft-b,
  // and ft-b's metadata.
  const auto layout = core::parse_file_layout("m.safetensors", std::as_bytes(std::span(merged)));
  ASSERT_EQ(layout.tensors.size(), 3u);
  const std::vector<std::pair<std::string, std::string>> expected = {{"a", bias(3)}, {"x", x}, {"y", y}};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(layout.tensors[i].name, expected[i].first);
    EXPECT_EQ(merged.substr(layout.tensors[i].offset, layout.tensors[i].length), expected[i].second);
  }
  EXPECT_EQ(layout.tensors[2].dtype, core::DType::i32);
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, merged.data(), 8);
  const auto header = nlohmann::json::parse(merged.substr(8, header_length));
  EXPECT_EQ(header.at("__metadata__"), nlohmann::json::parse(R"({"format":"pt","step":"7"})"));
  EXPECT_TRUE(status(*repo).clean());  // coral parses its own output to the same layout

  // A tensor deleted on one side and changed on another is still a conflict.
  const core::ObjectId merged_head = head();
  update_ref(*repo, "refs/heads/main", resolve_ref("ft-a~1"), merged_head);
  checkout(*repo, {.rev = "main", .force = true});
  branch_with("ft-c", file({{"a", "F32", {4}, a0}, {"b", "F32", {4}, bias(5)}, {"z", "F32", {4}, x}}, R"({"format":"pt"})"));
  o.revs = {"ft-b", "ft-c"};
  const MergeResult c = merge(*repo, o);
  EXPECT_EQ(c.conflicts, 1u);
  for (const auto& d : c.decisions) {
    if (d.action != "conflict") continue;
    EXPECT_EQ(d.path + ":" + d.tensor + " " + d.reason, "m.safetensors:b deleted on ft-b, changed on ft-c");
  }
}

// Across layouts, a tensor's dtype and shape come from the sides that changed it (not the base),
// and ours/theirs decide tensor by tensor: a tensor added on the other side is kept.
TEST_F(MergeRepoTest, AcrossLayoutsTensorsKeepTheirSidesShapesAndOursStillKeepsAdditions) {
  const auto file = [](std::vector<test::FakeTensor> tensors) { return test::safetensors_bytes(tensors); };
  commit_model(file({{"w", "F32", {4}, bias(1)}}), "base layout");
  branch_with("ft-a", file({{"w", "F32", {2, 2}, bias(2)}, {"x", "F32", {4}, bias(3)}}));
  branch_with("ft-b", file({{"w", "F32", {2, 2}, bias(4)}, {"y", "F32", {4}, bias(5)}}));
  const auto start = head();
  MergeOptions o;
  o.revs = {"ft-a", "ft-b"};
  o.strategy.name = "average";
  const MergeResult avg = merge(*repo, o);
  ASSERT_EQ(avg.conflicts, 0u);
  auto tensors_of = [&] {
    const std::string merged = test::read_file(dir.path() / "m.safetensors");
    std::map<std::string, std::pair<std::vector<std::uint64_t>, std::string>> out;
    for (const auto& t : core::parse_file_layout("m.safetensors", std::as_bytes(std::span(merged))).tensors)
      out[t.name] = {t.shape, merged.substr(t.offset, t.length)};
    return out;
  };
  auto merged = tensors_of();
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged["w"].first, (std::vector<std::uint64_t>{2, 2}));
  EXPECT_EQ(merged["w"].second, bias(3));  // (2 + 4) / 2
  update_ref(*repo, "refs/heads/main", start, head());
  checkout(*repo, {.rev = "main", .force = true});
  o.strategy.name = "ours";
  const MergeResult ours = merge(*repo, o);
  ASSERT_EQ(ours.conflicts, 0u);
  merged = tensors_of();
  EXPECT_EQ(merged["w"].second, bias(2));  // ft-a's, the first side
  EXPECT_EQ(merged["y"].second, bias(5));  // added on ft-b: kept
  EXPECT_EQ(merged["x"].second, bias(3));
}

// Big tensors are merged piece by piece from the packs: the same bytes as in memory.
TEST_F(MergeRepoTest, PieceByPieceGivesTheSameTreeAsInMemory) {
  branch_with("ft-a", model(weights(1, 0.5), bias(1)));
  branch_with("ft-b", model(weights(2, 0.5), bias(2)));
  branch_with("ft-c", model(weights(3, 0.5), bias(3)));
  const auto start = head();
  for (const char* strategy : {"ties", "dare-ties", "average", "task-arithmetic"}) {
    SCOPED_TRACE(strategy);
    std::vector<core::ObjectId> trees;
    for (const std::uint64_t stream_above : {std::uint64_t{64} << 20, std::uint64_t{0}}) {
      auto o = ties3();
      o.strategy = {};
      o.strategy.name = strategy;
      if (std::string(strategy) == "ties" || std::string(strategy) == "dare-ties") o.strategy.density = 0.4;
      o.stream_above = stream_above;
      const auto r = merge(*repo, o);
      ASSERT_TRUE(r.commit.has_value());
      trees.push_back(r.commit->tree);
      update_ref(*repo, "refs/heads/main", start, r.commit->id);
      checkout(*repo, {.rev = "main", .force = true});
    }
    EXPECT_EQ(trees[0], trees[1]);
  }
  EXPECT_FALSE(std::filesystem::exists(repo->layout().coral_dir() / "tmp") &&
               !std::filesystem::is_empty(repo->layout().coral_dir() / "tmp"));
}

// Piece by piece, the sides are read through their chunks, not whole: their hashes are still
// checked, so a damaged side stops the merge before anything is written.
TEST_F(MergeRepoTest, ADamagedSideStopsAMergePieceByPiece) {
  std::mt19937_64 rng(9);
  auto noise = [&] {  // incompressible: stored raw, so damage decodes silently
    std::string s(k_n * 4, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0x7F);
    return s;
  };
  commit_model(model(noise(), bias(0)), "noise");
  branch_with("ft-a", model(noise(), bias(1)));
  branch_with("ft-b", model(noise(), bias(2)));
  const auto before = head();
  const ShowResult shown = show(*repo, "ft-a:m.safetensors");
  core::ObjectId victim;
  for (const auto& t : shown.file->tensors)
    if (t.name == "w") victim = t.id;
  damage_object(victim);

  MergeOptions o;
  o.revs = {"ft-a", "ft-b"};
  o.strategy.name = "average";
  o.stream_above = 0;
  try {
    merge(*repo, o);
    ADD_FAILURE() << "merged a damaged side";
  } catch (const CorruptError& e) {
    EXPECT_NE(std::string(e.what()).find(victim.hex()), std::string::npos) << e.what();
  }
  EXPECT_EQ(head(), before);
}

TEST_F(MergeRepoTest, AConflictWritesNothing) {
  branch_with("ft-a", model(weights(1, 0.3), bias(0)));
  branch_with("ft-b", model(weights(2, 0.3), bias(0)));
  const auto before = head();
  const std::string file = test::read_file(dir.path() / "m.safetensors");
  MergeOptions o;
  o.revs = {"ft-a", "ft-b"};
  const MergeResult r = merge(*repo, o);
  EXPECT_EQ(r.conflicts, 1u);
  EXPECT_FALSE(r.commit.has_value());
  EXPECT_EQ(head(), before);
  EXPECT_EQ(test::read_file(dir.path() / "m.safetensors"), file);
  EXPECT_TRUE(status(*repo).clean());
}

TEST_F(MergeRepoTest, FastForwardUpToDateAndTheFastForwardFlags) {
  branch_with("ft", model(weights(1, 0.3), bias(1)));
  MergeOptions o;
  o.revs = {"ft"};
  o.fast_forward = FastForward::never;
  o.dry_run = true;
  EXPECT_EQ(merge(*repo, o).kind, MergeResult::Kind::merge);
  o.dry_run = false;
  o.fast_forward = FastForward::allow;
  const MergeResult ff = merge(*repo, o);
  EXPECT_EQ(ff.kind, MergeResult::Kind::fast_forward);
  EXPECT_EQ(head(), resolve_ref("ft"));
  EXPECT_EQ(test::read_file(dir.path() / "m.safetensors"), model(weights(1, 0.3), bias(1)));
  EXPECT_EQ(merge(*repo, o).kind, MergeResult::Kind::up_to_date);

  // Diverged: --ff-only refuses, --no-ff (or a plain merge) makes a two-parent commit.
  branch_with("other", model(weights(1, 0.3), bias(2)));
  commit_model(model(weights(4, 0.3), bias(1)), "main moves on");
  o.revs = {"other"};
  o.fast_forward = FastForward::only;
  EXPECT_THROW(merge(*repo, o), ConflictError);
  o.fast_forward = FastForward::never;
  o.strategy.name = "average";
  const MergeResult m = merge(*repo, o);
  ASSERT_TRUE(m.commit.has_value());
  EXPECT_EQ(m.commit->parents.size(), 2u);
}

// An unborn branch takes one revision by a fast-forward (git refuses --no-ff there too); an
// up-to-date merge names HEAD's branch as its only side.
TEST_F(MergeRepoTest, AnUnbornBranchOnlyFastForwards) {
  branch_with("ft", model(weights(1, 0.3), bias(1)));
  MergeOptions o;
  o.revs = {"main"};
  EXPECT_EQ(merge(*repo, o).labels, std::vector<std::string>{"main"});  // up to date
  set_head_branch(*repo, "fresh");
  o.revs = {"ft"};
  o.fast_forward = FastForward::never;
  EXPECT_THROW(merge(*repo, o), UsageError);
}

TEST_F(MergeRepoTest, NoFastForwardMakesAMergeCommitWithTheBranchTree) {
  branch_with("ft", model(weights(1, 0.3), bias(1)));
  MergeOptions o;
  o.revs = {"ft"};
  o.fast_forward = FastForward::never;
  const MergeResult r = merge(*repo, o);
  ASSERT_TRUE(r.commit.has_value());
  EXPECT_EQ(r.commit->tree, repo->objects().read_commit(resolve_ref("ft")).tree);
  EXPECT_EQ(r.commit->parents.size(), 2u);
}

TEST_F(MergeRepoTest, RefusesADetachedHeadAndLocalChanges) {
  branch_with("ft", model(weights(1, 0.3), bias(1)));
  commit_model(model(weights(2, 0.3), bias(0)), "main moves on");
  const auto before = head();
  MergeOptions o;
  o.revs = {"ft"};
  o.strategy.name = "average";
  test::write_file(dir.path() / "m.safetensors", model(weights(9, 0.3), bias(9)));
  try {
    merge(*repo, o);
    ADD_FAILURE() << "merged over local changes";
  } catch (const ConflictError& e) {
    EXPECT_NE(std::string(e.what()).find("merge would overwrite local changes in m.safetensors"), std::string::npos)
      << e.what();
  }
  EXPECT_EQ(head(), before);
  EXPECT_EQ(test::read_file(dir.path() / "m.safetensors"), model(weights(9, 0.3), bias(9)));
  checkout(*repo, {.rev = "main", .force = true});
  checkout(*repo, {.rev = before.hex()});
  try {
    merge(*repo, o);
    ADD_FAILURE() << "merged into a detached HEAD";
  } catch (const ConflictError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot merge into a detached HEAD");
  }
}

TEST_F(MergeRepoTest, GreedySoupKeepsOnlyIngredientsThatImproveTheScore) {
  const std::string python = test::python();
  // Score: minus the distance of w's mean from that of a target; ft-good moves towards it.
  branch_with("ft-good", model(weights(0, 0), bias(0.5f)));
  branch_with("ft-bad", model(weights(0, 0), bias(-3)));
  test::write_file(dir.path() / "score.py",
                   "import struct, sys\n"
                   "d = open(sys.argv[1] + '/m.safetensors', 'rb').read()\n"
                   "n = struct.unpack('<Q', d[:8])[0]\n"
                   "b = struct.unpack('<4f', d[8 + n:8 + n + 16])\n"
                   "print('score', -abs(sum(b) / 4 - 0.4))\n");
  MergeOptions o;
  o.revs = {"ft-good", "ft-bad"};
  o.strategy.name = "soup";
  o.eval_command = python + " " + (dir.path() / "score.py").string() + " {}";
  const MergeResult r = merge(*repo, o);
  ASSERT_TRUE(r.commit.has_value());
  // main is the base both branches contain: the ingredients are the two fine-tunes.
  ASSERT_EQ(r.soup_scores.size(), 2u);
  EXPECT_EQ(r.soup_scores[0].first, "ft-good");
  EXPECT_NEAR(r.soup_scores[0].second, -0.1, 1e-6);
  EXPECT_NEAR(r.soup_scores[1].second, -3.4, 1e-6);
  // ft-good first; averaging in ft-bad (b = -1.25) makes it worse.
  ASSERT_EQ(r.soup.size(), 1u);
  EXPECT_EQ(r.soup[0].ingredients, (std::vector<std::string>{"ft-good", "ft-bad"}));
  EXPECT_NEAR(r.soup[0].score, -1.65, 1e-6);
  EXPECT_FALSE(r.soup[0].kept);
  EXPECT_EQ(tensor_bytes("HEAD", "b"), bias(0.5f));
  const Commit c = repo->objects().read_commit(head());
  EXPECT_EQ(c.merge->strategy, "soup");
  EXPECT_EQ(c.merge->parameters.at("selected"), "ft-good");
  EXPECT_FALSE(std::filesystem::exists(repo->layout().coral_dir() / "tmp") &&
               !std::filesystem::is_empty(repo->layout().coral_dir() / "tmp"));
}

}  // namespace
