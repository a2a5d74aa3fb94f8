#pragma once
// Command-line parsing: the verb table in, an Invocation out. parser.cpp is the only file that
// includes CLI11; every parse error leaves it as a UsageError (exit 2).

#include "verb.hpp"

#include <string>
#include <vector>

namespace coral::cli {

struct Invocation {
  enum class Action {
    run,      // run `verb`
    help,     // print `text` on stdout, exit 0 (--help, help VERB)
    version,  // print the version on stdout, exit 0
    usage,    // no verb given: print `text` on stderr, exit 2
  };
  Action action = Action::usage;
  GlobalOptions globals;
  const VerbSpec* verb = nullptr;
  std::string text;
};

// Parses argv[1..]. Writes the verb's option targets. Throws UsageError for any parse error,
// with a hint naming `coral help VERB`.
Invocation parse_command_line(const std::vector<VerbSpec>& verbs, const std::vector<std::string>& args);

// The global options bound to `g`, for the parser and `coral --help`.
std::vector<OptionSpec> global_option_specs(GlobalOptions& g);

}  // namespace coral::cli
