// merge: fast-forward, merge commits (two sides and octopus), conflicts that write nothing,
// strategies checked byte for byte (one side's bytes, average, BF16 rounding), criss-cross
// histories, rules, soup, dry runs, --json and the refusals.
#include "cli_support.hpp"
#include "support/checkpoint.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <csignal>
#include <cstring>
#include <regex>
#include <set>

using namespace coral::test;
using nlohmann::json;

namespace {

const std::string k_model = "model.safetensors";
const std::string k_author = "--author=Ada";

std::vector<float> ramp(std::size_t n, float start, float step = 0.25f) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

// The merge base's model: three F32 tensors.
std::vector<F32Tensor> base_tensors() {
  return {{"embed.weight", {4, 4}, ramp(16, -2.0f)},
          {"layer.0.weight", {4, 4}, ramp(16, 1.0f)},
          {"layer.0.bias", {4}, {0.5f, 0.25f, -0.5f, 1.0f}}};
}

// `tensors` with tensor `name` replaced by `values` (same shape unless `shape` is given).
std::vector<F32Tensor> with(std::vector<F32Tensor> tensors, const std::string& name, std::vector<float> values,
                            std::vector<std::uint64_t> shape = {}) {
  for (auto& t : tensors)
    if (t.name == name) {
      t.values = std::move(values);
      if (!shape.empty()) t.shape = std::move(shape);
    }
  return tensors;
}

// The data of tensor `name` in a safetensors image.
std::string tensor_bytes(const std::string& file, const std::string& name) {
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<std::uint64_t>(static_cast<unsigned char>(file.at(i))) << (8 * i);
  const auto header = json::parse(file.substr(8, n));
  const auto& offsets = header.at(name).at("data_offsets");
  const auto begin = offsets.at(0).get<std::size_t>();
  const auto end = offsets.at(1).get<std::size_t>();
  return file.substr(8 + n + begin, end - begin);
}

std::string f32_bytes(const std::vector<float>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)};
}

std::vector<float> f32_values(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// The bytes of tensor `name` in `tensors` (what write_safetensors stores).
std::string bytes_of(const std::vector<F32Tensor>& tensors, const std::string& name) {
  for (const auto& t : tensors)
    if (t.name == name) return f32_bytes(t.values);
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

// The element-wise mean of two F32 tensors as docs/merge.md defines it: in double, rounded once.
std::string f32_average(const std::string& a, const std::string& b) {
  const auto x = f32_values(a);
  const auto y = f32_values(b);
  std::vector<float> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    out[i] = static_cast<float>((static_cast<double>(x[i]) + static_cast<double>(y[i])) / 2.0);
  return f32_bytes(out);
}

// init; model.safetensors with base_tensors(); commit "base" on main.
void init_base(const CliDir& dir) {
  dir.ok({"init"});
  write_safetensors(dir / k_model, base_tensors());
  dir.ok({"add", k_model});
  dir.ok({"commit", "-m", "base", k_author});
}

// Writes the model and commits it on the current branch.
void commit_model(const CliDir& dir, const std::vector<F32Tensor>& tensors, const std::string& message) {
  write_safetensors(dir / k_model, tensors);
  dir.ok({"add", k_model});
  dir.ok({"commit", "-m", message, k_author});
}

// Creates `branch` at `start`, commits `tensors` on it, and goes back to main.
void branch_with(const CliDir& dir, const std::string& branch, const std::string& start,
                 const std::vector<F32Tensor>& tensors) {
  dir.ok({"checkout", "-b", branch, start});
  commit_model(dir, tensors, "on " + branch);
  dir.ok({"checkout", "main"});
}

// main and ft diverge from the base: main changes layer.0.weight and layer.0.bias, ft changes
// layer.0.weight and embed.weight.
struct Diverged {
  std::vector<F32Tensor> ours, theirs;
};
Diverged diverge(const CliDir& dir) {
  init_base(dir);
  Diverged d;
  d.theirs = with(with(base_tensors(), "layer.0.weight", ramp(16, 3.0f, 0.5f)), "embed.weight", ramp(16, 5.0f));
  branch_with(dir, "ft", "main", d.theirs);
  d.ours = with(with(base_tensors(), "layer.0.weight", ramp(16, -1.0f, 0.125f)), "layer.0.bias", {1, 2, 3, 4});
  commit_model(dir, d.ours, "on main");
  return d;
}

std::string short_id(const std::string& id) { return id.substr(0, 8); }

json last_commit(const CliDir& dir, const std::string& rev = "HEAD") {
  return json::parse(dir.ok({"log", "--json", "-n", "1", rev}).out).at(0);
}

// bfloat16 from float, rounding to nearest even (NaN stays a quiet NaN).
std::uint16_t bf16_from_float(float f) {
  const auto bits = std::bit_cast<std::uint32_t>(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  const std::uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(rounded >> 16);
}
float float_from_bf16(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

std::string bf16_bytes(const std::vector<std::uint16_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(std::uint16_t)};
}

std::string bf16_model(const std::vector<std::uint16_t>& w) {
  return safetensors_bytes(std::vector<FakeTensor>{{"w", "BF16", {w.size()}, bf16_bytes(w)}});
}

}  // namespace

TEST(CliMergeTest, FastForwardMovesTheBranchAndTheWorkingTree) {
  CliDir dir;
  init_base(dir);
  const std::string old_head = dir.commit_id("main");
  const auto ft = with(base_tensors(), "layer.0.weight", ramp(16, 7.0f));
  branch_with(dir, "ft", "main", ft);
  const std::string ft_head = dir.commit_id("ft");

  const auto r = dir.ok({"merge", "ft"});
  EXPECT_EQ(r.out, "Updating " + short_id(old_head) + ".." + short_id(ft_head) + "\nFast-forward\n 1 file changed\n");
  EXPECT_EQ(dir.commit_id("main"), ft_head);
  EXPECT_EQ(dir.read(k_model), safetensors_bytes(ft));
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
  EXPECT_TRUE(contains(dir.ok({"status"}).out, "On branch main\n"));
}

TEST(CliMergeTest, FastForwardOnlyRefusesARealMergeAndAcceptsAFastForward) {
  CliDir dir;
  diverge(dir);
  const std::string head = dir.commit_id("main");
  const std::string file = dir.read(k_model);
  const auto r = dir.run({"merge", "ft", "--ff-only"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "coral: error: ")) << r.err;
  EXPECT_EQ(dir.commit_id("main"), head);
  EXPECT_EQ(dir.read(k_model), file);

  dir.ok({"checkout", "-b", "behind", "main~1"});
  dir.ok({"merge", "--ff-only", "main"});
  EXPECT_EQ(dir.commit_id("behind"), head);
}

TEST(CliMergeTest, NoFastForwardCreatesAMergeCommitWithTwoParents) {
  CliDir dir;
  init_base(dir);
  const std::string old_head = dir.commit_id("main");
  const auto ft = with(base_tensors(), "layer.0.bias", {9, 8, 7, 6});
  branch_with(dir, "ft", "main", ft);
  const std::string ft_head = dir.commit_id("ft");

  const auto r = dir.ok({"merge", "--no-ff", "ft"});
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\\[main [0-9a-f]{8}\\] Merge branch 'ft'\n"))) << r.out;
  const auto c = last_commit(dir);
  EXPECT_EQ(c.at("parents"), json::array({old_head, ft_head}));
  EXPECT_EQ(c.at("merge").at("strategy"), "fail");
  EXPECT_EQ(c.at("merge").at("base"), old_head);
  EXPECT_EQ(dir.read(k_model), safetensors_bytes(ft));
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
}

TEST(CliMergeTest, AlreadyUpToDate) {
  CliDir dir;
  init_base(dir);
  dir.ok({"branch", "old"});
  commit_model(dir, with(base_tensors(), "layer.0.bias", {1, 1, 1, 1}), "ahead");
  const std::string head = dir.commit_id("main");

  EXPECT_EQ(dir.ok({"merge", "old"}).out, "Already up to date.\n");
  EXPECT_EQ(dir.ok({"merge", "main"}).out, "Already up to date.\n");
  const auto j = json::parse(dir.ok({"--json", "merge", "old"}).out);
  EXPECT_EQ(j.at("result"), "up-to-date");
  EXPECT_TRUE(j.at("commit").is_null());
  EXPECT_EQ(j.at("target"), head);
  EXPECT_EQ(dir.commit_id("main"), head);
}

TEST(CliMergeTest, ChangesOnDifferentTensorsTakeEachSidesBytesExactly) {
  CliDir dir;
  init_base(dir);
  const std::string base = dir.commit_id("main");
  const auto theirs = with(base_tensors(), "layer.0.weight", ramp(16, 0.1f, 0.3f));
  branch_with(dir, "ft", "main", theirs);
  const auto ours = with(base_tensors(), "layer.0.bias", {-1, -2, -3, -4});
  commit_model(dir, ours, "bias on main");
  const std::string ours_head = dir.commit_id("main");

  const auto r = dir.ok({"merge", "ft"});  // the default strategy: nothing changed on both sides
  EXPECT_EQ(r.out.rfind("Merge base " + short_id(base) + "\n", 0), 0u) << r.out;
  EXPECT_TRUE(contains(r.out, "1 from ft")) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n\\[main [0-9a-f]{8}\\] Merge branch 'ft'\n$"))) << r.out;

  const std::string merged = dir.read(k_model);
  EXPECT_EQ(tensor_bytes(merged, "layer.0.weight"), bytes_of(theirs, "layer.0.weight"));
  EXPECT_EQ(tensor_bytes(merged, "layer.0.bias"), bytes_of(ours, "layer.0.bias"));
  EXPECT_EQ(tensor_bytes(merged, "embed.weight"), bytes_of(base_tensors(), "embed.weight"));
  EXPECT_EQ(last_commit(dir).at("parents"), json::array({ours_head, dir.commit_id("ft")}));
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
}

TEST(CliMergeTest, OctopusTiesMergeRecordsEveryParentInOrder) {
  CliDir dir;
  init_base(dir);
  const std::string main_head = dir.commit_id("main");
  branch_with(dir, "ft-a", "main", with(base_tensors(), "layer.0.weight", ramp(16, 1.5f)));
  branch_with(dir, "ft-b", "main", with(base_tensors(), "layer.0.weight", ramp(16, 0.5f, 0.3f)));
  branch_with(dir, "ft-c", "main", with(base_tensors(), "layer.0.weight", ramp(16, 2.0f, -0.1f)));

  // main is an ancestor of every branch: as in git's octopus merge it is no side and no parent...
  const auto dry = json::parse(dir.ok({"--json", "merge", "ft-a", "ft-b", "ft-c", "--strategy", "ties", "--dry-run"}).out);
  ASSERT_EQ(dry.at("sides").size(), 3u) << dry.dump(2);
  EXPECT_EQ(dry.at("sides").at(0).at("label"), "ft-a");
  // ...unless --no-ff keeps it.
  const auto r = dir.ok({"merge", "ft-a", "ft-b", "ft-c", "--no-ff", "--strategy", "ties", "--density", "0.5",
                         "--lambda", "1"});
  EXPECT_TRUE(contains(r.out, "with ties")) << r.out;
  EXPECT_TRUE(contains(r.out, "] Merge branches 'ft-a', 'ft-b' and 'ft-c'\n")) << r.out;
  const auto c = last_commit(dir);
  EXPECT_EQ(c.at("parents"),
            json::array({main_head, dir.commit_id("ft-a"), dir.commit_id("ft-b"), dir.commit_id("ft-c")}));
  EXPECT_EQ(c.at("merge").at("strategy"), "ties");
  EXPECT_EQ(c.at("merge").at("parameters").at("density"), "0.5");
  EXPECT_EQ(c.at("merge").at("parameters").at("lambda"), "1");
  EXPECT_EQ(c.at("merge").at("base"), main_head);
  const std::string merged = tensor_bytes(dir.read(k_model), "layer.0.weight");
  EXPECT_NE(merged, bytes_of(base_tensors(), "layer.0.weight"));
  EXPECT_EQ(merged.size(), 16 * sizeof(float));
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
}

TEST(CliMergeTest, ConflictWithTheDefaultStrategyWritesNothing) {
  CliDir dir;
  diverge(dir);
  const std::string head = dir.commit_id("main");
  const std::string file = dir.read(k_model);
  const std::string log = dir.ok({"log"}).out;

  const auto r = dir.run({"merge", "ft"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "CONFLICT model.safetensors:layer.0.weight: ")) << r.err;
  EXPECT_FALSE(contains(r.err, "embed.weight")) << r.err;  // changed on one side only
  EXPECT_TRUE(contains(r.err, "coral: error: merge stopped: 1 conflict, nothing written\n")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint: choose a strategy with --strategy")) << r.err;
  EXPECT_EQ(dir.commit_id("main"), head);
  EXPECT_EQ(dir.read(k_model), file);
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
  EXPECT_EQ(dir.ok({"log"}).out, log);

  const auto j = dir.run({"--json", "merge", "ft"});
  EXPECT_EQ(j.exit_code, 4) << j.err;
  EXPECT_TRUE(contains(j.err, "coral: error: merge stopped")) << j.err;
  const auto doc = json::parse(j.out);
  EXPECT_EQ(doc.at("result"), "conflict");
  EXPECT_EQ(doc.at("conflicts"), 1);
  EXPECT_TRUE(doc.at("commit").is_null());
  const auto& decisions = doc.at("decisions");
  const auto it = std::find_if(decisions.begin(), decisions.end(), [](const json& d) {
    return d.at("tensor") == "layer.0.weight";
  });
  ASSERT_NE(it, decisions.end()) << doc.dump(2);
  EXPECT_EQ(it->at("action"), "conflict");
  EXPECT_TRUE(it->at("reason").is_string());
  EXPECT_EQ(dir.commit_id("main"), head);
  EXPECT_EQ(dir.read(k_model), file);
}

TEST(CliMergeTest, ShapeMismatchIsAConflictNamingBothShapes) {
  CliDir dir;
  init_base(dir);
  branch_with(dir, "ft", "main", with(base_tensors(), "layer.0.weight", ramp(32, 0.0f), {4, 8}));
  commit_model(dir, with(base_tensors(), "layer.0.weight", ramp(16, 9.0f)), "on main");
  const std::string head = dir.commit_id("main");
  const std::string file = dir.read(k_model);

  const auto r = dir.run({"merge", "ft", "--strategy", "average"});  // no strategy resolves it
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "CONFLICT model.safetensors:layer.0.weight: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "[4,4]")) << r.err;  // shapes as diff and show print them
  EXPECT_TRUE(contains(r.err, "[4,8]")) << r.err;
  EXPECT_EQ(dir.commit_id("main"), head);
  EXPECT_EQ(dir.read(k_model), file);
}

TEST(CliMergeTest, CrissCrossHistoryMergesWithOneOfTwoBases) {
  CliDir dir;
  init_base(dir);
  branch_with(dir, "x", "main", with(base_tensors(), "layer.0.weight", ramp(16, 3.0f)));
  branch_with(dir, "y", "main", with(base_tensors(), "layer.0.bias", {3, 3, 3, 3}));
  const std::string x1 = dir.commit_id("x");
  const std::string y1 = dir.commit_id("y");
  dir.ok({"checkout", "x"});
  dir.ok({"merge", "y"});  // x: merge of x1 and y1
  dir.ok({"checkout", "y"});
  dir.ok({"merge", x1});  // y: merge of y1 and x1
  commit_model(dir, with(with(with(base_tensors(), "layer.0.weight", ramp(16, 3.0f)), "layer.0.bias", {3, 3, 3, 3}),
                         "embed.weight", ramp(16, 0.0f, 1.0f)),
               "embed on y");
  dir.ok({"checkout", "x"});

  const auto dry = dir.ok({"merge", "y", "--dry-run"});
  const std::regex criss_cross("^Merge base [0-9a-f]{8} \\(criss-cross: chose it of 2 candidates\\)\n");
  EXPECT_TRUE(std::regex_search(dry.out, criss_cross)) << dry.out;
  EXPECT_TRUE(contains(dry.out, "take     model.safetensors:embed.weight  from y\n")) << dry.out;

  const auto j = json::parse(dir.ok({"--json", "merge", "y"}).out);
  EXPECT_EQ(j.at("result"), "merge");
  EXPECT_EQ(j.at("criss_cross"), true);
  ASSERT_EQ(j.at("merge_base_candidates").size(), 2u);
  EXPECT_EQ(j.at("merge_base_candidates").get<std::set<std::string>>(), (std::set<std::string>{x1, y1}));
  EXPECT_TRUE(j.at("merge_base") == x1 || j.at("merge_base") == y1) << j.at("merge_base");
  EXPECT_EQ(j.at("commit").at("merge").at("base"), j.at("merge_base"));
  EXPECT_EQ(tensor_bytes(dir.read(k_model), "embed.weight"), f32_bytes(ramp(16, 0.0f, 1.0f)));
}

TEST(CliMergeTest, Bf16AverageRoundsToNearestEven) {
  CliDir dir;
  dir.ok({"init"});
  // Pairs whose mean is a tie between two bf16 values, lies between them, or is exact.
  const std::vector<std::uint16_t> base = {0x3f80, 0x3f80, 0x3f80, 0x3f80, 0xbf80, 0x4049, 0x0000, 0x3c23};
  const std::vector<std::uint16_t> ours = {0x3f80, 0x3f81, 0x3f80, 0xc000, 0xbf81, 0x4049, 0x0001, 0x3c24};
  const std::vector<std::uint16_t> theirs = {0x3f81, 0x3f82, 0x3f83, 0x3f81, 0xbf82, 0x404a, 0x8001, 0x3c27};
  dir.write(k_model, bf16_model(base));
  dir.ok({"add", k_model});
  dir.ok({"commit", "-m", "base", k_author});
  dir.ok({"checkout", "-b", "ft"});
  dir.write(k_model, bf16_model(theirs));
  dir.ok({"commit", "-a", "-m", "theirs", k_author});
  dir.ok({"checkout", "main"});
  dir.write(k_model, bf16_model(ours));
  dir.ok({"commit", "-a", "-m", "ours", k_author});

  dir.ok({"merge", "ft", "--strategy", "average"});
  std::vector<std::uint16_t> expected(base.size());
  for (std::size_t i = 0; i < base.size(); ++i) {
    const double mean = (static_cast<double>(float_from_bf16(ours[i])) + float_from_bf16(theirs[i])) / 2.0;
    expected[i] = bf16_from_float(static_cast<float>(mean));
  }
  EXPECT_EQ(expected[0], 0x3f80);  // 1.00390625 is halfway: to the even 0x3f80
  EXPECT_EQ(expected[1], 0x3f82);  // halfway between 0x3f81 and 0x3f82: to the even 0x3f82
  const std::string merged = dir.read(k_model);
  EXPECT_EQ(tensor_bytes(merged, "w"), bf16_bytes(expected));
  EXPECT_EQ(last_commit(dir).at("merge").at("strategy"), "average");
}

TEST(CliMergeTest, DetachedHeadIsRefused) {
  CliDir dir;
  init_base(dir);
  branch_with(dir, "ft", "main", with(base_tensors(), "layer.0.bias", {1, 1, 1, 1}));
  dir.ok({"checkout", dir.commit_id("main")});
  const std::string file = dir.read(k_model);
  const auto r = dir.run({"merge", "ft"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "detached")) << r.err;
  EXPECT_EQ(dir.read(k_model), file);
  EXPECT_TRUE(contains(dir.ok({"status"}).out, "HEAD detached at ")) << dir.ok({"status"}).out;
}

TEST(CliMergeTest, DryRunReportsDecisionsAndWritesNothing) {
  CliDir dir;
  diverge(dir);
  const std::string head = dir.commit_id("main");
  const std::string file = dir.read(k_model);

  const auto r = dir.ok({"merge", "ft", "--strategy", "average", "--dry-run"});
  EXPECT_EQ(r.out.rfind("Merge base " + short_id(dir.commit_id("main~1")) + "\n", 0), 0u) << r.out;
  EXPECT_TRUE(contains(r.out, "\nmerge    model.safetensors:layer.0.weight  (average)\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\ntake     model.safetensors:embed.weight  from ft\n")) << r.out;
  EXPECT_TRUE(r.out.ends_with("\ndry run: nothing written\n")) << r.out;
  EXPECT_EQ(dir.commit_id("main"), head);
  EXPECT_EQ(dir.read(k_model), file);
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");

  const auto j = json::parse(dir.ok({"--json", "merge", "ft", "--strategy", "average", "--dry-run"}).out);
  EXPECT_EQ(j.at("dry_run"), true);
  EXPECT_EQ(j.at("result"), "merge");
  EXPECT_TRUE(j.at("commit").is_null());
  EXPECT_EQ(dir.commit_id("main"), head);

  // A dry run with conflicts lists them and exits 4.
  const auto c = dir.run({"merge", "ft", "--dry-run"});
  EXPECT_EQ(c.exit_code, 4) << c.err;
  EXPECT_TRUE(contains(c.out, "\nconflict model.safetensors:layer.0.weight  ")) << c.out;
  EXPECT_TRUE(contains(c.out, "dry run: nothing written\n")) << c.out;
  EXPECT_EQ(dir.commit_id("main"), head);
}

TEST(CliMergeTest, JsonHasOneDecisionPerTensor) {
  CliDir dir;
  const auto sides = diverge(dir);
  const std::string ours_head = dir.commit_id("main");
  const std::string ft_head = dir.commit_id("ft");
  const std::string base = dir.commit_id("main~1");

  const auto j = json::parse(dir.ok({"--json", "merge", "ft", "--strategy", "average"}).out);
  EXPECT_EQ(j.at("result"), "merge");
  EXPECT_EQ(j.at("dry_run"), false);
  EXPECT_EQ(j.at("branch"), "main");
  EXPECT_EQ(j.at("sides"), json::parse(R"([{"label":"main","commit":")" + ours_head +
                                       R"("},{"label":"ft","commit":")" + ft_head + R"("}])"));
  EXPECT_EQ(j.at("merge_base"), base);
  EXPECT_EQ(j.at("merge_base_candidates"), json::array({j.at("merge_base")}));
  EXPECT_EQ(j.at("criss_cross"), false);
  EXPECT_EQ(j.at("strategy"), "average");
  EXPECT_TRUE(j.at("parameters").is_object());
  EXPECT_EQ(j.at("rules"), json::array());
  EXPECT_EQ(j.at("conflicts"), 0);
  EXPECT_GE(j.at("tensors_merged").get<int>(), 1);
  EXPECT_EQ(j.at("files_written"), 1);
  EXPECT_EQ(j.at("files_removed"), 0);
  EXPECT_EQ(j.at("commit").at("id"), dir.commit_id("main"));
  EXPECT_EQ(j.at("commit").at("parents"), json::array({ours_head, ft_head}));
  EXPECT_EQ(j.at("target"), dir.commit_id("main"));
  EXPECT_FALSE(j.contains("soup"));

  std::map<std::string, json> by_tensor;
  for (const auto& d : j.at("decisions")) {
    for (const char* key : {"path", "tensor", "action", "from", "strategy", "rule", "reason"})
      EXPECT_TRUE(d.contains(key)) << key << " in " << d.dump();
    if (d.at("path") != k_model || d.at("tensor").is_null()) continue;
    EXPECT_TRUE(by_tensor.emplace(d.at("tensor").get<std::string>(), d).second) << "twice: " << d.dump();
  }
  ASSERT_EQ(by_tensor.size(), 3u) << j.at("decisions").dump(2);
  EXPECT_EQ(by_tensor.at("layer.0.weight").at("action"), "merge");
  EXPECT_EQ(by_tensor.at("layer.0.weight").at("strategy"), "average");
  EXPECT_TRUE(by_tensor.at("layer.0.weight").at("rule").is_null());
  EXPECT_EQ(by_tensor.at("embed.weight").at("action"), "take");
  EXPECT_EQ(by_tensor.at("embed.weight").at("from"), json::array({"ft"}));
  EXPECT_NE(by_tensor.at("layer.0.bias").at("action"), "merge");

  const std::string merged = dir.read(k_model);
  EXPECT_EQ(tensor_bytes(merged, "layer.0.weight"),
            f32_average(bytes_of(sides.ours, "layer.0.weight"), bytes_of(sides.theirs, "layer.0.weight")));
  EXPECT_EQ(tensor_bytes(merged, "embed.weight"), bytes_of(sides.theirs, "embed.weight"));
  EXPECT_EQ(tensor_bytes(merged, "layer.0.bias"), bytes_of(sides.ours, "layer.0.bias"));
}

TEST(CliMergeTest, ShowOfAMergeCommitPrintsStrategyParametersAndBase) {
  CliDir dir;
  diverge(dir);
  const std::string base = dir.commit_id("main~1");
  dir.ok({"merge", "ft", "--strategy", "ties", "--density", "0.5"});
  const auto show = dir.ok({"show"}).out;
  EXPECT_TRUE(contains(show, "\nMerge: ")) << show;
  EXPECT_TRUE(contains(show, "\nStrategy: ties ")) << show;
  EXPECT_TRUE(contains(show, " density=0.5")) << show;
  EXPECT_TRUE(contains(show, "\nMerge base: " + short_id(base) + "\n")) << show;
  EXPECT_FALSE(contains(show, "\nRule ")) << show;
  EXPECT_TRUE(contains(dir.ok({"log", "-n", "1"}).out, "\nStrategy: ties ")) << dir.ok({"log", "-n", "1"}).out;
  const auto j = json::parse(dir.ok({"--json", "show"}).out).at("commit").at("merge");
  EXPECT_EQ(j.at("strategy"), "ties");
  EXPECT_EQ(j.at("parameters").at("density"), "0.5");
  EXPECT_EQ(j.at("base"), base);
  EXPECT_FALSE(j.contains("rules"));
}

TEST(CliMergeTest, RulesFileChoosesAStrategyPerTensorAndIsRecorded) {
  CliDir dir;
  TempDir aux;
  init_base(dir);
  const auto theirs =
    with(with(base_tensors(), "embed.weight", ramp(16, 4.0f)), "layer.0.weight", ramp(16, 2.0f, 0.5f));
  branch_with(dir, "ft", "main", theirs);
  const auto ours = with(with(base_tensors(), "embed.weight", ramp(16, -4.0f)), "layer.0.weight", ramp(16, 0.3f, 0.2f));
  commit_model(dir, ours, "on main");
  const std::string rules = (aux / "rules.toml").string();
  write_file(rules,
             "[[rule]]\n"
             "tensor = \"embed.*\"\n"
             "strategy = \"ours\"\n"
             "\n"
             "[[rule]]\n"
             "tensor = \"*\"\n"
             "strategy = \"average\"\n");

  const auto dry = json::parse(dir.ok({"--json", "merge", "ft", "--rules", rules, "--dry-run"}).out);
  ASSERT_EQ(dry.at("rules").size(), 2u);
  EXPECT_EQ(dry.at("rules").at(0).at("tensor"), "embed.*");
  EXPECT_EQ(dry.at("rules").at(0).at("strategy"), "ours");
  for (const auto& d : dry.at("decisions")) {
    if (d.at("tensor") == "embed.weight") {
      EXPECT_EQ(d.at("rule"), 0) << d.dump();
    }
    if (d.at("tensor") == "layer.0.weight") {
      EXPECT_EQ(d.at("rule"), 1) << d.dump();
      EXPECT_EQ(d.at("action"), "merge") << d.dump();
    }
  }

  dir.ok({"merge", "ft", "--rules", rules});
  const std::string merged = dir.read(k_model);
  EXPECT_EQ(tensor_bytes(merged, "embed.weight"), bytes_of(ours, "embed.weight"));
  EXPECT_EQ(tensor_bytes(merged, "layer.0.weight"),
            f32_average(bytes_of(ours, "layer.0.weight"), bytes_of(theirs, "layer.0.weight")));
  const auto m = last_commit(dir).at("merge");
  EXPECT_EQ(m.at("strategy"), "fail");
  ASSERT_EQ(m.at("rules").size(), 2u);
  EXPECT_EQ(m.at("rules").at(0), json::parse(R"({"tensor":"embed.*","file":"*","strategy":"ours","parameters":{}})"));
  EXPECT_EQ(m.at("rules").at(1).at("tensor"), "*");
  EXPECT_EQ(m.at("rules").at(1).at("strategy"), "average");
  const auto show = dir.ok({"show"}).out;
  EXPECT_TRUE(contains(show, "\nRule 1: *:embed.* -> ours\n")) << show;
  EXPECT_TRUE(contains(show, "\nRule 2: *:* -> average")) << show;
}

TEST(CliMergeTest, ThreadCountDoesNotChangeTheResult) {
  CliDir dir;
  dir.ok({"init"});
  auto make = [](std::uint64_t seed) {
    auto w = f32_tensor("layers.0.weight", {256, 256}, 11);
    const auto d = f32_tensor("d", {256, 256}, seed, 1e-3f);
    auto* wf = reinterpret_cast<float*>(w.data.data());
    const auto* df = reinterpret_cast<const float*>(d.data.data());
    for (std::size_t i = 0; i < 256 * 256; ++i) wf[i] += df[i];
    return safetensors_bytes(std::vector<FakeTensor>{w, f32_tensor("layers.0.bias", {256}, seed + 100)});
  };
  dir.write(k_model, make(0));
  dir.ok({"add", k_model});
  dir.ok({"commit", "-m", "base", k_author});
  for (const std::string b : {"ft-a", "ft-b"}) {
    dir.ok({"checkout", "-b", b, "main"});
    dir.write(k_model, make(b == "ft-a" ? 1 : 2));
    dir.ok({"commit", "-a", "-m", b, k_author});
  }
  dir.ok({"checkout", "main"});
  dir.write(k_model, make(3));
  dir.ok({"commit", "-a", "-m", "ours", k_author});

  std::map<std::string, std::string> files, trees;
  for (const std::string jobs : {"1", "4"}) {
    dir.ok({"checkout", "-b", "m" + jobs, "main"});
    dir.ok({"merge", "ft-a", "ft-b", "--strategy", "dare-ties", "--density", "0.5", "--seed", "7", "--jobs", jobs});
    files[jobs] = dir.read(k_model);
    trees[jobs] = last_commit(dir).at("tree").get<std::string>();
  }
  EXPECT_EQ(files.at("1"), files.at("4"));
  EXPECT_EQ(trees.at("1"), trees.at("4"));
  EXPECT_NE(files.at("1"), make(3));
}

TEST(CliMergeTest, LocalChangesToATrackedFileAreRefused) {
  CliDir dir;
  diverge(dir);
  const std::string head = dir.commit_id("main");
  write_safetensors(dir / k_model, with(base_tensors(), "layer.0.bias", {7, 7, 7, 7}));
  const std::string dirty = dir.read(k_model);
  const auto r = dir.run({"merge", "ft", "--strategy", "average"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "coral: error: ")) << r.err;
  EXPECT_EQ(dir.read(k_model), dirty);
  EXPECT_EQ(dir.commit_id("main"), head);
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, " M " + k_model + "\n");
}

TEST(CliMergeTest, UsageErrors) {
  CliDir dir;
  init_base(dir);
  branch_with(dir, "ft-a", "main", with(base_tensors(), "layer.0.bias", {1, 1, 1, 1}));
  branch_with(dir, "ft-b", "main", with(base_tensors(), "layer.0.bias", {2, 2, 2, 2}));
  commit_model(dir, with(base_tensors(), "embed.weight", ramp(16, 0.0f)), "on main");  // three sides
  const std::string head = dir.commit_id("main");
  auto expect_usage = [&](const std::vector<std::string>& args, const std::string& message) {
    const auto r = dir.run(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "coral: error: " + message)) << r.err;
    EXPECT_EQ(r.out, "");
  };
  expect_usage({"merge", "ft-a", "ft-b", "--strategy", "theirs"}, "");  // theirs takes one other side
  expect_usage({"merge", "ft-a", "ft-b", "--strategy", "slerp"}, "");
  expect_usage({"merge", "ft-a", "--strategy", "no-such-strategy"}, "");
  expect_usage({"merge"}, "missing argument REV");
  expect_usage({"merge", "ft-a", "--no-ff", "--ff-only"}, "--no-ff and --ff-only exclude each other");
  expect_usage({"merge", "ft-a", "--strategy", "ties", "--density", "abc"}, "invalid --density 'abc'");
  expect_usage({"merge", "ft-a", "--strategy", "dare", "--seed", "-1"}, "invalid --seed '-1'");
  expect_usage({"merge", "ft-a", "--strategy", "weighted", "--weights", "1,,2"}, "invalid --weights");
  expect_usage({"merge", "ft-a", "--strategy", "slerp", "--t", "nan"}, "invalid --t 'nan'");
  expect_usage({"merge", "ft-a", "--strategy", "soup"}, "");  // needs --eval
  expect_usage({"merge", "ft-a", "--eval", "true {}"}, "");     // --eval is for soup only
  expect_usage({"merge", "ft-a", "--strategy", "average", "--density", "0.5"}, "--strategy: density");
  expect_usage({"merge", "ft-a", "--maximize", "--minimize"}, "--maximize and --minimize exclude each other");
  dir.write("bad-rules.toml", "[[rule]]\ntensor = \"*\"\nstrategy = \"no-such-strategy\"\n");
  expect_usage({"merge", "ft-a", "--rules", "bad-rules.toml"}, "bad-rules.toml");

  const auto missing = dir.run({"merge", "ft-a", "--rules", "missing.toml"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_TRUE(contains(missing.err, "missing.toml")) << missing.err;
  const auto unknown = dir.run({"merge", "no-such-branch"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.err;
  EXPECT_EQ(dir.commit_id("main"), head);
}

TEST(CliMergeTest, SlerpOfTwoFineTunesOfHead) {
  CliDir dir;
  init_base(dir);
  const auto a = with(base_tensors(), "layer.0.weight", ramp(16, 1.5f));
  const auto b = with(base_tensors(), "layer.0.weight", ramp(16, 0.5f, 0.3f));
  branch_with(dir, "ft-a", "main", a);
  branch_with(dir, "ft-b", "main", b);
  // Two sides, ft-a and ft-b: HEAD (their base) is none, so slerp and two weights apply.
  dir.ok({"merge", "ft-a", "ft-b", "--strategy", "weighted", "--weights", "1,3", "--dry-run"});
  dir.ok({"merge", "ft-a", "ft-b", "--strategy", "slerp", "--t", "0.25"});
  const auto c = last_commit(dir);
  EXPECT_EQ(c.at("parents"), json::array({dir.commit_id("ft-a"), dir.commit_id("ft-b")}));
  EXPECT_EQ(c.at("merge").at("strategy"), "slerp");
  EXPECT_EQ(c.at("merge").at("parameters").at("t"), "0.25");
  const std::string merged = tensor_bytes(dir.read(k_model), "layer.0.weight");
  EXPECT_NE(merged, bytes_of(a, "layer.0.weight"));
  EXPECT_NE(merged, bytes_of(b, "layer.0.weight"));
}

TEST(CliMergeTest, SoupScoresEachSideAndKeepsWhatImproves) {
  CliDir dir;
  TempDir aux;
  const std::vector<double> target = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
  auto side = [&](std::vector<double> error) {
    std::vector<float> w(target.size());
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(target[i] + error[i]);
    return std::vector<F32Tensor>{{"w", {w.size()}, w}};
  };
  const auto base = side({1, 1, 1, 1, 1, 1, 1, 1});
  const std::map<std::string, std::vector<F32Tensor>> sides = {
    {"main", side({0.3, 0.3, 0.3, 0.3, 0, 0, 0, 0})},
    {"ft-a", side({-0.3, -0.3, -0.3, -0.3, 0.1, 0.1, 0.1, 0.1})},
    {"ft-b", side({0.05, 0.05, -0.05, -0.05, -0.2, -0.2, 0.4, 0.4})}};
  // The score: minus the mean absolute distance to the target (higher is better).
  auto score = [&](const std::vector<F32Tensor>& t) {
    double sum = 0;
    for (std::size_t i = 0; i < target.size(); ++i) sum += std::abs(static_cast<double>(t[0].values[i]) - target[i]);
    return -sum / static_cast<double>(target.size());
  };
  write_file(aux / "score.py",
             "import json, os, struct, sys\n"
             "target = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]\n"
             "values = None\n"
             "for root, _, files in os.walk(sys.argv[1]):\n"
             "    for name in files:\n"
             "        if name.endswith('.safetensors'):\n"
             "            data = open(os.path.join(root, name), 'rb').read()\n"
             "            n = struct.unpack('<Q', data[:8])[0]\n"
             "            begin, end = json.loads(data[8:8 + n])['w']['data_offsets']\n"
             "            values = struct.unpack('<%df' % ((end - begin) // 4), data[8 + n + begin:8 + n + end])\n"
             "print(-sum(abs(v - t) for v, t in zip(values, target)) / len(target))\n");

  dir.ok({"init"});
  commit_model(dir, base, "base");
  branch_with(dir, "ft-a", "main", sides.at("ft-a"));
  branch_with(dir, "ft-b", "main", sides.at("ft-b"));
  commit_model(dir, sides.at("main"), "on main");

  const std::string eval = python() + " " + (aux / "score.py").string() + " {}";
  const auto r = dir.ok({"--json", "merge", "ft-a", "ft-b", "--strategy", "soup", "--eval", eval});
  const auto j = json::parse(r.out);
  EXPECT_EQ(j.at("strategy"), "soup");
  ASSERT_TRUE(j.contains("soup")) << j.dump(2);
  const auto& scores = j.at("soup").at("scores");
  double best_side = -1e300;
  for (const auto& [label, tensors] : sides) {
    ASSERT_TRUE(scores.contains(label)) << scores.dump();
    EXPECT_NEAR(scores.at(label).get<double>(), score(tensors), 1e-9) << label;
    best_side = std::max(best_side, score(tensors));
  }
  const auto& steps = j.at("soup").at("steps");
  ASSERT_FALSE(steps.empty());
  double best_kept = -1e300;
  for (const auto& s : steps) {
    EXPECT_FALSE(s.at("ingredients").empty()) << s.dump();
    EXPECT_TRUE(s.at("score").is_number()) << s.dump();
    if (s.at("kept").get<bool>()) best_kept = std::max(best_kept, s.at("score").get<double>());
  }
  EXPECT_GE(best_kept, best_side - 1e-12);  // greedy soup is never worse than the best side
  EXPECT_EQ(j.at("commit").at("merge").at("strategy"), "soup");
  EXPECT_EQ(last_commit(dir).at("merge").at("strategy"), "soup");
  EXPECT_EQ(last_commit(dir).at("parents").size(), 3u);
}

// The working tree and index are written before the branch moves: a merge that dies while
// writing files (here: the file size limit) leaves the branch, index and files as they were.
TEST(CliMergeTest, AMergeThatDiesWhileWritingLeavesTheBranchWhereItWas) {
  CliDir dir;
  dir.ok({"init"});
  const std::string zeros(160'000, '\0');
  dir.write("m.safetensors", safetensors_bytes({{"w", "F32", {40'000}, zeros}}));
  dir.ok({"add", "m.safetensors"});
  dir.ok({"commit", "-m", "base"});
  dir.ok({"checkout", "-b", "ft"});
  std::string ones;
  for (int i = 0; i < 40'000; ++i) ones += std::string("\x00\x00\x80\x3f", 4);
  dir.write("m.safetensors", safetensors_bytes({{"w", "F32", {40'000}, ones}}));
  dir.ok({"add", "m.safetensors"});
  dir.ok({"commit", "-m", "ft"});
  dir.ok({"checkout", "main"});
  const std::string before = dir.commit_id("main");
  // 100 blocks of 512 bytes: the pack and the checkout of 160 kB cannot be written.
  const RunResult r = run_program({"/bin/sh", "-c", "ulimit -f 100; exec \"$0\" merge ft", coral_bin()},
                                  {.cwd = dir.path(), .env = {}, .stdin_data = {}});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(dir.commit_id("main"), before);
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
  EXPECT_EQ(dir.read("m.safetensors"), safetensors_bytes({{"w", "F32", {40'000}, zeros}}));
}

// A tensor over 64 MiB is merged through a scratch file; a merge killed at any point (here: at
// growing delays, SIGKILL and SIGINT) leaves no scratch file behind, and the branch unmoved.
TEST(CliMergeTest, AKilledBigMergeLeavesNoScratchFile) {
  CliDir dir;
  dir.ok({"init"});
  constexpr std::uint64_t n = 20u << 20;  // 80 MiB of F32
  auto version = [&](float add) {
    std::string data(n * 4, '\0');
    for (std::uint64_t i = 0; i < n; i += 7) {
      const float v = add + static_cast<float>(i % 1000) * 1e-3f;
      std::memcpy(data.data() + i * 4, &v, 4);
    }
    return safetensors_bytes({{"w", "F32", {n}, data}});
  };
  dir.write("m.safetensors", version(0));
  dir.ok({"add", "m.safetensors"});
  dir.ok({"commit", "-m", "base"});
  for (const char* b : {"a", "b"}) {
    dir.ok({"checkout", "-q", "-b", b, "main"});
    dir.write("m.safetensors", version(std::string(b) == "a" ? 1.0f : 2.0f));
    dir.ok({"add", "m.safetensors"});
    dir.ok({"commit", "-m", b});
  }
  dir.ok({"checkout", "-q", "main"});
  const std::string before = dir.commit_id("main");
  const auto tmp = dir / ".coral/tmp";
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int pid = spawn_coral({"merge", "a", "b", "--strategy", "average"}, {.cwd = dir.path(), .env = {}, .stdin_data = {}});
    kill_after(pid, 15'000 * (attempt + 1), attempt % 2 == 0 ? SIGKILL : SIGINT);
    if (dir.commit_id("main") != before) break;  // finished before the kill
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(tmp, ec))
      ADD_FAILURE() << "left behind: " << e.path().filename() << " (attempt " << attempt << ")";
  }
}

// Tensors deleted inside a file merged across layouts are listed by --dry-run and counted.
TEST(CliMergeTest, TensorsDeletedAcrossLayoutsAreListed) {
  CliDir dir;
  dir.ok({"init"});
  const std::string one(4, '\x01'), two(8, '\x02');
  dir.write("m.safetensors", safetensors_bytes({{"k", "F32", {1}, one}, {"w", "F32", {2}, two}, {"x", "F32", {1}, one}}));
  dir.ok({"add", "m.safetensors"});
  dir.ok({"commit", "-m", "base"});
  dir.ok({"checkout", "-q", "-b", "a"});
  dir.write("m.safetensors", safetensors_bytes({{"k", "F32", {1}, one}, {"x", "F32", {1}, one}}));
  dir.ok({"commit", "-a", "-m", "a drops w"});
  dir.ok({"checkout", "-q", "-b", "b", "main"});
  dir.write("m.safetensors", safetensors_bytes({{"k", "F32", {1}, one}, {"w", "F32", {2}, two}}));
  dir.ok({"commit", "-a", "-m", "b drops x"});
  dir.ok({"checkout", "-q", "main"});
  const auto dry = dir.ok({"merge", "a", "b", "--dry-run"});
  EXPECT_TRUE(contains(dry.out, "delete   m.safetensors:w  (a)")) << dry.out;
  EXPECT_TRUE(contains(dry.out, "delete   m.safetensors:x  (b)")) << dry.out;
  const auto merged = dir.ok({"merge", "a", "b"});
  EXPECT_TRUE(contains(merged.out, "deleted 2")) << merged.out;
  const std::string file = dir.read("m.safetensors");
  EXPECT_TRUE(contains(file, "\"k\"") && !contains(file, "\"w\"") && !contains(file, "\"x\"")) << file;
  EXPECT_EQ(file.substr(file.size() - 4), one);
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
}
