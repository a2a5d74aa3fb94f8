// docs/cli.md stays in step with the binary: every verb `coral --help` lists has a section,
// every help text has EXAMPLES and EXIT STATUS, and the config keys and exit codes are documented.
#include "cli_support.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace coral::test;

namespace {

// The verb names in the COMMANDS section of `coral --help`.
std::vector<std::string> listed_verbs(const std::string& help) {
  std::vector<std::string> verbs;
  std::istringstream in(help);
  std::string line;
  bool in_commands = false;
  while (std::getline(in, line)) {
    if (line == "COMMANDS") {
      in_commands = true;
      continue;
    }
    if (!in_commands) continue;
    if (line.empty()) break;
    std::istringstream words(line);
    std::string name;
    words >> name;
    verbs.push_back(name);
  }
  return verbs;
}

std::string cli_md() { return read_file(source_dir() / "docs" / "cli.md"); }

}  // namespace

TEST(CliDocsTest, EveryListedVerbHasASectionInCliMd) {
  CliDir dir;
  const auto verbs = listed_verbs(dir.ok({"--help"}).out);
  ASSERT_GE(verbs.size(), 12u);
  const std::string doc = cli_md();
  for (const auto& verb : verbs)
    EXPECT_TRUE(contains(doc, "\n## coral " + verb + "\n")) << "docs/cli.md has no '## coral " << verb << "' section";
}

TEST(CliDocsTest, EveryVerbHelpEndsWithExamplesThenExitStatus) {
  CliDir dir;
  for (const auto& verb : listed_verbs(dir.ok({"--help"}).out)) {
    const std::string help = dir.ok({verb, "--help"}).out;
    const auto examples = help.find("\nEXAMPLES\n");
    const auto exit_status = help.find("\nEXIT STATUS\n");
    ASSERT_NE(examples, std::string::npos) << verb;
    ASSERT_NE(exit_status, std::string::npos) << verb;
    EXPECT_LT(examples, exit_status) << verb;
    EXPECT_TRUE(contains(help.substr(exit_status), "\n  0    success")) << verb << "\n" << help;
    EXPECT_TRUE(contains(help.substr(examples), "  coral ")) << verb;  // at least one example
  }
}

TEST(CliDocsTest, EveryConfigKeyIsDocumented) {
  CliDir dir;
  const std::string doc = cli_md();
  std::istringstream in(dir.ok({"config", "list"}).out);
  std::string line;
  int keys = 0;
  while (std::getline(in, line)) {
    const std::string key = line.substr(0, line.find('='));
    EXPECT_TRUE(contains(doc, "| `" + key + "` |")) << "docs/cli.md does not document config key " << key;
    ++keys;
  }
  EXPECT_GE(keys, 6);
}

TEST(CliDocsTest, ExitCodeTableIsDocumented) {
  const std::string doc = cli_md();
  for (const std::string code : {"0", "1", "2", "3", "4", "5", "6", "7", "70", "130"})
    EXPECT_TRUE(contains(doc, "\n| " + code + " |")) << "exit code " << code << " missing from docs/cli.md";
}
