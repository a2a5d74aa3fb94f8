// merge, cross-checked end to end against numpy: checkpoints written by numpy itself (np.save,
// np.savez; tests/data/merge_numpy_case.py), a base on main and three fine-tunes ft-a, ft-b, ft-c,
// merged by the built coral with every arithmetic strategy; numpy then loads the checked-out
// files and compares them bit for bit (npy headers included) with what the independent reference
// tests/data/merge_reference.py computes from numpy's own base and branch arrays.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace coral::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> k_branches = {"ft-a", "ft-b", "ft-c"};
const std::string k_author = "--author=Ada";
const std::string k_email = "--email=ada@example.com";

// The .npy files: w F32 [384,320] (two of coral's parallel blocks), h F16 [300] and d F64 [200]
// (changed on ft-a and ft-b only, so ft-c's version, the base's, is a side too), each merged by
// the strategy; only_a changed on ft-a only, taken byte for byte.
const std::vector<std::string> k_npy_files = {"model/w.npy", "model/h.npy", "model/d.npy", "model/only_a.npy"};
// np.savez, uncompressed: emb F32 [32,16] changed on every branch (by tiny amounts: slerp's
// linear branch), bias F64 [24] on ft-b and ft-c.
const std::vector<std::string> k_npz_files = {"model/pack.npz"};

fs::path case_script() { return source_dir() / "tests/data/merge_numpy_case.py"; }

// A reason to skip when python3 or numpy is missing.
std::optional<std::string> numpy_missing(const fs::path& cwd) {
  const RunResult r = run_program({python(), "-c", "import numpy"}, {.cwd = cwd, .env = {}, .stdin_data = {}});
  if (r.exit_code == 0) return std::nullopt;
  return python() + " with numpy is needed: " + r.err;
}

// One `coral merge` run: on branch m-NAME made from main, its result copied to out/NAME.
struct StrategyCase {
  std::string name;
  std::vector<std::string> revs;    // the sides, in order (main, the base, is none)
  std::vector<std::string> args;    // --strategy and its parameters
  json reference;                   // the same for merge_reference.py
  std::vector<std::string> global;  // options before the command (--jobs N)
};

std::vector<StrategyCase> strategy_cases() {
  const std::vector<std::string> three = k_branches;
  const std::vector<std::string> two = {"ft-a", "ft-b"};
  const std::vector<double> weights = {0.5, 0.3, 0.2};
  std::vector<StrategyCase> cases = {
      {"average", three, {"--strategy", "average"}, {{"method", "average"}}, {}},
      {"weighted",
       three,
       {"--strategy", "weighted", "--weights", "0.5,0.3,0.2"},
       {{"method", "weighted"}, {"weights", weights}},
       {}},
      {"weighted-no-normalize",
       three,
       {"--strategy", "weighted", "--weights", "0.5,0.3,0.2", "--no-normalize"},
       {{"method", "weighted"}, {"weights", weights}, {"normalize", false}},
       {}},
      {"task-arithmetic",
       three,
       {"--strategy", "task-arithmetic", "--lambda", "0.7"},
       {{"method", "task_arithmetic"}, {"lambda", 0.7}},
       {}},
      {"ties",
       three,
       {"--strategy", "ties", "--density", "0.3", "--lambda", "1"},
       {{"method", "ties"}, {"density", 0.3}, {"lambda", 1.0}},
       {}},
      {"ties-no-normalize",
       three,
       {"--strategy", "ties", "--density", "0.3", "--lambda", "1", "--no-normalize"},
       {{"method", "ties"}, {"density", 0.3}, {"lambda", 1.0}, {"normalize", false}},
       {}},
      {"dare",
       three,
       {"--strategy", "dare", "--density", "0.5", "--seed", "11"},
       {{"method", "dare"}, {"density", 0.5}, {"seed", 11}},
       {}},
      {"dare-ties",
       three,
       {"--strategy", "dare-ties", "--density", "0.5", "--seed", "11"},
       {{"method", "dare_ties"}, {"density", 0.5}, {"seed", 11}},
       {}},
      // Weights and lambda through TIES' sign election, mergekit's dare_ties (no normalization).
      {"dare-ties-weighted",
       three,
       {"--strategy", "dare-ties", "--density", "0.5", "--seed", "11", "--weights", "0.5,0.3,0.2", "--lambda",
        "0.7", "--no-normalize"},
       {{"method", "dare_ties"}, {"density", 0.5}, {"seed", 11}, {"weights", weights}, {"lambda", 0.7},
        {"normalize", false}},
       {}},
      {"slerp", two, {"--strategy", "slerp", "--t", "0.3"}, {{"method", "slerp"}, {"t", 0.3}}, {}},
  };
  // The thread count changes nothing (compared with each other below, and with the reference).
  std::vector<StrategyCase> jobs_cases;
  for (const auto& c : cases)
    if (c.name == "ties" || c.name == "dare-ties") jobs_cases.push_back(c);
  for (const auto& c : jobs_cases)
    for (const std::string jobs : {"1", "2"}) {
      StrategyCase j = c;
      j.name = c.name + "-jobs" + jobs;
      j.global = {"--jobs", jobs};
      cases.push_back(std::move(j));
    }
  return cases;
}

// The number of tensors the strategy computes (the others are taken from one side): w, h and d
// (d is changed on ft-a and ft-b, both slerp's sides); emb and bias (bias only changes on ft-b
// among slerp's sides).
int merged_tensors(const StrategyCase& c, bool npz) {
  if (npz) return c.revs.size() == 2 ? 1 : 2;
  return 3;
}

class NumpyMerge {
public:
  explicit NumpyMerge(std::vector<std::string> files) : m_files(std::move(files)) {}

  // numpy writes every version; main commits the base, each branch its fine-tune. Returns false
  // (having failed the test) when something went wrong.
  bool make() {
    const RunResult r = run_program({python(), case_script().string(), "make", (m_work / "versions").string()},
                                    {.cwd = m_work.path(), .env = {}, .stdin_data = {}});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "merge_numpy_case.py make failed:\n" << r.err;
      return false;
    }
    m_repo.ok({"init"});
    place("base");
    m_repo.ok({"add", "model"});
    m_repo.ok({"commit", "-m", "base", k_author, k_email});
    for (const auto& branch : k_branches) {
      m_repo.ok({"checkout", "-b", branch, "main"});
      place(branch);
      m_repo.ok({"add", "model"});
      m_repo.ok({"commit", "-m", "fine-tune " + branch, k_author, k_email});
      m_branch_ids[branch] = m_repo.commit_id(branch);
    }
    m_repo.ok({"checkout", "main"});
    return !::testing::Test::HasFailure();
  }

  // Coral's name of each tensor, as `coral show` lists it: "PATH" for a .npy file (one tensor),
  // "PATH:MEMBER" for an npz member (whose name is the member's without ".npy").
  json tensor_names() const {
    json keys = json::object();
    for (const auto& path : m_files) {
      const json shown = json::parse(m_repo.ok({"--json", "show", "main:" + path}).out);
      for (const auto& t : shown.at("file").at("tensors")) {
        const auto name = t.at("name").get<std::string>();
        keys[path.ends_with(".npz") ? path + ":" + name : path] = name;
      }
    }
    return keys;
  }

  // Merges on m-NAME made from main; copies the merged model to out/NAME. False when the merge
  // failed (the test has failed then).
  bool run(const StrategyCase& c) {
    m_repo.ok({"checkout", "-b", "m-" + c.name, "main"});
    std::vector<std::string> args = c.global;
    args.emplace_back("merge");
    args.insert(args.end(), c.revs.begin(), c.revs.end());
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {k_author, k_email});
    const RunResult r = m_repo.run(args);
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    EXPECT_EQ(r.exit_code, 0) << "coral" << cmd << "\nstdout: " << r.out << "\nstderr: " << r.err;
    if (r.exit_code != 0) return false;
    // Main is the merge base and every branch contains it: HEAD is no side and no parent.
    const json commit = json::parse(m_repo.ok({"log", "--json", "-n", "1"}).out).at(0);
    std::vector<std::string> parents;
    for (const auto& rev : c.revs) parents.push_back(m_branch_ids.at(rev));
    EXPECT_EQ(commit.at("parents").get<std::vector<std::string>>(), parents) << c.name;
    EXPECT_EQ(commit.at("merge").at("strategy").get<std::string>(), c.args.at(1)) << c.name;
    fs::create_directories(out(c.name) / "model");
    for (const auto& path : m_files) fs::copy_file(m_repo / path, out(c.name) / path);
    return true;
  }

  // Runs merge_numpy_case.py check over the cases given; returns its report.
  json check(const std::vector<StrategyCase>& cases, const json& keys) const {
    json spec = {{"versions", (m_work / "versions").string()}, {"files", m_files}, {"cases", json::array()}};
    for (const auto& c : cases) {
      json entry = c.reference;
      entry["name"] = c.name;
      entry["dir"] = out(c.name).string();
      entry["sides"] = c.revs;
      entry["keys"] = keys;
      spec["cases"].push_back(entry);
    }
    write_file(m_work / "spec.json", spec.dump(2));
    const RunResult r = run_program({python(), case_script().string(), "check", (m_work / "spec.json").string()},
                                    {.cwd = m_work.path(), .env = {}, .stdin_data = {}});
    EXPECT_EQ(r.exit_code, 0) << "merge_numpy_case.py check failed:\n" << r.err;
    if (r.exit_code != 0) return json::object();
    return json::parse(r.out);
  }

  fs::path out(const std::string& name) const { return m_work / ("out/" + name); }
  fs::path version(const std::string& name) const { return m_work / ("versions/" + name); }
  const CliDir& repo() const { return m_repo; }

private:
  void place(const std::string& version_name) const {
    fs::create_directories(m_repo / "model");
    for (const auto& path : m_files)
      fs::copy_file(version(version_name) / path, m_repo / path, fs::copy_options::overwrite_existing);
  }

  std::vector<std::string> m_files;
  TempDir m_work;  // versions/ (numpy's), out/NAME/ (each merge's model), spec.json
  CliDir m_repo;
  std::map<std::string, std::string> m_branch_ids;
};

// Every case merged, checked by numpy against the reference; `npz` picks the expected counts.
void check_every_strategy(NumpyMerge& m, bool npz) {
  const json keys = m.tensor_names();
  const std::vector<StrategyCase> cases = strategy_cases();
  std::vector<StrategyCase> merged;
  for (const auto& c : cases)
    if (m.run(c)) merged.push_back(c);
  EXPECT_EQ(merged.size(), cases.size()) << "merges that failed are listed above";
  if (merged.empty()) return;
  const json report = m.check(merged, keys);
  if (report.empty()) return;
  for (const auto& c : merged) {
    const json& problems = report.at("cases").at(c.name);
    EXPECT_TRUE(problems.empty()) << c.name << " differs from merge_reference.py:\n" << problems.dump(2);
    EXPECT_EQ(report.at("merged").at(c.name).get<int>(), merged_tensors(c, npz))
        << c.name << ": tensors the reference computed by arithmetic";
  }
  // --jobs 1 and --jobs 2: the same bytes.
  for (const std::string name : {"ties", "dare-ties"}) {
    const fs::path one = m.out(name + "-jobs1"), two = m.out(name + "-jobs2");
    if (!fs::exists(one) || !fs::exists(two)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(one)) {
      if (!entry.is_regular_file()) continue;
      const fs::path rel = fs::relative(entry.path(), one);
      EXPECT_EQ(read_file(entry.path()), read_file(two / rel)) << name << ": " << rel << " depends on --jobs";
    }
  }
}

}  // namespace

TEST(CliMergeNumpyTest, CoralNamesNpyAndNpzTensorsAsShowSays) {
  NumpyMerge m(std::vector<std::string>{"model/w.npy", "model/h.npy", "model/pack.npz"});
  if (auto missing = numpy_missing(m.repo().path())) GTEST_SKIP() << *missing;
  ASSERT_TRUE(m.make());
  // DARE's key is "PATH\0TENSOR": a .npy file's one tensor is "array", an npz member's tensor its
  // member name without ".npy".
  EXPECT_EQ(m.tensor_names(), (json{{"model/w.npy", "array"},
                                    {"model/h.npy", "array"},
                                    {"model/pack.npz:emb", "emb"},
                                    {"model/pack.npz:bias", "bias"}}));
}

TEST(CliMergeNumpyTest, NpyFilesMatchTheReferenceBitForBitWithEveryStrategy) {
  NumpyMerge m(k_npy_files);
  if (auto missing = numpy_missing(m.repo().path())) GTEST_SKIP() << *missing;
  ASSERT_TRUE(m.make());
  check_every_strategy(m, false);
  // A tensor changed on one branch only: ft-a's file, byte for byte, whatever the strategy.
  for (const auto& c : strategy_cases()) {
    if (!fs::exists(m.out(c.name) / "model/only_a.npy")) continue;
    EXPECT_EQ(read_file(m.out(c.name) / "model/only_a.npy"), read_file(m.version("ft-a") / "model/only_a.npy"))
        << c.name;
  }
}

// An npz member's zip headers, CRC-32 included, are skeleton bytes: two branches that change a
// member differently differ in their CRCs, which must not count as a layout change (it made
// every strategy stop with "layout changed on ft-a, ft-b and ft-c"), and a merged member needs
// its CRC-32 recomputed in the local header and the central directory, or np.load raises
// BadZipFile (the check runs zipfile's testzip).
TEST(CliMergeNumpyTest, NpzMembersMergeTensorByTensorWithEveryStrategy) {
  NumpyMerge m(k_npz_files);
  if (auto missing = numpy_missing(m.repo().path())) GTEST_SKIP() << *missing;
  ASSERT_TRUE(m.make());
  check_every_strategy(m, true);
}
