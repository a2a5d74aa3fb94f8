#include "merge_soup.hpp"

#include "coral/core/error.hpp"
#include "coral/core/log.hpp"
#include "materialize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The last token of `text` that parses whole as a finite number.
std::optional<double> last_number(const std::string& text) {
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == ';' || c == '=' || c == ':') {
      if (!cur.empty()) tokens.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    char* end = nullptr;
    const double v = std::strtod(it->c_str(), &end);
    if (end && *end == '\0' && end != it->c_str() && std::isfinite(v)) return v;
  }
  return std::nullopt;
}

}  // namespace

SoupOutcome greedy_soup(const std::vector<std::string>& labels, bool maximize,
                        const std::function<double(const std::vector<std::size_t>&)>& score_of) {
  SoupOutcome out;
  for (std::size_t i = 0; i < labels.size(); ++i) out.side_scores.push_back(score_of({i}));
  std::vector<std::size_t> order(labels.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return maximize ? out.side_scores[a] > out.side_scores[b] : out.side_scores[a] < out.side_scores[b];
  });
  out.selected = {order[0]};
  double best = out.side_scores[order[0]];
  for (std::size_t k = 1; k < order.size(); ++k) {
    std::vector<std::size_t> candidate = out.selected;
    candidate.push_back(order[k]);
    std::sort(candidate.begin(), candidate.end());
    const double score = score_of(candidate);
    const bool better = maximize ? score > best : score < best;
    SoupStep step{{}, score, better};
    for (auto i : candidate) step.ingredients.push_back(labels[i]);
    out.steps.push_back(std::move(step));
    if (better) {
      out.selected = std::move(candidate);
      best = score;
    }
  }
  return out;
}

void remove_stale_soup_dirs(const Repository& repo) {
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(repo.layout().tmp_dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("soup-", 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + 5, nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      stdfs::remove_all(e.path(), ignored);
    }
  }
}

double evaluate_tree(Repository& repo, const Tree& tree, const std::string& command, const std::string& what,
                     core::ThreadPool& pool) {
  static int counter = 0;
  const stdfs::path dir =
    repo.layout().tmp_dir() / ("soup-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  struct Cleanup {
    stdfs::path dir;
    ~Cleanup() {
      std::error_code ec;
      stdfs::remove_all(dir, ec);
    }
  } cleanup{dir};
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  if (ec) throw_errno("cannot create directory", dir.string(), ec.value());
  std::vector<const FileEntry*> files;
  for (const auto& f : tree.files) files.push_back(&f);
  materialize_files(repo, files, pool, {}, dir);

  std::string cmd;
  const std::string quoted = shell_quote(dir.string());
  for (std::size_t i = 0; i < command.size(); ++i) {
    if (command.compare(i, 2, "{}") == 0) {
      cmd += quoted;
      ++i;
    } else {
      cmd += command[i];
    }
  }
  core::log().debug("soup: evaluating {}: {}", what, cmd);
  std::fflush(nullptr);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw_errno("cannot run the eval command for", what, errno);
  std::string output;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("soup: the eval command failed on " + what +
                (WIFEXITED(status) ? " (exit " + std::to_string(WEXITSTATUS(status)) + ")" : std::string(" (killed)")));
  const auto score = last_number(output);
  if (!score) throw Error("soup: the eval command printed no number for " + what, {}, "print the score as the last number on stdout");
  return *score;
}

}  // namespace coral::vcs
