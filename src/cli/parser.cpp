// The only translation unit that includes CLI11 (STYLE.md §7: it costs ~7 s to compile).
#include "parser.hpp"

#include "help.hpp"

#include "coral/core/error.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <type_traits>

namespace coral::cli {
namespace {

std::string verb_hint(const std::string& verb) {
  return verb.empty() ? "run 'coral --help'" : "run 'coral help " + verb + "'";
}

// Registers one OptionSpec on a CLI11 app.
void add_option(CLI::App& app, const OptionSpec& spec) {
  std::visit(
    [&](auto* target) {
      using T = std::remove_pointer_t<decltype(target)>;
      if (spec.value_name.empty()) {
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int>) {
          app.add_flag(spec.flags, *target, spec.help);
          return;
        }
      }
      CLI::Option* opt = app.add_option(spec.flags, *target, spec.help);
      if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        // Repeatable, one value per occurrence: --metric a=1 --metric b=2.
        opt->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      } else {
        opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
    },
    spec.target);
}

void add_positional(CLI::App& app, const PositionalSpec& spec) {
  // Never `required` in CLI11: `coral add --help` must work; parse_command_line checks afterwards.
  std::visit([&](auto* target) { app.add_option(spec.name, *target, spec.help); }, spec.target);
}

bool is_empty(const PositionalSpec& p) {
  return std::visit([](auto* t) { return t->empty(); }, p.target);
}

// CLI11's messages start with a capital letter; coral's do not.
std::string lower_first(std::string s) {
  if (!s.empty() && std::isupper(static_cast<unsigned char>(s[0])) && (s.size() < 2 || !std::isupper(static_cast<unsigned char>(s[1]))))
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

[[noreturn]] void throw_parse_error(const CLI::ParseError& e, const CLI::App& app, const std::string& verb) {
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    const auto rest = app.remaining();
    if (!rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-')
      throw UsageError("unknown option '" + rest.front() + "'", e.what(), verb_hint(verb));
    if (!rest.empty()) throw UsageError("unexpected argument '" + rest.front() + "'", e.what(), verb_hint(verb));
  }
  throw UsageError(lower_first(e.what()), e.get_name(), verb_hint(verb));
}

// Arguments after "--" go to the verb's after_dashdash, else to its last positional if that
// takes several values.
void assign_dashdash(const VerbSpec& verb, const std::vector<std::string>& tail) {
  if (verb.after_dashdash) {
    *verb.after_dashdash = tail;
    return;
  }
  if (tail.empty()) return;
  if (!verb.positionals.empty()) {
    if (auto* const* list = std::get_if<std::vector<std::string>*>(&verb.positionals.back().target)) {
      (*list)->insert((*list)->end(), tail.begin(), tail.end());
      return;
    }
  }
  throw UsageError("unexpected argument '" + tail.front() + "'", {}, verb_hint(verb.name));
}

}  // namespace

std::vector<OptionSpec> global_option_specs(GlobalOptions& g) {
  return {
    {"-C", "DIR", "run as if coral was started in DIR", &g.directory},
    {"-v,--verbose", "", "more messages on stderr (-v info, -vv debug)", &g.verbosity},
    {"-q,--quiet", "", "only errors on stderr; no progress bar", &g.quiet},
    {"--json", "", "print the result on stdout as one JSON document", &g.json},
    {"--jobs", "N", "worker threads (default: config core.jobs, 0 = all cores)", &g.jobs},
    {"--lock-wait", "SECONDS", "wait this long for a repository lock (default: core.lock_wait)", &g.lock_wait},
    {"-h,--help", "", "show help (for the command, when one is given)", &g.help},
    {"--version", "", "print the version and exit", &g.version},
  };
}

Invocation parse_command_line(const std::vector<VerbSpec>& verbs, const std::vector<std::string>& args) {
  Invocation inv;
  GlobalOptions& g = inv.globals;
  std::vector<std::string> head = args;
  std::vector<std::string> tail;
  const auto dashdash = std::find(head.begin(), head.end(), "--");
  const bool has_dashdash = dashdash != head.end();
  if (has_dashdash) {
    tail.assign(dashdash + 1, head.end());
    head.erase(dashdash, head.end());
  }

  CLI::App app{"coral", "coral"};
  app.set_help_flag();
  app.require_subcommand(0, 1);
  app.fallthrough();  // inherited: options a verb does not know fall through to the globals
  const auto globals = global_option_specs(g);
  for (const auto& o : globals) add_option(app, o);
  std::vector<std::string> stray;
  app.add_option("stray", stray)->group("");

  std::vector<std::string> help_topics;
  CLI::App* help_cmd = app.add_subcommand("help", "show help for a command");
  help_cmd->add_option("topic", help_topics);
  for (const auto& verb : verbs) {
    CLI::App* sub = app.add_subcommand(verb.name, verb.summary);
    sub->set_help_flag();
    for (const auto& o : verb.options) add_option(*sub, o);
    for (const auto& p : verb.positionals) add_positional(*sub, p);
  }

  std::reverse(head.begin(), head.end());  // CLI11 takes the arguments last-first
  const VerbSpec* verb = nullptr;
  auto parsed_verb = [&]() -> const VerbSpec* {
    for (const auto* sub : app.get_subcommands())
      for (const auto& v : verbs)
        if (v.name == sub->get_name()) return &v;
    return nullptr;
  };
  try {
    app.parse(head);
  } catch (const CLI::ParseError& e) {
    verb = parsed_verb();
    throw_parse_error(e, app, verb ? verb->name : "");
  }
  verb = parsed_verb();
  if (g.version) {
    inv.action = Invocation::Action::version;
    return inv;
  }
  if (help_cmd->parsed() || (g.help && !verb)) {
    const std::string topic = help_topics.empty() ? "" : help_topics.front();
    const auto it = std::find_if(verbs.begin(), verbs.end(), [&](const VerbSpec& v) { return v.name == topic; });
    if (!topic.empty() && it == verbs.end())
      throw UsageError("no help for '" + topic + "': not a coral command", {}, "run 'coral --help'");
    inv.action = Invocation::Action::help;
    inv.text = it == verbs.end() ? format_main_help(verbs, globals) : format_verb_help(*it);
    return inv;
  }
  if (!stray.empty()) {
    // A word before any verb is an unknown command; after one, an extra argument.
    if (!verb) throw UsageError("'" + stray.front() + "' is not a coral command", {}, "run 'coral --help'");
    throw UsageError("unexpected argument '" + stray.front() + "'", {}, verb_hint(verb->name));
  }
  if (!verb) {
    if (has_dashdash) throw UsageError("unexpected '--' before the command", {}, "run 'coral --help'");
    inv.action = Invocation::Action::usage;
    inv.text = format_main_help(verbs, globals);
    return inv;
  }
  inv.verb = verb;
  g.verb = verb->name;
  if (g.help) {
    inv.action = Invocation::Action::help;
    inv.text = format_verb_help(*verb);
    return inv;
  }
  if (has_dashdash) assign_dashdash(*verb, tail);
  for (const auto& p : verb->positionals)
    if (p.required && is_empty(p)) throw UsageError("missing argument " + p.name, {}, verb_hint(verb->name));
  if (g.jobs < 0) throw UsageError("--jobs must be 0 or more", {}, verb_hint(verb->name));
  if (app.get_option("--lock-wait")->count() > 0 && g.lock_wait < 0)
    throw UsageError("--lock-wait must be 0 or more seconds", {}, verb_hint(verb->name));
  inv.action = Invocation::Action::run;
  return inv;
}

}  // namespace coral::cli
