#pragma once
// Parsing of structured option values (the parts CLI11 cannot check by type).

#include <string>
#include <utility>
#include <vector>

namespace coral::cli {

// "--metric NAME=VALUE" values: NAME matches [A-Za-z0-9_.:/-]+, VALUE is a finite number and
// each NAME appears once. Throws UsageError naming the bad value.
std::vector<std::pair<std::string, double>> parse_metrics(const std::vector<std::string>& specs);

}  // namespace coral::cli
