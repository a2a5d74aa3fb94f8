// The command line itself: help, version, parse errors, global options and their placement.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace coral::test;

namespace {

const std::vector<std::string> k_verbs = {"add", "branch", "checkout", "commit", "config", "diff", "fsck", "init",
                                          "log", "merge",  "rm",       "show",   "stats",  "status", "tag"};

void expect_usage_error(const RunResult& r, const std::string& message) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "coral: error: " + message)) << r.err;
  EXPECT_TRUE(contains(r.err, "hint: run 'coral ")) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace

TEST(CliParserTest, NoCommandPrintsUsageOnStderrAndExitsTwo) {
  CliDir dir;
  const auto r = dir.run({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "usage: coral")) << r.err;
  EXPECT_TRUE(contains(r.err, "COMMANDS")) << r.err;
}

TEST(CliParserTest, HelpListsEveryCommandWithItsSummary) {
  CliDir dir;
  const auto r = dir.ok({"--help"});
  EXPECT_EQ(r.err, "");
  for (const auto& verb : k_verbs) EXPECT_TRUE(contains(r.out, "\n  " + verb + " ")) << verb << "\n" << r.out;
  EXPECT_TRUE(contains(r.out, "Record the staged tree as a new commit")) << r.out;
  EXPECT_TRUE(contains(r.out, "--lock-wait SECONDS")) << r.out;
  EXPECT_EQ(dir.ok({"help"}).out, r.out);
}

TEST(CliParserTest, EveryVerbHasTheSameHelpThreeWays) {
  CliDir dir;
  for (const auto& verb : k_verbs) {
    const auto a = dir.ok({"help", verb});
    const auto b = dir.ok({verb, "--help"});
    const auto c = dir.ok({verb, "-h"});
    EXPECT_EQ(a.out.rfind("usage: coral " + verb, 0), 0u) << a.out;
    EXPECT_EQ(a.out, b.out) << verb;
    EXPECT_EQ(a.out, c.out) << verb;
    EXPECT_TRUE(contains(a.out, "\nEXAMPLES\n")) << verb;
    EXPECT_TRUE(contains(a.out, "\nEXIT STATUS\n")) << verb;
  }
}

TEST(CliParserTest, HelpWorksWithoutRequiredArgumentsAndOutsideARepository) {
  CliDir dir;
  const auto r = dir.ok({"rm", "--help"});  // rm requires PATH, and there is no repository here
  EXPECT_TRUE(contains(r.out, "usage: coral rm")) << r.out;
  EXPECT_TRUE(contains(dir.ok({"--json", "log", "--help"}).out, "usage: coral log"));
}

TEST(CliParserTest, HelpForUnknownCommandIsAUsageError) {
  CliDir dir;
  const auto r = dir.run({"help", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "coral: error: no help for 'frobnicate'")) << r.err;
}

TEST(CliParserTest, VersionBeforeOrAfterTheVerb) {
  CliDir dir;
  const auto a = dir.ok({"--version"});
  EXPECT_EQ(a.out.rfind("coral ", 0), 0u) << a.out;
  EXPECT_EQ(a.out.back(), '\n');
  EXPECT_EQ(dir.ok({"status", "--version"}).out, a.out);  // not run, so no repository needed
}

TEST(CliParserTest, UnknownCommandIsAUsageError) {
  CliDir dir;
  const auto r = dir.run({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "coral: error: 'frobnicate' is not a coral command")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint: run 'coral --help'")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliParserTest, UnknownOptionIsAUsageErrorNamingTheVerb) {
  CliDir dir;
  expect_usage_error(dir.run({"log", "--bogus"}), "unknown option '--bogus'");
  EXPECT_TRUE(contains(dir.run({"log", "--bogus"}).err, "hint: run 'coral help log'"));
  expect_usage_error(dir.run({"--bogus", "status"}), "unknown option '--bogus'");
  expect_usage_error(dir.run({"status", "-x"}), "unknown option '-x'");
}

TEST(CliParserTest, ParserErrorsAreNormalisedToExitTwo) {
  CliDir dir;
  expect_usage_error(dir.run({"commit", "-m"}), "");          // missing option value
  expect_usage_error(dir.run({"log", "-n", "abc"}), "");      // not a number
  expect_usage_error(dir.run({"log", "a", "b"}), "unexpected argument 'b'");
  expect_usage_error(dir.run({"rm"}), "missing argument PATH");
  expect_usage_error(dir.run({"status", "--lock-wait=-1"}), "");
  expect_usage_error(dir.run({"status", "--jobs", "x"}), "");
}

TEST(CliParserTest, CommitArgumentsAreCheckedBeforeTheRepository) {
  CliDir dir;  // no repository: a usage error must still win (exit 2, not 3)
  const auto no_message = dir.run({"commit"});
  EXPECT_EQ(no_message.exit_code, 2) << no_message.err;
  EXPECT_TRUE(contains(no_message.err, "coral: error: missing commit message\nhint: ")) << no_message.err;
  for (const std::string bad : {"loss", "=1", "a b=1", "loss=abc", "loss=inf", "loss=nan", "loss="}) {
    const auto r = dir.run({"commit", "-m", "x", "--metric", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "coral: error: invalid --metric '" + bad + "'")) << r.err;
  }
  const auto twice = dir.run({"commit", "-m", "x", "--metric", "a=1", "--metric", "a=2"});
  EXPECT_EQ(twice.exit_code, 2) << twice.err;
  EXPECT_TRUE(contains(twice.err, "given twice")) << twice.err;
}

TEST(CliParserTest, NotARepositoryExitsThreeWithHint) {
  CliDir dir;
  for (const std::string verb : {"status", "log", "add", "branch", "tag", "diff"}) {
    const auto r = verb == "add" ? dir.run({verb, "x"}) : dir.run({verb});
    EXPECT_EQ(r.exit_code, 3) << verb << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "coral: error: not a coral repository")) << r.err;
    EXPECT_TRUE(contains(r.err, "hint: run 'coral init'")) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(CliParserTest, GlobalOptionsBeforeOrAfterTheVerbAreTheSame) {
  CliDir dir;
  dir.init_and_commit_model();
  const auto before = dir.ok({"--json", "log"});
  const auto after = dir.ok({"log", "--json"});
  EXPECT_EQ(before.out, after.out);
  const auto parsed = nlohmann::json::parse(after.out);
  ASSERT_TRUE(parsed.is_array());
  EXPECT_EQ(parsed.size(), 1u);
  EXPECT_EQ(dir.ok({"-q", "status", "--porcelain"}).out, dir.ok({"status", "--porcelain", "-q"}).out);
  EXPECT_EQ(dir.ok({"--lock-wait", "5", "--jobs", "2", "status"}).out, dir.ok({"status", "--lock-wait", "5", "--jobs", "2"}).out);
  EXPECT_EQ(dir.ok({"-v", "log", "--oneline", "-v"}).out, dir.ok({"log", "--oneline"}).out);  // -vv: stdout unchanged
}

TEST(CliParserTest, DashCRunsInThatDirectory) {
  CliDir dir;
  std::filesystem::create_directory(dir / "sub");  // -C does not create DIR (git neither)
  const auto init = dir.ok({"-C", "sub", "init"});
  EXPECT_TRUE(std::filesystem::is_directory(dir / "sub/.coral"));
  EXPECT_TRUE(contains(init.out, (dir / "sub/.coral").string())) << init.out;
  dir.write("sub/a.txt", "hello\n");
  dir.ok({"-C", "sub", "add", "a.txt"});  // paths are relative to -C, as in git
  EXPECT_EQ(dir.ok({"status", "--porcelain", "-C", "sub"}).out, "A  a.txt\n");
  const auto missing = dir.run({"-C", "missing", "status"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_TRUE(contains(missing.err, "coral: error: cannot change to 'missing'")) << missing.err;
}

TEST(CliParserTest, DashDashEndsOptions) {
  CliDir dir;
  dir.ok({"init"});
  dir.write("-odd.txt", "x\n");
  dir.ok({"add", "--", "-odd.txt"});
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "A  -odd.txt\n");
}

TEST(CliParserTest, ErrorDetailIsPrintedOnlyWithVerbose) {
  CliDir dir;
  dir.ok({"init"});
  dir.write(".coral/config.toml", "format_version = 99\n");  // from a newer coral
  const auto plain = dir.run({"status"});
  EXPECT_EQ(plain.exit_code, 6) << plain.err;
  EXPECT_TRUE(contains(plain.err, "coral: error: repository format version 99 is newer")) << plain.err;
  EXPECT_TRUE(contains(plain.err, "\nhint: ")) << plain.err;
  EXPECT_FALSE(contains(plain.err, "detail: ")) << plain.err;
  const auto verbose = dir.run({"status", "-v"});
  EXPECT_EQ(verbose.exit_code, 6);
  EXPECT_TRUE(contains(verbose.err, "\ndetail: ")) << verbose.err;
}

TEST(CliParserTest, QuietSilencesMessagesButNotResults) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.ok({"branch", "other"});
  const auto quiet = dir.ok({"-q", "checkout", "other"});
  EXPECT_EQ(quiet.err, "");
  const auto loud = dir.ok({"checkout", "main"});
  EXPECT_EQ(loud.err, "Switched to branch 'main'\n");
  EXPECT_EQ(dir.ok({"log", "--oneline", "-q"}).out.size(), 8u + 1 + 7 + 1);  // "<short> epoch 1\n"
}
