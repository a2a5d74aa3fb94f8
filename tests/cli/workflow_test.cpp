// The everyday flow a training script runs: init, add a checkpoint directory, status, commit
// with metrics, log, show and diff.
#include "cli_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

using namespace coral::test;
using nlohmann::json;

TEST(CliWorkflowTest, InitCreatesARepositoryOnce) {
  CliDir dir;
  const auto r = dir.ok({"init"});
  EXPECT_EQ(r.out, "Initialized empty coral repository in " + (dir / ".coral").string() + "\n");
  EXPECT_TRUE(std::filesystem::is_directory(dir / ".coral"));
  const auto again = dir.run({"init"});
  EXPECT_EQ(again.exit_code, 4) << again.err;
  EXPECT_TRUE(contains(again.err, "coral: error: ")) << again.err;
}

TEST(CliWorkflowTest, InitIntoADirectoryArgument) {
  CliDir dir;
  const auto r = dir.ok({"init", "models/ft"});
  EXPECT_EQ(r.out, "Initialized empty coral repository in " + (dir / "models/ft/.coral").string() + "\n");
  EXPECT_EQ(dir.ok({"-C", "models/ft", "status", "--porcelain"}).out, "");
}

TEST(CliWorkflowTest, AddStagesADirectoryAndHonoursCoralignore) {
  CliDir dir;
  dir.ok({"init"});
  dir.write_model();
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out,
            "?? .coralignore\n"
            "?? model/config.json\n"
            "?? model/model-00001-of-00002.safetensors\n"
            "?? model/model-00002-of-00002.safetensors\n");
  const auto add = dir.ok({"add", "model", ".coralignore"});
  EXPECT_EQ(add.out.rfind("added 4, modified 0, unchanged 0 files (", 0), 0u) << add.out;
  EXPECT_TRUE(contains(add.out, " scanned, ")) << add.out;
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out,
            "A  .coralignore\n"
            "A  model/config.json\n"
            "A  model/model-00001-of-00002.safetensors\n"
            "A  model/model-00002-of-00002.safetensors\n");
  const auto status = dir.ok({"status"}).out;
  EXPECT_TRUE(contains(status, "On branch main\n")) << status;
  EXPECT_TRUE(contains(status, "No commits yet")) << status;
  EXPECT_TRUE(contains(status, "Changes to be committed:\n\tnew file:   .coralignore\n")) << status;
  EXPECT_FALSE(contains(status, "optimizer.tmp")) << status;
}

TEST(CliWorkflowTest, AddJsonReportsWhatWasStored) {
  CliDir dir;
  dir.ok({"init"});
  dir.write_model();
  const auto j = json::parse(dir.ok({"--json", "add", "model"}).out);
  EXPECT_EQ(j.at("added").size(), 3u);
  EXPECT_EQ(j.at("added").at(0), "model/config.json");
  EXPECT_TRUE(j.at("modified").empty());
  EXPECT_EQ(j.at("files_unchanged"), 0);
  const auto size = std::filesystem::file_size(dir / "model/config.json") +
                    std::filesystem::file_size(dir / "model/model-00001-of-00002.safetensors") +
                    std::filesystem::file_size(dir / "model/model-00002-of-00002.safetensors");
  EXPECT_EQ(j.at("bytes_scanned").get<std::uint64_t>(), size);
  EXPECT_EQ(j.at("tensors"), 3);
  EXPECT_GT(j.at("stored").at("objects_written").get<int>(), 0);
  EXPECT_GT(j.at("stored").at("bytes_stored").get<int>(), 0);
  // Adding again stores nothing new.
  const auto again = json::parse(dir.ok({"--json", "add", "model"}).out);
  EXPECT_EQ(again.at("files_unchanged"), 3);
  EXPECT_EQ(again.at("stored").at("objects_written"), 0);
}

TEST(CliWorkflowTest, CommitPrintsBranchShortIdAndRootCommit) {
  CliDir dir;
  dir.ok({"init"});
  dir.write_model();
  dir.ok({"add", "."});
  const auto first = dir.ok({"commit", "-m", "epoch 1\n\nlonger body"});
  EXPECT_TRUE(std::regex_search(first.out, std::regex("^\\[main \\(root-commit\\) [0-9a-f]{8}\\] epoch 1\n")))
    << first.out;
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
  EXPECT_TRUE(contains(dir.ok({"status"}).out, "nothing to commit, working tree clean"));

  dir.write_model(0.5f);
  dir.ok({"add", "model"});
  const auto second = dir.ok({"commit", "-m", "epoch 2"});
  EXPECT_TRUE(std::regex_search(second.out, std::regex("^\\[main [0-9a-f]{8}\\] epoch 2\n 1 file changed\n")))
    << second.out;
  EXPECT_EQ(second.out.substr(6, 8), dir.commit_id("HEAD").substr(0, 8));
}

TEST(CliWorkflowTest, NothingToCommitExitsOneAndAllowEmptyCommits) {
  CliDir dir;
  dir.init_and_commit_model();
  const std::string head = dir.commit_id("HEAD");
  const auto r = dir.run({"commit", "-m", "again"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "coral: error: nothing to commit")) << r.err;
  EXPECT_EQ(dir.commit_id("HEAD"), head);
  dir.ok({"commit", "-m", "empty", "--allow-empty"});
  EXPECT_NE(dir.commit_id("HEAD"), head);
}

TEST(CliWorkflowTest, CommitAllStagesTrackedChanges) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write("model/config.json", "{\"hidden\": 3}\n");
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, " M model/config.json\n");
  dir.ok({"commit", "-a", "-m", "tweak"});
  EXPECT_EQ(dir.ok({"status", "--porcelain"}).out, "");
  EXPECT_TRUE(contains(dir.ok({"show"}).out, "\nM\tmodel/config.json\n"));
}

TEST(CliWorkflowTest, LogTextOnelineAndJson) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write_model(0.5f);
  dir.ok({"add", "model"});
  dir.ok({"commit", "-m", "epoch 2", "--metric", "val_loss=2.61", "--metric", "acc=0.91", "--author", "Ada",
          "--email", "ada@example.com"});
  const std::string head = dir.commit_id("HEAD");
  const std::string first = dir.commit_id("HEAD~1");

  const auto text = dir.ok({"log"}).out;
  EXPECT_EQ(text.rfind("commit " + head + "\nAuthor: Ada <ada@example.com>\nDate:   ", 0), 0u) << text;
  EXPECT_TRUE(contains(text, "\nMetrics: acc=0.91 val_loss=2.61\n\n    epoch 2\n")) << text;
  EXPECT_TRUE(contains(text, "\n\ncommit " + first + "\n")) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("Date:   \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[+-]\\d\\d:\\d\\d\n")))
    << text;

  EXPECT_EQ(dir.ok({"log", "--oneline"}).out, head.substr(0, 8) + " epoch 2\n" + first.substr(0, 8) + " epoch 1\n");
  EXPECT_EQ(dir.ok({"log", "--oneline", "-n", "1"}).out, head.substr(0, 8) + " epoch 2\n");

  const auto j = json::parse(dir.ok({"log", "--json"}).out);
  ASSERT_EQ(j.size(), 2u);
  const auto& c = j.at(0);
  EXPECT_EQ(c.at("id"), head);
  EXPECT_EQ(c.at("parents"), json::array({first}));
  EXPECT_EQ(c.at("author"), "Ada");
  EXPECT_EQ(c.at("email"), "ada@example.com");
  EXPECT_TRUE(c.at("time").is_string());
  EXPECT_EQ(c.at("message"), "epoch 2");
  EXPECT_DOUBLE_EQ(c.at("metrics").at("val_loss").get<double>(), 2.61);
  EXPECT_DOUBLE_EQ(c.at("metrics").at("acc").get<double>(), 0.91);
  EXPECT_EQ(c.at("pruned"), false);
  EXPECT_FALSE(c.contains("merge"));
  EXPECT_TRUE(j.at(1).at("parents").empty());
  EXPECT_TRUE(j.at(1).at("metrics").empty());
}

TEST(CliWorkflowTest, LogOfUnknownRevisionExitsThree) {
  CliDir dir;
  dir.init_and_commit_model();
  const auto r = dir.run({"log", "no-such-branch"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "coral: error: ")) << r.err;
}

TEST(CliWorkflowTest, ShowCommitListsChangedPaths) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write_model(0.5f);
  dir.ok({"add", "model"});
  dir.ok({"commit", "-m", "epoch 2"});
  const auto head = dir.ok({"show"}).out;
  EXPECT_EQ(head.rfind("commit " + dir.commit_id("HEAD") + "\n", 0), 0u) << head;
  EXPECT_TRUE(contains(head, "\n    epoch 2\n\nM\tmodel/model-00001-of-00002.safetensors\n")) << head;
  EXPECT_FALSE(contains(head, "config.json")) << head;
  const auto root = dir.ok({"show", "HEAD~1"}).out;
  EXPECT_TRUE(contains(root, "A\t.coralignore\nA\tmodel/config.json\n")) << root;
  const auto j = json::parse(dir.ok({"show", "--json", "HEAD"}).out);
  EXPECT_EQ(j.at("commit").at("message"), "epoch 2");
  EXPECT_EQ(j.at("changes"), json::parse(R"([{"path":"model/model-00001-of-00002.safetensors","change":"modified"}])"));
}

TEST(CliWorkflowTest, ShowFilePrintsTensorTable) {
  CliDir dir;
  dir.init_and_commit_model();
  const std::string path = "model/model-00001-of-00002.safetensors";
  const auto r = dir.ok({"show", "HEAD:" + path});
  EXPECT_TRUE(contains(r.out, "path:     " + path + "\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "format:   safetensors\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "size:     " + std::to_string(std::filesystem::file_size(dir / path)) + " bytes")) << r.out;
  EXPECT_TRUE(contains(r.out, "tensors:  2\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "NAME            DTYPE  SHAPE  BYTES\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "layer.0.weight  F32    [2,2]  16\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "layer.0.bias    F32    [2]    8\n")) << r.out;

  const auto j = json::parse(dir.ok({"--json", "show", "HEAD:" + path}).out).at("file");
  EXPECT_EQ(j.at("path"), path);
  EXPECT_EQ(j.at("format"), "safetensors");
  ASSERT_EQ(j.at("tensors").size(), 2u);
  EXPECT_EQ(j.at("tensors").at(0).at("name"), "layer.0.weight");
  EXPECT_EQ(j.at("tensors").at(0).at("dtype"), "F32");
  EXPECT_EQ(j.at("tensors").at(0).at("shape"), json::array({2, 2}));
  EXPECT_EQ(j.at("tensors").at(0).at("length"), 16);

  const auto missing = dir.run({"show", "HEAD:model/nope.safetensors"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
}

TEST(CliWorkflowTest, DiffBetweenCommitsShowsTheChangedTensor) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write_model(0.5f);
  dir.ok({"add", "model"});
  dir.ok({"commit", "-m", "epoch 2"});
  const auto r = dir.ok({"diff", "HEAD~1", "HEAD"});
  EXPECT_EQ(r.out.rfind("M model/model-00001-of-00002.safetensors\n  ~ layer.0.weight F32 [2,2] max|Δ|=5.0e-1 relL2=", 0),
            0u)
    << r.out;
  EXPECT_FALSE(contains(r.out, "layer.0.bias")) << r.out;  // unchanged tensors are not listed
  EXPECT_FALSE(contains(r.out, "config.json")) << r.out;
  EXPECT_EQ(dir.ok({"diff", "HEAD", "HEAD"}).out, "");

  const auto stat = dir.ok({"diff", "--stat", "HEAD~1", "HEAD"}).out;
  EXPECT_TRUE(contains(stat, " M model/model-00001-of-00002.safetensors | tensors: 0 added, 0 removed, 1 changed\n"))
    << stat;
  EXPECT_TRUE(contains(stat, " 1 file changed, 0 tensors added, 0 removed, 1 changed\n")) << stat;

  const auto j = json::parse(dir.ok({"--json", "diff", "HEAD~1", "HEAD"}).out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j.at(0).at("change"), "modified");
  ASSERT_EQ(j.at(0).at("tensors").size(), 1u);
  const auto& t = j.at(0).at("tensors").at(0);
  EXPECT_EQ(t.at("name"), "layer.0.weight");
  EXPECT_DOUBLE_EQ(t.at("stats").at("max_abs_diff").get<double>(), 0.5);
  EXPECT_GT(t.at("stats").at("rel_l2").get<double>(), 0.0);
  EXPECT_LT(t.at("stats").at("cosine").get<double>(), 1.0);
}

TEST(CliWorkflowTest, DiffShowsAddedRemovedAndRetypedTensors) {
  CliDir dir;
  dir.init_and_commit_model();
  write_safetensors(dir / "model/model-00001-of-00002.safetensors",
                    {{"layer.0.weight", {4}, {1.0f, 2.0f, 3.0f, 4.0f}}, {"extra.bias", {2}, {0.0f, 1.0f}}});
  const auto r = dir.ok({"diff"});  // working tree against the index
  EXPECT_TRUE(contains(r.out, "M model/model-00001-of-00002.safetensors\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  + extra.bias F32 [2]\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  - layer.0.bias F32 [2]\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  ~ layer.0.weight F32 [2,2] -> F32 [4]")) << r.out;
  const auto stat = dir.ok({"diff", "--stat"}).out;
  EXPECT_TRUE(contains(stat, "tensors: 1 added, 1 removed, 1 changed")) << stat;
}

TEST(CliWorkflowTest, DiffAgainstHeadShowsNewAndDeletedFiles) {
  CliDir dir;
  dir.init_and_commit_model();
  dir.write("notes.txt", "hi\n");
  dir.ok({"add", "notes.txt"});
  std::filesystem::remove(dir / "model/config.json");
  const auto r = dir.ok({"diff", "HEAD"});
  EXPECT_TRUE(contains(r.out, "D model/config.json\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "A notes.txt\n")) << r.out;
}
