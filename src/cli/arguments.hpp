#pragma once
// Parsing of structured option values (the parts CLI11 cannot check by type).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace coral::cli {

// "--metric NAME=VALUE" values: NAME matches [A-Za-z0-9_.:/-]+, VALUE is a finite number and
// each NAME appears once. Throws UsageError naming the bad value.
std::vector<std::pair<std::string, double>> parse_metrics(const std::vector<std::string>& specs);

// Numeric option values, whole text only. UsageError "invalid OPTION 'TEXT': ..." otherwise.
double parse_number(const std::string& option, const std::string& text);  // finite
std::vector<double> parse_number_list(const std::string& option, const std::string& text);  // "0.3,0.7"
std::uint64_t parse_unsigned(const std::string& option, const std::string& text);  // 0 .. 2^64-1

}  // namespace coral::cli
