#include "arguments.hpp"

#include "coral/core/error.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

namespace coral::cli {
namespace {

bool valid_metric_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
  });
}

[[noreturn]] void bad_metric(const std::string& spec, const std::string& why) {
  throw UsageError("invalid --metric '" + spec + "': " + why, {}, "write it as NAME=VALUE, e.g. --metric val_loss=2.61");
}

[[noreturn]] void bad_value(const std::string& option, const std::string& text, const std::string& why) {
  throw UsageError("invalid " + option + " '" + text + "': " + why);
}

}  // namespace

std::vector<std::pair<std::string, double>> parse_metrics(const std::vector<std::string>& specs) {
  std::vector<std::pair<std::string, double>> metrics;
  std::set<std::string> seen;
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos) bad_metric(spec, "missing '='");
    const std::string name = spec.substr(0, eq);
    const std::string text = spec.substr(eq + 1);
    if (!valid_metric_name(name)) bad_metric(spec, "the name must be letters, digits or _ . : / -");
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value))
      bad_metric(spec, "the value must be a finite number");
    if (!seen.insert(name).second) bad_metric(spec, "metric '" + name + "' given twice");
    metrics.emplace_back(name, value);
  }
  return metrics;
}

double parse_number(const std::string& option, const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value))
    bad_value(option, text, "not a finite number");
  return value;
}

std::vector<double> parse_number_list(const std::string& option, const std::string& text) {
  std::vector<double> values;
  std::size_t begin = 0;
  for (;;) {
    const auto comma = text.find(',', begin);
    const std::string item = text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    if (item.empty()) bad_value(option, text, "expected comma-separated numbers, e.g. 0.3,0.7");
    values.push_back(parse_number(option, item));
    if (comma == std::string::npos) return values;
    begin = comma + 1;
  }
}

std::uint64_t parse_unsigned(const std::string& option, const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    bad_value(option, text, "not an integer from 0 to 18446744073709551615");
  return value;
}

}  // namespace coral::cli
