// docs/merge.md stays true. Its "file" blocks are written to a scratch directory, then its
// "setup" and "example" blocks are replayed in order, as a shell would run them: every command
// must succeed (or be followed by `echo $?` showing its exit status), and in an example block
// coral's output must equal the lines the doc shows (commit ids and dates may differ, but each
// id must stand for the same commit everywhere), and the tensors `st.py read FILE` prints must
// equal, bit for bit as float32, the tensors of FILE in the working tree.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <sstream>

using namespace coral::test;
using nlohmann::json;

namespace {

std::string merge_md() {
  return read_file(source_dir() / "docs" / "merge.md");
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// One block of the doc: `<!-- file: NAME -->`, `<!-- setup -->` or `<!-- example: NAME -->`,
// then a fenced code block.
struct Block {
  std::string kind;  // file, setup, example
  std::string name;
  std::vector<std::string> lines;  // inside the fence
  std::size_t line_no = 0;         // of the marker, 1-based
};

std::vector<Block> doc_blocks(const std::string& doc) {
  static const std::regex marker("<!-- (file: (\\S+)|setup|example: (\\S+)) -->");
  const auto lines = split_lines(doc);
  std::vector<Block> blocks;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, marker)) continue;
    Block b;
    b.kind = m[2].matched ? "file" : m[3].matched ? "example" : "setup";
    b.name = m[2].matched ? m[2].str() : m[3].str();
    b.line_no = i + 1;
    std::size_t j = i + 1;
    if (j >= lines.size() || lines[j].rfind("```", 0) != 0) {
      ADD_FAILURE() << "docs/merge.md:" << b.line_no << ": the marker is not followed by a code block";
      continue;
    }
    for (++j; j < lines.size() && lines[j].rfind("```", 0) != 0; ++j) b.lines.push_back(lines[j]);
    blocks.push_back(std::move(b));
    i = j;
  }
  return blocks;
}

// A `$ ` command (with its `\` continuation lines joined) and the output lines after it.
struct Command {
  std::string text;
  std::vector<std::string> expected;
};

std::vector<Command> commands_of(const Block& b) {
  std::vector<Command> out;
  bool continued = false;
  for (const auto& line : b.lines) {
    if (continued) {
      out.back().text += " " + line;
    } else if (line.rfind("$ ", 0) == 0) {
      out.push_back({line.substr(2), {}});
    } else if (!out.empty()) {
      out.back().expected.push_back(line);
      continue;
    } else {
      ADD_FAILURE() << "docs/merge.md:" << b.line_no << ": output before the first command: " << line;
      continue;
    }
    continued = !out.back().text.empty() && out.back().text.back() == '\\';
    if (continued) out.back().text.pop_back();
  }
  return out;
}

// The words of a shell command line: blanks separate words, '...' is literal, "..." and a
// backslash escape the next character.
std::vector<std::string> shell_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      word += text.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        word += text[i];
      }
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

// Compares a line of the doc with a line coral printed. Commit ids (8 or 32 hex digits) and
// dates may differ, but an id of the doc must stand for the same commit everywhere.
class OutputMatcher {
 public:
  bool same(const std::string& doc, const std::string& actual, std::string& why) {
    const auto doc_ids = ids(doc);
    const auto actual_ids = ids(actual);
    if (masked(doc) != masked(actual) || doc_ids.size() != actual_ids.size()) {
      why = "differs";
      return false;
    }
    for (std::size_t i = 0; i < doc_ids.size(); ++i) {
      const auto [it, fresh] = m_doc_to_actual.emplace(doc_ids[i], actual_ids[i]);
      const auto [back, fresh_back] = m_actual_to_doc.emplace(actual_ids[i], doc_ids[i]);
      if (it->second != actual_ids[i] || back->second != doc_ids[i]) {
        why = "id " + doc_ids[i] + " stands for another commit than elsewhere in the doc";
        return false;
      }
    }
    return true;
  }

 private:
  static const std::regex& id_pattern() {
    static const std::regex r("\\b([0-9a-f]{32}|[0-9a-f]{8})\\b");
    return r;
  }
  static std::vector<std::string> ids(const std::string& line) {
    std::vector<std::string> out;
    for (std::sregex_iterator it(line.begin(), line.end(), id_pattern()), end; it != end; ++it)
      out.push_back(it->str().substr(0, 8));
    return out;
  }
  static std::string masked(const std::string& line) {
    static const std::regex date("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}[+-]\\d{2}:\\d{2}");
    return std::regex_replace(std::regex_replace(line, id_pattern(), "<id>"), date, "<date>");
  }
  std::map<std::string, std::string> m_doc_to_actual, m_actual_to_doc;
};

// The F32 tensors of a safetensors file, in header order.
std::vector<std::pair<std::string, std::vector<float>>> f32_tensors(const std::string& file) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < 8; ++i) n |= std::uint64_t{static_cast<unsigned char>(file.at(i))} << (8 * i);
  const auto header = json::parse(file.substr(8, n));
  std::vector<std::pair<std::string, std::uint64_t>> by_offset;
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (const auto& [name, t] : header.items()) {
    if (name == "__metadata__") continue;
    EXPECT_EQ(t.at("dtype"), "F32") << name;
    const auto begin = t.at("data_offsets").at(0).get<std::size_t>();
    const auto end = t.at("data_offsets").at(1).get<std::size_t>();
    std::vector<float> values((end - begin) / sizeof(float));
    std::memcpy(values.data(), file.data() + 8 + n + begin, values.size() * sizeof(float));
    by_offset.emplace_back(name, begin);
    out.emplace_back(name, std::move(values));
  }
  // nlohmann::json sorts keys; the doc lists tensors in the file's order, which is data order here.
  std::vector<std::size_t> order(out.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return by_offset[a].second < by_offset[b].second; });
  std::vector<std::pair<std::string, std::vector<float>>> sorted;
  for (auto i : order) sorted.push_back(std::move(out[i]));
  return sorted;
}

// "NAME = [v, v, ...]" as the name and the float32 values (strtof is exact for these forms).
bool parse_values(const std::string& line, std::string& name, std::vector<float>& values) {
  const auto eq = line.find(" = [");
  if (eq == std::string::npos || line.back() != ']') return false;
  name = line.substr(0, eq);
  values.clear();
  std::istringstream in(line.substr(eq + 4, line.size() - eq - 5));
  for (std::string token; std::getline(in, token, ',');) {
    char* end = nullptr;
    values.push_back(std::strtof(token.c_str(), &end));
    if (end == token.c_str()) return false;
  }
  return true;
}

std::string show_floats(const std::vector<float>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Replays the doc's blocks in a scratch directory.
class Session {
 public:
  explicit Session(const std::filesystem::path& root) : m_root(root), m_cwd(root) {}

  void run(const Block& b) {
    if (b.kind == "file") {
      std::string text;
      for (const auto& line : b.lines) text += line + "\n";
      write_file(m_root / b.name, text);  // next to the repositories, as ../NAME
      return;
    }
    const auto cmds = commands_of(b);
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      const bool status_shown = i + 1 < cmds.size() && cmds[i + 1].text == "echo $?";
      run_command(b, cmds[i], status_shown);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

 private:
  void run_command(const Block& b, const Command& c, bool status_shown) {
    const std::string where =
        "docs/merge.md:" + std::to_string(b.line_no) + " (" + b.kind + " " + b.name + "): $ " + c.text;
    const auto words = shell_words(c.text);
    ASSERT_FALSE(words.empty()) << where;
    std::string output;
    if (words[0] == "cd" && words.size() == 2) {
      m_cwd = std::filesystem::weakly_canonical(m_cwd / words[1]);
    } else if (words[0] == "echo" && words.size() == 2 && words[1] == "$?") {
      output = std::to_string(m_status) + "\n";
    } else if (words[0] == "echo" && words.size() == 4 && words[2] == ">") {
      write_file(m_cwd / words[3], words[1] + "\n");
      m_status = 0;
    } else if (words[0] == "python3" && words.size() == 4 && words[1] == "../st.py" && words[2] == "read") {
      check_tensors(b, c, m_cwd / words[3], where);
      return;
    } else if (words[0] == "python3" || words[0] == "coral") {
      const RunOptions options{.cwd = m_cwd, .env = {}, .stdin_data = {}};
      const RunResult r =
          words[0] == "coral" ? run_coral({words.begin() + 1, words.end()}, options) : run_program(words, options);
      m_status = r.exit_code;
      output = r.out + r.err;
      if (!status_shown) {
        ASSERT_EQ(r.exit_code, 0) << where << "\nstdout: " << r.out << "\nstderr: " << r.err;
      }
    } else {
      FAIL() << where << ": the test cannot run this command";
    }
    if (b.kind == "example") check_output(c, output, where);
  }

  void check_output(const Command& c, const std::string& output, const std::string& where) {
    auto actual = split_lines(output);
    const std::size_t n = std::max(actual.size(), c.expected.size());
    for (std::size_t i = 0; i < n; ++i) {
      const std::string doc = i < c.expected.size() ? c.expected[i] : "(nothing)";
      const std::string got = i < actual.size() ? actual[i] : "(nothing)";
      std::string why;
      EXPECT_TRUE(i < c.expected.size() && i < actual.size() && m_matcher.same(doc, got, why))
          << where << "\nline " << i + 1 << " " << why << "\n  doc:   " << doc << "\n  coral: " << got
          << "\nthe whole output:\n"
          << output;
    }
  }

  void check_tensors(const Block& b, const Command& c, const std::filesystem::path& file, const std::string& where) {
    const auto tensors = f32_tensors(read_file(file));
    ASSERT_EQ(c.expected.size(), tensors.size()) << where;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      std::string name;
      std::vector<float> values;
      ASSERT_TRUE(parse_values(c.expected[i], name, values)) << where << ": not NAME = [values]: " << c.expected[i];
      EXPECT_EQ(name, tensors[i].first) << where;
      const auto& actual = tensors[i].second;
      const bool same = values.size() == actual.size() &&
                        std::memcmp(values.data(), actual.data(), values.size() * sizeof(float)) == 0;
      EXPECT_TRUE(same) << where << " (" << b.name << "): " << name << "\n  doc:    " << c.expected[i]
                        << "\n  merged: " << show_floats(actual);
    }
  }

  std::filesystem::path m_root, m_cwd;
  int m_status = 0;
  OutputMatcher m_matcher;
};

const Block* find_example(const std::vector<Block>& blocks, const std::string& name) {
  for (const auto& b : blocks)
    if (b.kind == "example" && b.name == name) return &b;
  return nullptr;
}

std::vector<std::string> parents(const std::filesystem::path& repo, const std::string& rev) {
  const auto r = run_coral({"log", "--json", "-n", "1", rev}, {.cwd = repo, .env = {}, .stdin_data = {}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out).at(0).at("parents").get<std::vector<std::string>>();
}

std::string commit_of(const std::filesystem::path& repo, const std::string& rev) {
  const auto r = run_coral({"log", "--json", "-n", "1", rev}, {.cwd = repo, .env = {}, .stdin_data = {}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out).at(0).at("id").get<std::string>();
}

}  // namespace

TEST(CliMergeDocsTest, EveryStrategyHasAnExampleWithItsMergedValues) {
  const auto blocks = doc_blocks(merge_md());
  for (const std::string strategy :
       {"ours", "theirs", "average", "weighted", "task-arithmetic", "ties", "dare", "dare-ties", "slerp", "soup"}) {
    const Block* b = find_example(blocks, strategy);
    ASSERT_NE(b, nullptr) << "docs/merge.md has no <!-- example: " << strategy << " --> block";
    bool merges = false, shows_values = false;
    for (const auto& c : commands_of(*b)) {
      const auto words = shell_words(c.text);
      const auto flag = std::find(words.begin(), words.end(), "--strategy");
      merges = merges || (words.size() > 1 && words[0] == "coral" && words[1] == "merge" && flag != words.end() &&
                          flag + 1 != words.end() && flag[1] == strategy);
      shows_values = shows_values || (contains(c.text, "st.py read") && !c.expected.empty());
    }
    EXPECT_TRUE(merges) << strategy << ": no coral merge --strategy " << strategy;
    EXPECT_TRUE(shows_values) << strategy << ": the merged values are not shown";
  }
  const Block* fail = find_example(blocks, "fail");
  ASSERT_NE(fail, nullptr);
  const auto cmds = commands_of(*fail);
  bool exit_4 = false;
  for (const auto& c : cmds) exit_4 = exit_4 || (c.text == "echo $?" && c.expected == std::vector<std::string>{"4"});
  EXPECT_TRUE(exit_4) << "the fail example shows exit status 4";
}

// `python3` in the doc's commands (and in the soup's --eval, run by /bin/sh) is the test's
// python (CORAL_PYTHON, with numpy): a link to it first in PATH while the test runs.
class PythonOnPath {
 public:
  explicit PythonOnPath(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    std::filesystem::create_symlink(python(), dir / "python3");
    const char* path = std::getenv("PATH");
    m_old = path ? path : "/usr/bin:/bin";
    ::setenv("PATH", (dir.string() + ":" + m_old).c_str(), 1);
  }
  ~PythonOnPath() { ::setenv("PATH", m_old.c_str(), 1); }
  PythonOnPath(const PythonOnPath&) = delete;
  PythonOnPath& operator=(const PythonOnPath&) = delete;

 private:
  std::string m_old;
};

TEST(CliMergeDocsTest, SessionsReplayWithTheSameOutputAndMergedValues) {
  TempDir root, tools;
  const PythonOnPath python_on_path(tools / "bin");
  Session session(root.path());
  for (const auto& b : doc_blocks(merge_md())) {
    session.run(b);
    if (HasFatalFailure()) return;
  }
  // The doc's claims about parents, which the masked ids above cannot show: fine-tunes of main
  // merged from main have the fine-tunes as parents, and --no-ff keeps main first.
  const auto repo = root.path() / "repo";
  const std::string main = commit_of(repo, "main");
  const std::string a = commit_of(repo, "ft-a"), b = commit_of(repo, "ft-b"), c = commit_of(repo, "ft-c");
  EXPECT_EQ(parents(repo, "try-ties"), (std::vector<std::string>{a, b, c}));
  EXPECT_EQ(parents(repo, "try-soup"), (std::vector<std::string>{a, b, c}));
  EXPECT_EQ(parents(repo, "try-theirs"), (std::vector<std::string>{a, b}));
  EXPECT_EQ(parents(repo, "try-no-ff-average"), (std::vector<std::string>{main, a, b, c}));
  EXPECT_EQ(commit_of(repo, "try-ff"), a);  // a fast-forward
}
