// The gc plan builder (src/vcs/gc_plan.hpp) on made-up pack records: dead objects and their
// packs, delta bases of live objects (re-encoded against the next live object of the chain, or
// standalone), superseded records, cycles and missing bases, consolidation of small packs.

#include "vcs/gc_plan.hpp"

#include <algorithm>
#include <gtest/gtest.h>

using namespace coral;
using namespace coral::vcs;

namespace {

core::ObjectId id(int n) {
  core::ObjectId out;
  out.bytes[0] = 0x10;
  out.bytes[15] = static_cast<std::uint8_t>(n);
  return out;
}

storage::StoredRecord rec(int object, const std::string& pack, std::uint64_t stored, int base = -1) {
  storage::StoredRecord r;
  r.info.id = id(object);
  r.info.encoding = 2;
  r.info.base = base < 0 ? core::ObjectId{} : id(base);
  r.info.raw_size = 1000;
  r.info.stored_size = stored;
  r.pack = pack;
  return r;
}

GcPlanInput input(std::vector<storage::StoredRecord> records, std::initializer_list<int> live,
                  std::uint64_t max_pack = 1u << 30) {
  GcPlanInput in;
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.info.id != b.info.id ? a.info.id < b.info.id : a.pack < b.pack;
  });
  in.records = std::move(records);
  for (int n : live) in.live.insert(id(n));
  in.max_pack_bytes = max_pack;
  return in;
}

bool drops(const GcPlanned& p, int object, const std::string& pack) {
  return std::any_of(p.drop.begin(), p.drop.end(),
                     [&](const storage::StoredCopy& c) { return c.id == id(object) && c.pack == pack; });
}

}  // namespace

TEST(GcPlanTest, NothingDeadMeansNothingToDo) {
  // One big pack: no consolidation either.
  const auto plan = plan_gc(input({rec(1, "pack-a", 700), rec(2, "pack-a", 100, 1)}, {1, 2}, 1000));
  EXPECT_TRUE(plan.drop.empty());
  EXPECT_TRUE(plan.rewrite.empty());
  EXPECT_TRUE(plan.reencode.empty());
  EXPECT_EQ(plan.record_bytes, 800u);
}

TEST(GcPlanTest, ADeadObjectGoesAndItsPackIsRewrittenOrRemoved) {
  const auto plan = plan_gc(input({rec(1, "pack-a", 600), rec(2, "pack-a", 100), rec(3, "pack-b", 900)}, {1}, 1000));
  EXPECT_EQ(plan.dead_objects, 2u);
  EXPECT_EQ(plan.dead_bytes, 1000u);
  EXPECT_TRUE(drops(plan, 2, "pack-a"));
  EXPECT_TRUE(drops(plan, 3, "pack-b"));
  EXPECT_FALSE(drops(plan, 1, "pack-a"));
  EXPECT_EQ(plan.rewrite, (std::set<std::string>{"pack-a", "pack-b"}));
  EXPECT_EQ(plan.remove, (std::set<std::string>{"pack-b"}));
  EXPECT_EQ(plan.drop_bytes, 1000u);
}

TEST(GcPlanTest, ALiveObjectWhoseBaseDiesIsReencodedAgainstTheNextLiveOneOfItsChain) {
  // 1 -> 2 -> 3 -> 4 (whole); 2 and 3 die: 1 is re-encoded against 4.
  const auto plan = plan_gc(input(
    {rec(1, "pack-a", 10, 2), rec(2, "pack-a", 10, 3), rec(3, "pack-a", 10, 4), rec(4, "pack-b", 900)}, {1, 4}, 1000));
  ASSERT_EQ(plan.reencode.size(), 1u);
  EXPECT_EQ(plan.reencode[0].id, id(1));
  EXPECT_EQ(plan.reencode[0].base, id(4));
  EXPECT_EQ(plan.reencode[0].old.pack, "pack-a");
  EXPECT_TRUE(drops(plan, 1, "pack-a"));  // the old record goes with its pack
  EXPECT_TRUE(plan.remove.contains("pack-a"));
}

TEST(GcPlanTest, WithNoLiveObjectDownTheChainItIsReencodedStandaloneWithItsChainHeight) {
  // 5 -> 1 -> 2 -> 3 (whole); 2 and 3 die. 1 becomes standalone and 5 still decodes through it.
  const auto plan = plan_gc(input(
    {rec(5, "pack-c", 10, 1), rec(1, "pack-a", 10, 2), rec(2, "pack-a", 10, 3), rec(3, "pack-a", 900)}, {1, 5}, 1000));
  ASSERT_EQ(plan.reencode.size(), 1u);
  EXPECT_EQ(plan.reencode[0].id, id(1));
  EXPECT_TRUE(plan.reencode[0].base.is_zero());
  EXPECT_EQ(plan.reencode[0].chain_height, 1u);
}

TEST(GcPlanTest, ASupersededRecordWhoseBaseDiesMustGoEvenFromABigPack) {
  // 1 has a whole record in pack-a and a delta record against 2 in pack-b; 2 dies. The delta
  // record would no longer decode: it goes.
  const auto plan = plan_gc(input({rec(1, "pack-a", 500), rec(1, "pack-b", 10, 2), rec(2, "pack-b", 800)}, {1}, 1000));
  EXPECT_TRUE(plan.reencode.empty());  // the whole record is chosen
  EXPECT_TRUE(drops(plan, 1, "pack-b"));
  EXPECT_FALSE(drops(plan, 1, "pack-a"));
  EXPECT_EQ(plan.superseded_records, 1u);
}

TEST(GcPlanTest, TheSmallerRecordIsKeptAndAHarmlessDuplicateGoesOnlyWhenWorthIt) {
  // 1: whole (400) in pack-a, delta against live 2 (10) in pack-c. pack-a holds 1600 bytes of
  // other live data, so dropping 400 is not worth a rewrite; pack-a keeps the duplicate.
  const auto keep = plan_gc(input(
    {rec(1, "pack-a", 400), rec(3, "pack-a", 1600), rec(1, "pack-c", 10, 2), rec(2, "pack-c", 3000)}, {1, 2, 3}, 4000));
  EXPECT_TRUE(keep.drop.empty());
  // When the duplicate is most of its pack, the pack is rewritten without it.
  const auto drop = plan_gc(input(
    {rec(1, "pack-a", 400), rec(3, "pack-a", 100), rec(1, "pack-c", 10, 2), rec(2, "pack-c", 3000)}, {1, 2, 3}, 4000));
  EXPECT_TRUE(drops(drop, 1, "pack-a"));
  EXPECT_FALSE(drops(drop, 1, "pack-c"));
}

TEST(GcPlanTest, ACycleOrAMissingBaseIsNeverChosenAndAnUndecodableLiveObjectIsMissing) {
  // 1's only record needs 9, which is not stored; 2 and 3 are bases of each other; 4 has a
  // cyclic record and a good one.
  const auto plan = plan_gc(input({rec(1, "pack-a", 10, 9), rec(2, "pack-a", 10, 3), rec(3, "pack-a", 10, 2),
                                   rec(4, "pack-a", 5, 4), rec(4, "pack-b", 50)},
                                  {1, 2, 4}, 1000));
  EXPECT_EQ(plan.missing, (std::vector<core::ObjectId>{id(1), id(2)}));
  EXPECT_TRUE(drops(plan, 4, "pack-a"));  // the self-referencing record
  EXPECT_FALSE(drops(plan, 4, "pack-b"));
}

TEST(GcPlanTest, SmallPacksAreConsolidatedWhenThereAreTwoOrMore) {
  std::vector<storage::StoredRecord> records;
  for (int i = 1; i <= 5; ++i) records.push_back(rec(i, "pack-" + std::to_string(i), 100));
  records.push_back(rec(6, "pack-big", 800));
  const auto plan = plan_gc(input(records, {1, 2, 3, 4, 5, 6}, 1000));
  EXPECT_EQ(plan.rewrite.size(), 5u);
  EXPECT_FALSE(plan.rewrite.contains("pack-big"));
  EXPECT_EQ(plan.consolidated, 5u);
  EXPECT_TRUE(plan.drop.empty());
  // One small pack alone is left as it is; --repack takes the big one too.
  EXPECT_TRUE(plan_gc(input({rec(1, "pack-1", 100), rec(6, "pack-big", 800)}, {1, 6}, 1000)).rewrite.empty());
  auto in = input({rec(1, "pack-1", 100), rec(6, "pack-big", 800)}, {1, 6}, 1000);
  in.repack = true;
  EXPECT_EQ(plan_gc(in).rewrite.size(), 2u);
}

TEST(GcPlanTest, ChoosingARecordPrefersOneThatNeedsNoReencoding) {
  // 1: a small delta against dead 2, and a bigger whole record. The whole one is kept: no
  // re-encoding, and the delta record goes with 2.
  const auto plan = plan_gc(input({rec(1, "pack-a", 300), rec(1, "pack-b", 5, 2), rec(2, "pack-b", 700)}, {1}, 1000));
  EXPECT_TRUE(plan.reencode.empty());
  EXPECT_TRUE(drops(plan, 1, "pack-b"));
  EXPECT_TRUE(drops(plan, 2, "pack-b"));
  EXPECT_TRUE(plan.remove.contains("pack-b"));
}

TEST(GcPlanTest, APackRewrittenToConsolidateLeavesItsSupersededRecordsBehind) {
  // 1: whole in pack-a (with 3, 2000 bytes: under half of 10000), delta against 2 in pack-c.
  // pack-a and pack-c are consolidated; 1's whole record does not come along.
  const auto plan = plan_gc(input(
    {rec(1, "pack-a", 400), rec(3, "pack-a", 1600), rec(1, "pack-c", 10, 2), rec(2, "pack-c", 3000)}, {1, 2, 3}, 10000));
  EXPECT_EQ(plan.rewrite, (std::set<std::string>{"pack-a", "pack-c"}));
  EXPECT_EQ(plan.consolidated, 2u);
  EXPECT_TRUE(drops(plan, 1, "pack-a"));
  EXPECT_FALSE(drops(plan, 1, "pack-c"));
  EXPECT_EQ(plan.drop_bytes, 400u);
  EXPECT_TRUE(plan.remove.empty());
}

TEST(GcPlanTest, APackWithRecordsTheCatalogLeavesOutIsRewrittenOrRemoved) {
  auto in = input({rec(1, "pack-a", 600), rec(2, "pack-b", 900)}, {1, 2}, 1000);
  in.left_out = {{"pack-a", 3}, {"pack-z", 5}};  // pack-z: nothing of it is listed
  const auto plan = plan_gc(in);
  EXPECT_EQ(plan.rewrite, (std::set<std::string>{"pack-a", "pack-z"}));
  EXPECT_EQ(plan.remove, (std::set<std::string>{"pack-z"}));
  EXPECT_TRUE(plan.drop.empty());
}
