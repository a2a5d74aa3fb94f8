// Merge strategies and per-tensor rules: names, parameters, validation, the --rules TOML file
// (docs/merge.md "Every strategy on one example" and "Per-tensor rules").
#include "coral/core/error.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/merge.hpp"

#include <cmath>
#include <fmt/format.h>
#include <toml++/toml.h>

namespace coral::vcs {
namespace {

struct StrategyTraits {
  const char* name;
  bool weights, lambda, density, seed, t;
};
constexpr StrategyTraits k_strategies[] = {
  {"fail", false, false, false, false, false},           {"ours", false, false, false, false, false},
  {"theirs", false, false, false, false, false},         {"average", false, false, false, false, false},
  {"weighted", true, false, false, false, false},        {"task-arithmetic", true, true, false, false, false},
  {"ties", true, true, true, false, false},              {"dare", true, true, true, true, false},
  {"dare-ties", true, true, true, true, false},           {"slerp", false, false, false, false, true},
  {"soup", false, false, false, false, false},
};

const StrategyTraits* find_traits(std::string_view name) {
  for (const auto& s : k_strategies)
    if (name == s.name) return &s;
  return nullptr;
}

std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

std::map<std::string, std::string> MergeStrategy::parameters() const {
  std::map<std::string, std::string> out;
  const StrategyTraits* traits = find_traits(name);
  if (!traits) return out;
  if (traits->weights && !weights.empty()) {
    std::string w;
    for (std::size_t i = 0; i < weights.size(); ++i) w += (i ? "," : "") + number(weights[i]);
    out["weights"] = w;
  }
  if (name == "weighted" || name == "ties" || name == "dare-ties") out["normalize"] = normalize ? "true" : "false";
  if (traits->lambda) out["lambda"] = number(lambda.value_or(1.0));
  if (traits->density) out["density"] = number(density.value_or(1.0));
  if (traits->seed) out["seed"] = std::to_string(seed.value_or(0));
  if (traits->t) out["t"] = number(t.value_or(0.5));
  return out;
}

void validate_merge_strategy(const MergeStrategy& s, std::size_t sides, const std::string& where) {
  const StrategyTraits* traits = find_traits(s.name);
  if (!traits) {
    std::string names;
    for (const auto& t : k_strategies) names += std::string(names.empty() ? "" : ", ") + t.name;
    throw UsageError(where + ": unknown merge strategy '" + s.name + "'", {}, "use one of " + names);
  }
  auto refuse = [&](const char* param) {
    throw UsageError(where + ": " + param + " does not apply to strategy '" + s.name + "'");
  };
  if (!s.weights.empty() && !traits->weights) refuse("weights");
  if (s.lambda && !traits->lambda) refuse("lambda");
  if (s.density && !traits->density) refuse("density");
  if (s.seed && !traits->seed) refuse("seed");
  if (s.t && !traits->t) refuse("t");
  if (!s.normalize && s.name != "weighted" && s.name != "ties" && s.name != "dare-ties") refuse("no-normalize");
  if (s.name == "weighted" && s.weights.empty())
    throw UsageError(where + ": strategy 'weighted' needs weights", {}, "pass --weights W1,W2,... (ours first)");
  if (!s.weights.empty() && sides > 0 && s.weights.size() != sides)
    throw UsageError(where + ": " + std::to_string(s.weights.size()) + " weights for " + std::to_string(sides) +
                     " sides (ours and each merged revision, ours first)");
  for (double w : s.weights)
    if (!std::isfinite(w)) throw UsageError(where + ": weights must be finite numbers");
  if (s.name == "weighted" && s.normalize) {
    double sum = 0;
    for (double w : s.weights) sum += w;
    if (sum == 0) throw UsageError(where + ": the weights sum to 0 and cannot be normalized", {}, "pass --no-normalize");
  }
  if (s.lambda && !std::isfinite(*s.lambda)) throw UsageError(where + ": lambda must be a finite number");
  if (s.density && !(*s.density > 0 && *s.density <= 1))
    throw UsageError(where + ": density must be in (0, 1], not " + number(*s.density));
  if (s.t && !(*s.t >= 0 && *s.t <= 1)) throw UsageError(where + ": t must be in [0, 1], not " + number(*s.t));
  if (sides > 0) {
    if (s.name == "theirs" && sides != 2)
      throw UsageError(where + ": strategy 'theirs' needs exactly one merged revision, not " +
                       std::to_string(sides - 1));
    if (s.name == "slerp" && sides != 2)
      throw UsageError(where + ": strategy 'slerp' interpolates exactly two sides (ours and one revision), not " +
                       std::to_string(sides));
  }
}

std::vector<MergeRule> parse_merge_rules(std::string_view text, const std::string& file_name) {
  toml::table table;
  try {
    table = toml::parse(text, std::string_view{file_name});
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw UsageError(fmt::format("{}: line {}, column {}: {}", file_name, at.line, at.column, e.description()));
  }
  std::vector<MergeRule> rules;
  for (const auto& [key, node] : table)
    if (key.str() != "rule") throw UsageError(file_name + ": unknown key '" + std::string(key.str()) + "' (expected [[rule]] tables)");
  const toml::array* array = table["rule"].as_array();
  if (!array) throw UsageError(file_name + ": no [[rule]] tables");
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string where = file_name + ": rule " + std::to_string(i + 1);
    const toml::table* t = (*array)[i].as_table();
    if (!t) throw UsageError(where + ": not a table");
    MergeRule rule;
    auto number_of = [&](const toml::node& n, const std::string& key) {
      if (auto v = n.value<double>()) return *v;
      throw UsageError(where + ": '" + key + "' must be a number");
    };
    for (const auto& [k, node] : *t) {
      const std::string key(k.str());
      if (key == "tensor" || key == "file" || key == "strategy") {
        auto v = node.value<std::string>();
        if (!v || v->empty()) throw UsageError(where + ": '" + key + "' must be a non-empty string");
        (key == "tensor" ? rule.tensor : key == "file" ? rule.file : rule.strategy.name) = *v;
      } else if (key == "lambda") {
        rule.strategy.lambda = number_of(node, key);
      } else if (key == "density") {
        rule.strategy.density = number_of(node, key);
      } else if (key == "t") {
        rule.strategy.t = number_of(node, key);
      } else if (key == "seed") {
        auto v = node.value<std::int64_t>();
        if (!v || *v < 0) throw UsageError(where + ": 'seed' must be a non-negative integer");
        rule.strategy.seed = static_cast<std::uint64_t>(*v);
      } else if (key == "normalize") {
        auto v = node.value<bool>();
        if (!v) throw UsageError(where + ": 'normalize' must be true or false");
        rule.strategy.normalize = *v;
      } else if (key == "weights") {
        const toml::array* w = node.as_array();
        if (!w) throw UsageError(where + ": 'weights' must be an array of numbers");
        for (const auto& e : *w) rule.strategy.weights.push_back(number_of(e, key));
      } else {
        throw UsageError(where + ": unknown key '" + key + "'");
      }
    }
    if (!t->contains("strategy")) throw UsageError(where + ": 'strategy' is missing");
    if (!t->contains("tensor") && !t->contains("file")) throw UsageError(where + ": give 'tensor' or 'file' (a glob)");
    if (rule.strategy.name == "soup") throw UsageError(where + ": 'soup' applies to the whole merge, not to a rule");
    validate_merge_strategy(rule.strategy, 0, where);
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace coral::vcs
