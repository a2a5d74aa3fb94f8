#pragma once
// Help texts built from the verb table: `coral --help` (verb list) and `coral help VERB`.

#include "verb.hpp"

#include <string>
#include <vector>

namespace coral::cli {

// usage, description, ARGUMENTS, OPTIONS, a pointer to the global options, EXAMPLES, EXIT STATUS.
std::string format_verb_help(const VerbSpec& verb);

// usage, the COMMANDS list (name and summary), GLOBAL OPTIONS.
std::string format_main_help(const std::vector<VerbSpec>& verbs, const std::vector<OptionSpec>& globals);

}  // namespace coral::cli
