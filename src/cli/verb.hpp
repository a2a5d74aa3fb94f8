#pragma once
// A verb is data (STYLE.md §7): its options, its help text and one run function. parser.cpp turns
// the table into CLI11 subcommands; no other file sees CLI11.
//
// Option targets point into the verb's own argument struct, which the run function keeps alive
// (make_<verb>_verb() allocates it with std::make_shared and captures it in `run`).

#include "coral/vcs/repository.hpp"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

namespace coral::cli {

class Output;

// Options accepted by every verb, before or after the verb name (defined once, in parser.cpp).
struct GlobalOptions {
  std::string directory;  // -C DIR: main changes into it before running the verb
  int verbosity = 0;      // -v count
  bool quiet = false;     // -q
  bool json = false;      // --json
  int jobs = 0;           // --jobs N; 0: config core.jobs
  double lock_wait = -1;  // --lock-wait SECONDS; < 0: config core.lock_wait
  bool help = false;      // -h, --help
  bool version = false;   // --version
  std::string verb;       // the verb being run ("commit")
};

using OptionTarget =
  std::variant<std::string*, bool*, int*, std::int64_t*, double*, std::vector<std::string>*>;

// One option. An option with an empty value_name is a flag: bool* is set, int* counts (-vv).
// A std::vector<std::string>* option may be repeated; each occurrence takes one value.
struct OptionSpec {
  std::string flags;       // "-m,--message"
  std::string value_name;  // "MSG"; empty for flags
  std::string help;
  OptionTarget target;
};

struct PositionalSpec {
  std::string name;  // "PATH"
  std::string help;
  std::variant<std::string*, std::vector<std::string>*> target;
  bool required = false;
};

struct VerbSpec {
  std::string name;
  std::string summary;      // one line, listed by `coral --help`
  std::string synopsis;     // one usage form per line, without "usage: "
  std::string description;  // paragraphs
  std::vector<OptionSpec> options;
  std::vector<PositionalSpec> positionals;
  // Receives the arguments after "--" (checkout's paths); nullptr: they are positionals.
  std::vector<std::string>* after_dashdash = nullptr;
  std::string examples;     // the EXAMPLES section
  std::string exit_status;  // the EXIT STATUS section
  std::function<int(const GlobalOptions&, Output&)> run;
};

// The verb table, alphabetical (verbs.cpp).
std::vector<VerbSpec> make_verbs();

VerbSpec make_add_verb();
VerbSpec make_branch_verb();
VerbSpec make_checkout_verb();
VerbSpec make_commit_verb();
VerbSpec make_config_verb();
VerbSpec make_diff_verb();
VerbSpec make_fsck_verb();
VerbSpec make_gc_verb();
VerbSpec make_init_verb();
VerbSpec make_log_verb();
VerbSpec make_merge_verb();
VerbSpec make_prune_verb();
VerbSpec make_rm_verb();
VerbSpec make_show_verb();
VerbSpec make_stats_verb();
VerbSpec make_status_verb();
VerbSpec make_tag_verb();

// Repository options from the global flags. main has already changed into -C DIR, so the
// search for .coral starts in the current directory.
inline vcs::OpenOptions open_options(const GlobalOptions& g) {
  return {.start_dir = ".", .lock_wait_seconds = g.lock_wait, .jobs = g.jobs, .verb = "coral " + g.verb};
}

// One line of an EXIT STATUS section.
struct ExitCode {
  int code;
  const char* meaning;
};
// The EXIT STATUS section: the codes every verb shares (0, 1, 2, 3, 5, 6, 130) plus `extra`,
// which may also replace a shared line; sorted by code (help.cpp).
std::string exit_status(std::initializer_list<ExitCode> extra = {});

}  // namespace coral::cli
