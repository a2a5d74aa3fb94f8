// coral merge's engine (docs/merge.md): merge bases, the three-way plan per file and tensor,
// strategies and rules, greedy soup, and merge() end to end on a repository.

#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/merge.hpp"
#include "coral/vcs/refs.hpp"
#include "vcs/merge_base.hpp"
#include "vcs/merge_plan.hpp"
#include "vcs/merge_soup.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/temp_dir.hpp"

#include <cstring>
#include <gtest/gtest.h>

using namespace coral;
using namespace coral::vcs;

namespace {

core::ObjectId fake_id(const std::string& s) { return core::hash_bytes(std::string_view(s)); }

TensorEntry tensor(const std::string& name, const std::string& content, std::uint64_t offset,
                   core::DType dtype = core::DType::f32, std::vector<std::uint64_t> shape = {4}) {
  TensorEntry t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.id = fake_id(content);
  t.offset = offset;
  t.length = 16;
  return t;
}

FileEntry tensor_file(const std::string& path, std::vector<TensorEntry> tensors, const std::string& skeleton = "s") {
  FileEntry f;
  f.path = path;
  f.format = core::FileFormat::safetensors;
  f.id = fake_id(skeleton);
  f.tensors = std::move(tensors);
  f.size = 64;
  return f;
}

FileEntry raw_file(const std::string& path, const std::string& content) {
  FileEntry f;
  f.path = path;
  f.id = fake_id(content);
  f.size = content.size();
  return f;
}

Tree tree(std::vector<FileEntry> files) {
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return Tree{std::move(files)};
}

struct Planned {
  MergePlan plan;
  // The decision for a file or tensor (a failure and an empty decision when there is none).
  const MergeDecision* find(const std::string& path, const std::string& tensor = "") const {
    static const MergeDecision none;
    for (const auto& d : plan.decisions)
      if (d.path == path && d.tensor == tensor) return &d;
    ADD_FAILURE() << "no decision for " << path << ":" << tensor;
    return &none;
  }
};

Planned run_plan(const Tree* base, const std::vector<Tree>& sides, const std::string& strategy = "fail",
                 const std::vector<MergeRule>& rules = {}) {
  std::vector<const Tree*> ptrs;
  std::vector<std::string> labels = {"main", "ft-a", "ft-b", "ft-c"};
  labels.resize(sides.size());
  for (const auto& s : sides) ptrs.push_back(&s);
  MergeStrategy st;
  st.name = strategy;
  return {plan_merge(base, ptrs, labels, st, rules)};
}

// ---- merge bases -----------------------------------------------------------------------------

class MergeBaseTest : public test::RepoTest {
protected:
  core::ObjectId make(const std::vector<core::ObjectId>& parents, std::int64_t time) {
    Commit c;
    c.tree = fake_id("tree");
    c.parents = parents;
    c.author = "t";
    c.email = "t@x";
    c.time = time;
    c.message = "m" + std::to_string(time);
    return repo->objects().write_commit(c);
  }
};

TEST_F(MergeBaseTest, LinearHistoryHasTheOlderCommitAsBase) {
  const auto a = make({}, 1), b = make({a}, 2), c = make({b}, 3), d = make({b}, 4);
  const std::vector<core::ObjectId> heads = {c, d};
  EXPECT_EQ(merge_bases(repo->objects(), heads), std::vector<core::ObjectId>{b});
  const std::vector<core::ObjectId> ff = {a, c};
  EXPECT_EQ(merge_bases(repo->objects(), ff), std::vector<core::ObjectId>{a});
  EXPECT_TRUE(is_ancestor(repo->objects(), a, c));
  EXPECT_FALSE(is_ancestor(repo->objects(), c, d));
}

TEST_F(MergeBaseTest, CrissCrossGivesBothCandidatesNewestFirst) {
  const auto root = make({}, 1), x1 = make({root}, 2), y1 = make({root}, 3);
  const auto x2 = make({x1, y1}, 4), y2 = make({y1, x1}, 5);
  const std::vector<core::ObjectId> heads = {x2, y2};
  EXPECT_EQ(merge_bases(repo->objects(), heads), (std::vector<core::ObjectId>{y1, x1}));
}

TEST_F(MergeBaseTest, OctopusBaseIsCommonToEveryHeadAndUnrelatedHistoriesHaveNone) {
  const auto a = make({}, 1), b = make({a}, 2), c = make({b}, 3), d = make({a}, 4), e = make({b}, 5);
  const std::vector<core::ObjectId> heads = {c, d, e};
  EXPECT_EQ(merge_bases(repo->objects(), heads), std::vector<core::ObjectId>{a});
  const auto lone = make({}, 6);
  const std::vector<core::ObjectId> unrelated = {c, lone};
  EXPECT_TRUE(merge_bases(repo->objects(), unrelated).empty());
}

// log lists a merge's parents before their common parent even when every clock reads the same
// second (scripts commit that fast); ids decide only between commits that are both ready.
TEST_F(MergeBaseTest, LogNeverShowsAParentBeforeItsChildren) {
  for (int variant = 0; variant < 8; ++variant) {
    Commit c;
    c.tree = fake_id("tree");
    c.author = "t";
    c.email = "t@x";
    c.time = 100;
    c.message = "root " + std::to_string(variant);
    const auto root = repo->objects().write_commit(c);
    std::vector<core::ObjectId> tips;
    for (int k = 0; k < 3; ++k) {
      c.parents = {root};
      c.message = "tip " + std::to_string(variant) + "." + std::to_string(k);
      tips.push_back(repo->objects().write_commit(c));
    }
    c.parents = tips;
    c.message = "octopus " + std::to_string(variant);
    const auto merge = repo->objects().write_commit(c);
    const auto commits = log(*repo, {.rev = merge.hex()});
    ASSERT_EQ(commits.size(), 5u);
    EXPECT_EQ(commits.front().id, merge);
    EXPECT_EQ(commits.back().id, root) << "variant " << variant;
  }
}

// ---- the three-way plan -------------------------------------------------------------------

TEST(MergePlanTest, ChangesOnOneSideAreTakenAndDeletionsFollow) {
  const Tree base = tree({raw_file("a.txt", "a0"), raw_file("b.txt", "b0"), raw_file("c.txt", "c0")});
  const Tree ours = tree({raw_file("a.txt", "a1"), raw_file("b.txt", "b0"), raw_file("c.txt", "c0")});
  const Tree theirs = tree({raw_file("a.txt", "a0"), raw_file("c.txt", "c0"), raw_file("d.txt", "d1")});
  const auto p = run_plan(&base, {ours, theirs});
  EXPECT_EQ(p.plan.conflicts, 0u);
  EXPECT_EQ(p.find("a.txt")->action, "take");
  EXPECT_EQ(p.find("a.txt")->from, std::vector<std::string>{"main"});
  EXPECT_EQ(p.find("b.txt")->action, "delete");
  EXPECT_EQ(p.find("c.txt")->action, "unchanged");
  EXPECT_EQ(p.find("d.txt")->action, "take");
  ASSERT_EQ(p.plan.tree.files.size(), 3u);
  EXPECT_EQ(p.plan.tree.files[0].id, fake_id("a1"));
  EXPECT_EQ(p.plan.tree.files[2].path, "d.txt");
}

TEST(MergePlanTest, TheSameChangeOnSeveralSidesIsNoConflict) {
  const Tree base = tree({raw_file("a.txt", "a0")});
  const Tree side = tree({raw_file("a.txt", "a1")});
  const auto p = run_plan(&base, {side, side, side});
  EXPECT_EQ(p.plan.conflicts, 0u);
  EXPECT_EQ(p.find("a.txt")->from, (std::vector<std::string>{"main", "ft-a", "ft-b"}));
}

TEST(MergePlanTest, RawFileChangedOnBothSidesConflictsUnlessOursOrTheirs) {
  const Tree base = tree({raw_file("cfg.json", "0")});
  const Tree ours = tree({raw_file("cfg.json", "1")}), theirs = tree({raw_file("cfg.json", "2")});
  for (const char* s : {"fail", "average", "ties"}) {
    const auto p = run_plan(&base, {ours, theirs}, s);
    EXPECT_EQ(p.plan.conflicts, 1u) << s;
    EXPECT_NE(p.find("cfg.json")->reason.find("changed on main and ft-a"), std::string::npos) << p.find("cfg.json")->reason;
  }
  EXPECT_EQ(run_plan(&base, {ours, theirs}, "ours").plan.tree.files[0].id, fake_id("1"));
  EXPECT_EQ(run_plan(&base, {ours, theirs}, "theirs").plan.tree.files[0].id, fake_id("2"));
}

TEST(MergePlanTest, DeleteAgainstModifyConflicts) {
  const Tree base = tree({tensor_file("m.st", {tensor("w", "w0", 8)})});
  const Tree ours = tree({}), theirs = tree({tensor_file("m.st", {tensor("w", "w1", 8)})});
  const auto p = run_plan(&base, {ours, theirs}, "average");
  EXPECT_EQ(p.plan.conflicts, 1u);
  EXPECT_EQ(p.find("m.st")->reason, "deleted on main, changed on ft-a");
  const auto o = run_plan(&base, {ours, theirs}, "ours");
  EXPECT_EQ(o.plan.conflicts, 0u);
  EXPECT_TRUE(o.plan.tree.files.empty());
  EXPECT_EQ(o.find("m.st")->action, "delete");
}

TEST(MergePlanTest, TensorsChangedOnDifferentSidesAreEachTakenExactly) {
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b0", 24)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a1", 8), tensor("b", "b0", 24)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b2", 24)})});
  const auto p = run_plan(&base, {ours, theirs});
  EXPECT_EQ(p.plan.conflicts, 0u);
  EXPECT_TRUE(p.plan.jobs.empty());
  ASSERT_EQ(p.plan.tree.files.size(), 1u);
  EXPECT_EQ(p.plan.tree.files[0].tensors[0].id, fake_id("a1"));
  EXPECT_EQ(p.plan.tree.files[0].tensors[1].id, fake_id("b2"));
  EXPECT_EQ(p.find("m.st", "a")->from, std::vector<std::string>{"main"});
  EXPECT_EQ(p.find("m.st", "b")->from, std::vector<std::string>{"ft-a"});
}

TEST(MergePlanTest, BothSidesChangedIsAConflictByDefaultAndAJobWithAStrategy) {
  const Tree base = tree({tensor_file("m.st", {tensor("w", "w0", 8)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("w", "w1", 8)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("w", "w2", 8)})});
  const auto fail = run_plan(&base, {ours, theirs});
  EXPECT_EQ(fail.plan.conflicts, 1u);
  EXPECT_EQ(fail.find("m.st", "w")->reason, "changed on main and ft-a");
  const auto avg = run_plan(&base, {ours, theirs}, "ties");
  EXPECT_EQ(avg.plan.conflicts, 0u);
  ASSERT_EQ(avg.plan.jobs.size(), 1u);
  EXPECT_EQ(avg.plan.jobs[0].sides.size(), 2u);
  EXPECT_EQ(avg.plan.jobs[0].base->id, fake_id("w0"));
  EXPECT_EQ(avg.find("m.st", "w")->action, "merge");
  EXPECT_EQ(avg.find("m.st", "w")->strategy, "ties");
  EXPECT_TRUE(avg.plan.tree.files[0].tensors[0].id.is_zero());
  const auto ours_wins = run_plan(&base, {ours, theirs}, "ours");
  EXPECT_EQ(ours_wins.plan.tree.files[0].tensors[0].id, fake_id("w1"));
}

TEST(MergePlanTest, DtypeOrShapeMismatchNamesBoth) {
  const Tree base = tree({tensor_file("m.st", {tensor("w", "w0", 8)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("w", "w1", 8)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("w", "w2", 8, core::DType::f32, {2, 8})}, "s2")});
  // The layout changed on one side only, so the tensor itself is where the two disagree; the
  // message is the same whatever the strategy.
  for (const char* strategy : {"fail", "average"}) {
    const auto p = run_plan(&base, {ours, theirs}, strategy);
    EXPECT_EQ(p.plan.conflicts, 1u);
    EXPECT_EQ(p.find("m.st", "w")->reason, "dtype or shape differs: main F32 [4], ft-a F32 [2,8]");
  }
}

TEST(MergePlanTest, IntegerTensorsAreNotAveraged) {
  const Tree base = tree({tensor_file("m.st", {tensor("ids", "0", 8, core::DType::i64)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("ids", "1", 8, core::DType::i64)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("ids", "2", 8, core::DType::i64)})});
  const auto p = run_plan(&base, {ours, theirs}, "average");
  EXPECT_EQ(p.plan.conflicts, 1u);
  EXPECT_NE(p.find("m.st", "ids")->reason.find("I64 tensors are not merged"), std::string::npos);
  EXPECT_EQ(run_plan(&base, {ours, theirs}, "theirs").plan.tree.files[0].tensors[0].id, fake_id("2"));
}

TEST(MergePlanTest, ATensorAddedOnOneSideIsKeptBesideTheOtherSidesChange) {
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a1", 8)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("a", "a0", 16), tensor("new", "n", 32)}, "s2")});
  const auto p = run_plan(&base, {ours, theirs});
  EXPECT_EQ(p.plan.conflicts, 0u);
  const auto& f = p.plan.tree.files[0];
  EXPECT_EQ(f.id, fake_id("s2"));
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].id, fake_id("a1"));
  EXPECT_EQ(f.tensors[0].offset, 16u);
  EXPECT_EQ(f.tensors[1].id, fake_id("n"));
}

TEST(MergePlanTest, LayoutsChangedDifferentlyConflict) {
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a0", 16), tensor("x", "x", 32)}, "s1")});
  const Tree theirs = tree({tensor_file("m.st", {tensor("a", "a0", 16), tensor("y", "y", 32)}, "s2")});
  const auto p = run_plan(&base, {ours, theirs}, "average");
  EXPECT_EQ(p.plan.conflicts, 1u);
  EXPECT_NE(p.find("m.st")->reason.find("layout changed on main and ft-a"), std::string::npos);
}

TEST(MergePlanTest, ATensorDeletedOnOneSideAndChangedOnAnotherConflicts) {
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b0", 24)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a0", 8)}, "s1")});
  const Tree theirs = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b2", 24)})});
  const auto p = run_plan(&base, {ours, theirs}, "average");
  EXPECT_EQ(p.plan.conflicts, 1u);
  EXPECT_EQ(p.find("m.st", "b")->action, "conflict");
}

TEST(MergePlanTest, FirstMatchingRuleWins) {
  const Tree base = tree({tensor_file("m.st", {tensor("embed.w", "e0", 8), tensor("l.attn.q", "q0", 24),
                                               tensor("l.mlp", "m0", 40)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("embed.w", "e1", 8), tensor("l.attn.q", "q1", 24),
                                               tensor("l.mlp", "m1", 40)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("embed.w", "e2", 8), tensor("l.attn.q", "q2", 24),
                                                 tensor("l.mlp", "m2", 40)})});
  const auto rules = parse_merge_rules("[[rule]]\ntensor = \"embed.*\"\nstrategy = \"ours\"\n"
                                       "[[rule]]\ntensor = \"*.attn.*\"\nstrategy = \"ties\"\ndensity = 0.2\n"
                                       "[[rule]]\ntensor = \"*\"\nfile = \"other/*\"\nstrategy = \"theirs\"\n",
                                       "rules.toml");
  const auto p = run_plan(&base, {ours, theirs}, "average", rules);
  EXPECT_EQ(p.plan.conflicts, 0u);
  EXPECT_EQ(p.plan.tree.files[0].tensors[0].id, fake_id("e1"));
  EXPECT_EQ(p.find("m.st", "embed.w")->rule, 0);
  EXPECT_EQ(p.find("m.st", "l.attn.q")->strategy, "ties");
  EXPECT_EQ(p.find("m.st", "l.attn.q")->rule, 1);
  EXPECT_EQ(p.find("m.st", "l.mlp")->strategy, "average");
  EXPECT_EQ(p.find("m.st", "l.mlp")->rule, -1);
  ASSERT_EQ(p.plan.jobs.size(), 2u);
  EXPECT_EQ(p.plan.jobs[0].strategy.density, 0.2);
}

TEST(MergePlanTest, AddedOnBothSidesWithoutABaseOnlyMergesWithBaseFreeStrategies) {
  const Tree ours = tree({tensor_file("m.st", {tensor("w", "w1", 8)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("w", "w2", 8)})});
  const Tree empty;
  EXPECT_EQ(run_plan(&empty, {ours, theirs}, "average").plan.jobs.size(), 1u);
  const auto p = run_plan(&empty, {ours, theirs}, "task-arithmetic");
  EXPECT_EQ(p.plan.conflicts, 1u);
  EXPECT_NE(p.find("m.st", "w")->reason.find("needs the merge base"), std::string::npos);
}

TEST(MergePlanTest, AWholeFileRuleResolvesAFileConflict) {
  const Tree base = tree({raw_file("notes.txt", "0"), raw_file("cfg.json", "0")});
  const Tree ours = tree({raw_file("notes.txt", "1"), raw_file("cfg.json", "1")});
  const Tree theirs = tree({raw_file("notes.txt", "2"), raw_file("cfg.json", "2")});
  const auto rules = parse_merge_rules("[[rule]]\nfile = \"notes.txt\"\nstrategy = \"theirs\"\n", "r");
  const auto p = run_plan(&base, {ours, theirs}, "fail", rules);
  EXPECT_EQ(p.plan.conflicts, 1u);  // cfg.json: no rule, the command line's fail
  EXPECT_EQ(p.find("notes.txt")->action, "take");
  EXPECT_EQ(p.find("notes.txt")->rule, 0);
  EXPECT_EQ(p.plan.tree.find("notes.txt")->id, fake_id("2"));
}

TEST(MergePlanTest, ASideThatNeverHadAFileOrTensorTakesNoPart) {
  // n.st added on ft-a and ft-b (not on main), m.st gains tensor x on ft-a and ft-b.
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a0", 8)})});
  const Tree fa = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("x", "x1", 24)}, "s2"),
                        tensor_file("n.st", {tensor("w", "w1", 8)})});
  const Tree fb = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("x", "x2", 24)}, "s2"),
                        tensor_file("n.st", {tensor("w", "w2", 8)})});
  const auto p = run_plan(&base, {ours, fa, fb}, "average");
  EXPECT_EQ(p.plan.conflicts, 0u);
  ASSERT_EQ(p.plan.jobs.size(), 2u);
  for (const auto& job : p.plan.jobs) EXPECT_EQ(job.side_index, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(p.find("n.st", "w")->from, (std::vector<std::string>{"ft-a", "ft-b"}));
}

TEST(MergePlanTest, EverySideTakingPartIsNamedAndTensorsOfWholeFilesAreListed) {
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b0", 24)}),
                          tensor_file("k.st", {tensor("k", "k0", 8)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b1", 24)}),
                          tensor_file("k.st", {tensor("k", "k0", 8)})});
  const Tree fa = tree({tensor_file("m.st", {tensor("a", "a1", 8), tensor("b", "b0", 24)}),
                        tensor_file("k.st", {tensor("k", "k1", 8)})});
  const Tree fb = tree({tensor_file("m.st", {tensor("a", "a2", 8), tensor("b", "b0", 24)}),
                        tensor_file("k.st", {tensor("k", "k0", 8)})});
  const auto p = run_plan(&base, {ours, fa, fb}, "average");
  // a changed on ft-a and ft-b: main's unchanged version is averaged in too, and named.
  EXPECT_EQ(p.find("m.st", "a")->from, (std::vector<std::string>{"main", "ft-a", "ft-b"}));
  EXPECT_EQ(p.plan.jobs[0].sides.size(), 3u);
  // k.st is taken whole from ft-a: its tensor is listed as well.
  EXPECT_EQ(p.find("k.st")->action, "take");
  EXPECT_EQ(p.find("k.st", "k")->action, "take");
  EXPECT_EQ(p.find("k.st", "k")->from, std::vector<std::string>{"ft-a"});
}

TEST(MergePlanTest, SoupAveragesWhatTheIngredientsHoldDifferently) {
  // Only ft-a changed a: a three-way merge takes it, a soup averages it with main's.
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b0", 24)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b0", 24)})});
  const Tree fa = tree({tensor_file("m.st", {tensor("a", "a1", 8), tensor("b", "b0", 24)})});
  EXPECT_TRUE(run_plan(&base, {ours, fa}, "average").plan.jobs.empty());
  const auto soup = run_plan(&base, {ours, fa}, "soup");
  ASSERT_EQ(soup.plan.jobs.size(), 1u);
  EXPECT_EQ(soup.find("m.st", "a")->action, "merge");
  EXPECT_EQ(soup.find("m.st", "b")->action, "unchanged");
}

// ours/theirs choose between versions; a version that does not fit the merged layout (the other
// side reshaped the tensor) is a conflict naming both, never a silent take-over of the file.
TEST(MergePlanTest, OursCannotTakeAVersionThatDoesNotFitTheMergedLayout) {
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("u", "u0", 24)})});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a1", 8), tensor("u", "u0", 24)})});
  const Tree theirs = tree({tensor_file("m.st", {tensor("a", "a2", 8, core::DType::f32, {2, 2}), tensor("u", "u2", 24)}, "s2")});
  const auto p = run_plan(&base, {ours, theirs}, "ours");
  EXPECT_EQ(p.plan.conflicts, 1u);
  EXPECT_EQ(p.find("m.st", "a")->reason, "main's version F32 [4] does not fit the merged layout (F32 [2,2])");
  EXPECT_EQ(p.find("m.st", "u")->action, "take");  // changed on theirs only: still taken
  const auto t = run_plan(&base, {ours, theirs}, "theirs");
  EXPECT_EQ(t.plan.conflicts, 0u);
  EXPECT_EQ(t.plan.tree.files[0].tensors[0].id, fake_id("a2"));
}

TEST(MergePlanTest, ADeletionAgainstAModeChangeConflicts) {
  FileEntry run0 = raw_file("run.sh", "v0"), run_x = run0;
  run_x.mode = 0755;
  const Tree base = tree({run0}), ours = tree({}), theirs = tree({run_x});
  const auto p = run_plan(&base, {ours, theirs});
  EXPECT_EQ(p.plan.conflicts, 1u);
  EXPECT_EQ(p.find("run.sh")->reason, "deleted on main, changed on ft-a");
}

TEST(MergePlanTest, TensorsOfAFileTakenWholeSayWhichChanged) {
  const Tree base = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b0", 24)}), raw_file("n", "0")});
  const Tree ours = tree({tensor_file("m.st", {tensor("a", "a0", 8), tensor("b", "b0", 24)}), raw_file("n", "1")});
  const Tree theirs = tree({tensor_file("m.st", {tensor("a", "a2", 8), tensor("b", "b0", 24)}), raw_file("n", "0")});
  const auto p = run_plan(&base, {ours, theirs});
  EXPECT_EQ(p.find("m.st")->action, "take");
  EXPECT_EQ(p.find("m.st", "a")->action, "take");
  EXPECT_EQ(p.find("m.st", "a")->from, std::vector<std::string>{"ft-a"});
  EXPECT_EQ(p.find("m.st", "b")->action, "unchanged");
}

TEST(MergePlanTest, SoupTakesWhatCannotBeAveraged) {
  const Tree base = tree({tensor_file("m.st", {tensor("w", "w0", 8), tensor("step", "s0", 24, core::DType::i32)})});
  const Tree a = tree({tensor_file("m.st", {tensor("w", "w1", 8), tensor("step", "s1", 24, core::DType::i32)})});
  const Tree b = tree({tensor_file("m.st", {tensor("w", "w2", 8), tensor("step", "s0", 24, core::DType::i32)})});
  const auto p = run_plan(&base, {a, b}, "soup");
  EXPECT_EQ(p.plan.conflicts, 0u);
  EXPECT_EQ(p.find("m.st", "step")->action, "take");
  EXPECT_EQ(p.find("m.st", "w")->action, "merge");
}

TEST(MergePlanTest, AModeChangeMergesWithAContentChange) {
  FileEntry run0 = raw_file("run.sh", "v0"), run_x = run0, run1 = raw_file("run.sh", "v1");
  run_x.mode = 0755;
  FileEntry m0 = tensor_file("m.st", {tensor("a", "a0", 8)}), m_x = m0;
  m_x.mode = 0755;
  const Tree base = tree({run0, m0});
  const Tree ours = tree({run1, tensor_file("m.st", {tensor("a", "a0", 16), tensor("b", "b", 32)}, "s2")});
  const Tree theirs = tree({run_x, m_x});
  const auto p = run_plan(&base, {ours, theirs});
  EXPECT_EQ(p.plan.conflicts, 0u);
  const FileEntry* run = p.plan.tree.find("run.sh");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->id, fake_id("v1"));
  EXPECT_EQ(run->mode, 0755u);
  const FileEntry* m = p.plan.tree.find("m.st");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->tensors.size(), 2u);
  EXPECT_EQ(m->mode, 0755u);
}

// ---- strategies and rules ------------------------------------------------------------------

TEST(MergeStrategyTest, ValidatesNamesAndParameters) {
  MergeStrategy s;
  s.name = "ties";
  s.density = 0.2;
  EXPECT_NO_THROW(validate_merge_strategy(s, 3, "--strategy"));
  EXPECT_EQ(s.parameters(),
            (std::map<std::string, std::string>{{"density", "0.2"}, {"lambda", "1"}, {"normalize", "true"}}));
  s.density = 0;
  EXPECT_THROW(validate_merge_strategy(s, 3, "--strategy"), UsageError);
  s.density.reset();
  s.t = 0.5;
  EXPECT_THROW(validate_merge_strategy(s, 3, "--strategy"), UsageError);
  MergeStrategy theirs;
  theirs.name = "theirs";
  EXPECT_NO_THROW(validate_merge_strategy(theirs, 2, "--strategy"));
  EXPECT_THROW(validate_merge_strategy(theirs, 3, "--strategy"), UsageError);
  MergeStrategy w;
  w.name = "weighted";
  EXPECT_THROW(validate_merge_strategy(w, 2, "--strategy"), UsageError);  // needs weights
  w.weights = {1, 2, 3};
  EXPECT_THROW(validate_merge_strategy(w, 2, "--strategy"), UsageError);  // one per side
  w.weights = {1, 3};
  EXPECT_NO_THROW(validate_merge_strategy(w, 2, "--strategy"));
  EXPECT_EQ(w.parameters().at("weights"), "1,3");
  MergeStrategy bogus;
  bogus.name = "median";
  EXPECT_THROW(validate_merge_strategy(bogus, 2, "--strategy"), UsageError);
  MergeStrategy dare;
  dare.name = "dare";
  EXPECT_EQ(dare.parameters(),
            (std::map<std::string, std::string>{{"density", "1"}, {"lambda", "1"}, {"seed", "0"}}));
}

TEST(MergeStrategyTest, RulesFileErrorsNameTheFileAndRule) {
  auto message = [](const std::string& text) {
    try {
      parse_merge_rules(text, "r.toml");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("[[rule]]\ntensor = \"*\"\nstrategy = \"average\"\ncolour = 1\n"), "r.toml: rule 1: unknown key 'colour'");
  EXPECT_EQ(message("[[rule]]\ntensor = \"*\"\nstrategy = \"soup\"\n"),
            "r.toml: rule 1: 'soup' applies to the whole merge, not to a rule");
  EXPECT_EQ(message("[[rule]]\ntensor = \"*\"\n"), "r.toml: rule 1: 'strategy' is missing");
  EXPECT_NE(message("[[rule]]\ntensor = \"*\"\nstrategy = \"ties\"\ndensity = 2.0\n").find("rule 1: density must be in (0, 1]"),
            std::string::npos);
  EXPECT_NE(message("[[rule]\n").find("r.toml: line 1"), std::string::npos);
  const auto rules = parse_merge_rules("[[rule]]\nfile = \"*.st\"\nstrategy = \"dare\"\nseed = 7\nweights = [1, 0.5]\n", "r");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].tensor, "*");
  EXPECT_EQ(rules[0].strategy.seed, 7u);
  EXPECT_EQ(rules[0].strategy.weights, (std::vector<double>{1, 0.5}));
}

TEST(MergeSoupTest, GreedySoupAddsASideOnlyWhenTheScoreImproves) {
  // Scores: each side alone, and the averages the soup tries.
  std::map<std::vector<std::size_t>, double> scores = {
    {{0}, 0.5}, {{1}, 0.7}, {{2}, 0.6}, {{1, 2}, 0.75}, {{0, 1, 2}, 0.74}};
  std::vector<std::vector<std::size_t>> asked;
  const auto out = greedy_soup({"main", "a", "b"}, true, [&](const std::vector<std::size_t>& s) {
    asked.push_back(s);
    return scores.at(s);
  });
  // Best first (a), then b (improves to 0.75), then main (0.74 with both: dropped).
  ASSERT_EQ(out.steps.size(), 2u);
  EXPECT_EQ(out.steps[0].ingredients, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(out.steps[0].kept);
  EXPECT_EQ(out.steps[1].ingredients, (std::vector<std::string>{"main", "a", "b"}));
  EXPECT_FALSE(out.steps[1].kept);
  EXPECT_EQ(out.selected, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(out.side_scores, (std::vector<double>{0.5, 0.7, 0.6}));
}

}  // namespace
