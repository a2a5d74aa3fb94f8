// stats from the command line: exit 0 with the text table, and the --json shape with sane values.
#include "cli_support.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace coral::test;
using nlohmann::json;

namespace {

TEST(StatsCliTest, PrintsATableOfSizes) {
  CliDir dir;
  dir.init_and_commit_model();
  const RunResult r = dir.ok({"stats"});
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const std::string label : {"commits:", "logical (HEAD):", "logical (history):", "stored:", "packs:", "ratio:",
                                  "dedup:", "delta depth:", "reclaimable:", "ENCODING"})
    EXPECT_TRUE(contains(r.out, label)) << label << "\n" << r.out;
}

TEST(StatsCliTest, JsonHasTheDocumentedFields) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write_model(0.5f);
  dir.ok({"add", "model"});
  dir.ok({"commit", "-m", "epoch 2"});
  const json j = json::parse(dir.ok({"--json", "stats"}).out);
  std::uint64_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "model"))
    if (e.path().extension() != ".tmp") files += e.file_size();
  files += std::filesystem::file_size(dir / ".coralignore");
  EXPECT_EQ(j.at("commits"), 2);
  EXPECT_EQ(j.at("logical_bytes_head").get<std::uint64_t>(), files);
  EXPECT_GT(j.at("logical_bytes_history").get<std::uint64_t>(), files);
  EXPECT_GT(j.at("stored_bytes").get<std::uint64_t>(), j.at("pack_bytes").get<std::uint64_t>());
  EXPECT_GE(j.at("packs").get<int>(), 1);
  EXPECT_GT(j.at("ratio").get<double>(), 0);
  EXPECT_GT(j.at("ratio").get<double>(), j.at("ratio_head").get<double>());
  const auto objects = j.at("objects").get<std::uint64_t>();
  EXPECT_GT(objects, 0u);
  std::uint64_t by_encoding = 0, by_depth = 0;
  for (const auto& [name, e] : j.at("by_encoding").items()) {
    by_encoding += e.at("objects").get<std::uint64_t>();
    EXPECT_GE(e.at("raw_bytes").get<std::uint64_t>(), 0u) << name;
    EXPECT_TRUE(e.contains("stored_bytes")) << name;
  }
  for (const auto& [depth, n] : j.at("delta_depth").items()) by_depth += n.get<std::uint64_t>();
  EXPECT_EQ(by_encoding, objects);
  EXPECT_EQ(by_depth, objects);
  const json& dedup = j.at("dedup");
  EXPECT_GT(dedup.at("references").get<std::uint64_t>(), dedup.at("distinct").get<std::uint64_t>());
  EXPECT_GT(dedup.at("saved_bytes").get<std::uint64_t>(), 0u);  // config.json and shard 2 are unchanged
  EXPECT_EQ(j.at("unreachable_objects"), 0);
  EXPECT_EQ(j.at("reclaimable_bytes"), 0);
}

}  // namespace
