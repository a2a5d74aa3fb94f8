// coral prune and coral gc from the command line: the "done means" run (a 12-checkpoint
// training run pruned to the last 3 and the best 2 by val_loss with --gc), byte-identical
// checkouts of the kept commits, the full history in log, fsck --full, stats before and after,
// `gc --dry-run --json` against the real run, and the documented exit codes.

#include "cli_support.hpp"
#include "support/checkpoint.hpp"

#include <map>
#include <set>

using namespace coral::test;
using nlohmann::json;
namespace stdfs = std::filesystem;

namespace {

using Files = std::map<std::string, std::string>;  // path -> bytes

Files read_tree(const stdfs::path& dir) {
  Files out;
  for (const auto& e : stdfs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().lexically_relative(dir).generic_string()] = read_file(e.path());
  return out;
}

constexpr const char* k_losses[12] = {"3.0", "2.5", "2.2", "2.4", "2.0", "2.1", "1.9", "2.3", "2.05", "1.95", "2.2", "2.15"};

class GcCliTest : public ::testing::Test {
protected:
  // 12 epochs of a drifting checkpoint directory, each committed with its val_loss.
  void training_run() {
    dir.ok({"init"});
    for (int e = 1; e <= 12; ++e) {
      write_checkpoint_dir(dir / "ckpt", e, 64 * 1024);
      dir.ok({"add", "ckpt"});
      dir.ok({"commit", "-m", "epoch " + std::to_string(e), "--metric", std::string("val_loss=") + k_losses[e - 1]});
      const std::string id = dir.commit_id("HEAD");
      ids.push_back(id);
      files[id] = read_tree(dir / "ckpt");
    }
  }
  json run_json(const std::vector<std::string>& args) {
    std::vector<std::string> with = args;
    with.push_back("--json");
    return json::parse(dir.ok(with).out);
  }

  CliDir dir;
  std::vector<std::string> ids;  // oldest first
  std::map<std::string, Files> files;
};

}  // namespace

TEST_F(GcCliTest, PruneKeepLastThreeKeepBestTwoWithGcLeavesExactlyThePromisedCheckpoints) {
  training_run();
  const json before = run_json({"stats"});
  const std::vector<std::string> policy = {"prune", "--keep-last", "3", "--keep-best", "val_loss:min=2", "--gc"};
  std::vector<std::string> dry = policy;
  dry.push_back("--dry-run");
  const json planned = run_json(dry);
  const json done = run_json(policy);
  const json after = run_json({"stats"});  // before any checkout rewrites HEAD and the index

  // Exactly epochs 12, 11, 10 (last 3; 10 is also the second best) and 7 (best).
  const std::set<std::string> promised{ids[11], ids[10], ids[9], ids[6]};
  std::set<std::string> kept;
  for (const auto& c : done.at("commits"))
    if (c.at("kept").get<bool>()) kept.insert(c.at("id").get<std::string>());
  EXPECT_EQ(kept, promised);
  EXPECT_EQ(done.at("kept"), 4);
  EXPECT_EQ(done.at("pruned"), 8);
  EXPECT_EQ(done.at("commits").size(), 12u);

  // The dry run planned the same decisions and the same gc numbers.
  EXPECT_EQ(planned.at("commits"), done.at("commits"));
  EXPECT_TRUE(planned.at("dry_run").get<bool>());
  for (const char* key : {"objects_removed", "metadata_removed", "records_dropped", "objects_reencoded", "packs_before",
                          "packs_removed", "packs_rewritten", "packs_consolidated", "bytes_before", "bytes_after"})
    EXPECT_EQ(planned.at("gc").at(key), done.at("gc").at(key)) << key;
  EXPECT_GT(done.at("gc").at("objects_removed").get<int>(), 0);
  EXPECT_LT(done.at("gc").at("bytes_after").get<std::uint64_t>(), done.at("gc").at("bytes_before").get<std::uint64_t>());

  // The whole history stays in log, metrics included; pruned commits are marked.
  const json history = run_json({"log"});
  ASSERT_EQ(history.size(), 12u);
  for (const auto& c : history) {
    EXPECT_EQ(c.at("pruned").get<bool>(), !promised.contains(c.at("id").get<std::string>()));
    EXPECT_TRUE(c.at("metrics").contains("val_loss"));
  }
  EXPECT_TRUE(contains(dir.ok({"log", "--oneline"}).out, ids[0].substr(0, 8) + " (pruned) epoch 1"));

  // Every kept checkpoint checks out byte-identically; a pruned one says its data was pruned.
  for (const auto& id : promised) {
    dir.ok({"checkout", id});
    EXPECT_EQ(read_tree(dir / "ckpt"), files.at(id)) << id;
  }
  const RunResult co = dir.run({"checkout", ids[3]});
  EXPECT_EQ(co.exit_code, 3);
  EXPECT_TRUE(contains(co.err, "the data of commit " + ids[3].substr(0, 12) + " was pruned")) << co.err;
  const RunResult df = dir.run({"diff", ids[2], ids[3]});
  EXPECT_EQ(df.exit_code, 3) << df.err;
  EXPECT_TRUE(contains(dir.ok({"show", ids[3]}).out, "(pruned)"));

  // fsck --full passes, and stats tells where the bytes went.
  EXPECT_TRUE(run_json({"fsck", "--full"}).at("ok").get<bool>());
  EXPECT_LT(after.at("stored_bytes").get<std::uint64_t>(), before.at("stored_bytes").get<std::uint64_t>() / 2);
  EXPECT_EQ(after.at("stored_bytes").get<std::uint64_t>(), done.at("gc").at("disk_bytes_after").get<std::uint64_t>());
  EXPECT_EQ(after.at("pruned_commits"), 8);
  EXPECT_EQ(after.at("unreachable_objects"), 0);
  EXPECT_EQ(after.at("reclaimable_bytes"), 0);
  EXPECT_EQ(after.at("commits"), 12);
}

TEST_F(GcCliTest, PruneMarksAndTheNextGcDrops) {
  training_run();
  const json marked = run_json({"prune", "--keep-last", "2"});
  EXPECT_TRUE(marked.at("gc").is_null());
  EXPECT_EQ(marked.at("pruned"), 10);
  // Marked, not yet collected: stats shows what gc will reclaim.
  const json st = run_json({"stats"});
  EXPECT_GT(st.at("unreachable_objects").get<int>(), 0);
  EXPECT_GT(st.at("reclaimable_bytes").get<std::uint64_t>(), 0u);
  EXPECT_EQ(dir.run({"checkout", ids[0]}).exit_code, 3);
  const json dry = run_json({"gc", "--dry-run"});
  const json real = run_json({"gc"});
  for (const char* key : {"objects_removed", "objects_reencoded", "packs_removed", "packs_rewritten", "bytes_before",
                          "bytes_after", "temp_files_removed"})
    EXPECT_EQ(dry.at(key), real.at(key)) << key;
  EXPECT_TRUE(dry.at("disk_bytes_after").is_null());
  EXPECT_EQ(real.at("objects_removed"), st.at("unreachable_objects"));
  const std::string text = dir.ok({"gc"}).out;
  EXPECT_TRUE(contains(text, "objects removed:     0")) << text;
  for (const auto& id : {ids[11], ids[10]}) {
    dir.ok({"checkout", id});
    EXPECT_EQ(read_tree(dir / "ckpt"), files.at(id));
  }
  EXPECT_TRUE(run_json({"fsck", "--full"}).at("ok").get<bool>());
}

TEST_F(GcCliTest, ExitCodes) {
  dir.init_and_commit_model();
  EXPECT_EQ(dir.run({"prune"}).exit_code, 2);  // no policy
  for (const char* bad : {"val_loss", "val_loss:best=2", "=2", "val_loss=0", "val_loss=x"})
    EXPECT_EQ(dir.run({"prune", "--keep-best", bad}).exit_code, 2) << bad;
  EXPECT_EQ(dir.run({"prune", "--keep-last", "-1"}).exit_code, 2);
  EXPECT_EQ(dir.run({"prune", "--keep-last", "1", "--branch", "nope"}).exit_code, 3);
  dir.ok({"checkout", dir.commit_id("HEAD")});
  const RunResult detached = dir.run({"prune", "--keep-last", "1"});
  EXPECT_EQ(detached.exit_code, 2);
  EXPECT_TRUE(contains(detached.err, "--branch")) << detached.err;
  EXPECT_EQ(dir.run({"prune", "--keep-last", "1", "--branch", "main"}).exit_code, 0);
  EXPECT_TRUE(contains(dir.ok({"help", "gc"}).out, "--dry-run"));
  EXPECT_TRUE(contains(dir.ok({"help", "prune"}).out, "--keep-best"));
}
