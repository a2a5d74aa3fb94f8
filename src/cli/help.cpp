#include "help.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <sstream>

namespace coral::cli {
namespace {

constexpr std::size_t k_column = 26;  // where option descriptions start

// "-m,--message" + "MSG" -> "-m, --message MSG"
std::string option_label(const OptionSpec& o) {
  std::string label;
  std::stringstream ss(o.flags);
  std::string flag;
  while (std::getline(ss, flag, ',')) label += (label.empty() ? "" : ", ") + flag;
  if (!o.value_name.empty()) label += " " + o.value_name;
  return label;
}

void append_row(std::string& out, const std::string& label, const std::string& help) {
  out += "  " + label;
  if (label.size() + 2 < k_column) out.append(k_column - label.size() - 2, ' ');
  else out += "\n" + std::string(k_column, ' ');
  out += help + "\n";
}

// Indents every line of a section body by two spaces (blank lines stay blank).
std::string indent(const std::string& text) {
  std::string out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out += line.empty() ? "\n" : "  " + line + "\n";
  return out;
}

std::string usage_lines(const std::string& synopsis) {
  std::string out;
  std::stringstream ss(synopsis);
  std::string line;
  bool first = true;
  while (std::getline(ss, line)) {
    out += (first ? "usage: " : "   or: ") + line + "\n";
    first = false;
  }
  return out;
}

}  // namespace

std::string format_verb_help(const VerbSpec& verb) {
  std::string out = usage_lines(verb.synopsis);
  out += "\n" + verb.summary + "\n";
  if (!verb.description.empty()) out += "\n" + verb.description + (verb.description.back() == '\n' ? "" : "\n");
  if (!verb.positionals.empty()) {
    out += "\nARGUMENTS\n";
    for (const auto& p : verb.positionals) {
      const bool many = std::holds_alternative<std::vector<std::string>*>(p.target);
      append_row(out, p.name + (many ? "..." : ""), p.help);
    }
  }
  if (!verb.options.empty()) {
    out += "\nOPTIONS\n";
    for (const auto& o : verb.options) append_row(out, option_label(o), o.help);
  }
  out += "\nThe global options (-C DIR, -v, -q, --json, --jobs N, --lock-wait SECONDS) are accepted\n"
         "before or after the command; see 'coral --help'.\n";
  out += "\nEXAMPLES\n" + indent(verb.examples);
  out += "\nEXIT STATUS\n" + indent(verb.exit_status);
  return out;
}

std::string format_main_help(const std::vector<VerbSpec>& verbs, const std::vector<OptionSpec>& globals) {
  std::string out =
    "usage: coral [-C DIR] [-v | -q] [--json] [--jobs N] [--lock-wait SECONDS] COMMAND [ARGS]\n"
    "   or: coral help COMMAND\n"
    "   or: coral --version\n"
    "\n"
    "coral is version control for neural-network weights.\n"
    "\nCOMMANDS\n";
  std::size_t width = 0;
  for (const auto& v : verbs) width = std::max(width, v.name.size());
  for (const auto& v : verbs) out += "  " + v.name + std::string(width - v.name.size() + 3, ' ') + v.summary + "\n";
  out += "\nGLOBAL OPTIONS (before or after the command)\n";
  for (const auto& o : globals) append_row(out, option_label(o), o.help);
  out += "\nRun 'coral help COMMAND' for a command's options, examples and exit status.\n";
  return out;
}

std::string exit_status(std::initializer_list<ExitCode> extra) {
  std::map<int, std::string> lines = {
    {0, "success"},
    {1, "I/O or other failure"},
    {2, "usage error (unknown option, missing or bad argument)"},
    {3, "not found: no repository here, unknown revision or path"},
    {5, "timed out waiting for a repository lock (see --lock-wait)"},
    {6, "repository corrupt"},
    {130, "interrupted"},
  };
  for (const auto& e : extra) lines[e.code] = e.meaning;
  std::string out;
  for (const auto& [code, meaning] : lines) {
    const std::string c = std::to_string(code);
    out += c + std::string(5 - c.size(), ' ') + meaning + "\n";
  }
  return out;
}

}  // namespace coral::cli
