// The lookup table's byte format and its in-memory operations.

#include "storage/lookup_table.hpp"

#include "coral/core/error.hpp"
#include "unit/storage/store_test_util.hpp"

#include <gtest/gtest.h>

namespace coral::storage {
namespace {

std::vector<IndexRow> rows_for(std::initializer_list<std::uint64_t> seeds) {
  std::vector<IndexRow> rows;
  for (std::uint64_t s : seeds) rows.push_back({test::make_object(s, 4).info.id, 0, 4, 4, 0, {}});
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return rows;
}

std::string name_of(char c) { return "pack-" + std::string(32, c); }

const std::filesystem::path k_path = "lookup";

TEST(LookupTableTest, SerializesToTheDocumentedLayout) {
  LookupTable t;
  t.add_pack(name_of('a'), rows_for({1, 2, 3}));
  t.add_pack(name_of('b'), rows_for({4, 5}));
  const std::string bytes = t.serialize();
  EXPECT_EQ(bytes.size(), 24u + 2 * 32 + 5 * 24 + 16);
  EXPECT_EQ(bytes.substr(0, 8), "CORALLUT");
  EXPECT_EQ(bytes.substr(8, 8), std::string("\x01\0\0\0\x02\0\0\0", 8));  // version 1, 2 packs
  EXPECT_EQ(bytes.substr(16, 8), std::string("\x05\0\0\0\0\0\0\0", 8));   // 5 entries
  EXPECT_EQ(bytes.substr(24, 32), std::string(32, 'a'));
  const core::ObjectId sum = core::hash_bytes(std::string_view(bytes).substr(0, bytes.size() - 16));
  EXPECT_EQ(bytes.substr(bytes.size() - 16), std::string(reinterpret_cast<const char*>(sum.bytes.data()), 16));
}

TEST(LookupTableTest, RoundTripsThroughParse) {
  LookupTable t;
  t.add_pack(name_of('a'), rows_for({1, 2, 3}));
  t.add_pack(name_of('b'), rows_for({3, 4}));  // 3 in both packs
  const ParsedLookup parsed = LookupTable::parse(t.serialize(), k_path);
  ASSERT_TRUE(parsed.table.has_value()) << parsed.problem;
  EXPECT_EQ(parsed.table->packs(), t.packs());
  ASSERT_EQ(parsed.table->entries().size(), 5u);
  const auto dup = parsed.table->find(test::make_object(3, 4).info.id);
  ASSERT_EQ(dup.size(), 2u);
  EXPECT_EQ(dup[0].pack, 0u);
  EXPECT_EQ(dup[1].pack, 1u);
  EXPECT_TRUE(parsed.table->find(test::make_object(9, 4).info.id).empty());
}

TEST(LookupTableTest, EntriesRecordTheRowInThePack) {
  LookupTable t;
  const auto rows = rows_for({10, 11, 12, 13});
  t.add_pack(name_of('c'), rows);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto found = t.find(rows[i].id);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].row, i);
  }
  t.add_pack(name_of('c'), rows);  // already listed: no-op
  EXPECT_EQ(t.entries().size(), 4u);
}

TEST(LookupTableTest, DetectsDamage) {
  LookupTable t;
  t.add_pack(name_of('a'), rows_for({1, 2}));
  const std::string good = t.serialize();
  std::string flipped = good;
  flipped[30] ^= 1;
  EXPECT_EQ(LookupTable::parse(flipped, k_path).problem, "checksum mismatch");
  EXPECT_FALSE(LookupTable::parse(good.substr(0, good.size() - 1), k_path).table.has_value());
  EXPECT_FALSE(LookupTable::parse("", k_path).table.has_value());
  std::string magic = good;
  magic[0] = 'X';
  EXPECT_FALSE(LookupTable::parse(magic, k_path).table.has_value());
  std::string huge = good;
  huge[23] = '\x7f';  // entry count far beyond the file size
  EXPECT_FALSE(LookupTable::parse(huge, k_path).table.has_value());
}

TEST(LookupTableTest, NewerVersionThrows) {
  LookupTable t;
  std::string bytes = t.serialize();
  bytes[8] = 9;
  EXPECT_THROW(LookupTable::parse(bytes, k_path), CorruptError);
}

TEST(LookupTableTest, RemovePacksRenumbersTheRest) {
  LookupTable t;
  t.add_pack(name_of('a'), rows_for({1}));
  t.add_pack(name_of('b'), rows_for({2, 3}));
  t.add_pack(name_of('c'), rows_for({3, 4}));
  t.remove_packs({name_of('b')});
  EXPECT_EQ(t.packs(), (std::vector<std::string>{name_of('a'), name_of('c')}));
  EXPECT_TRUE(t.find(test::make_object(2, 4).info.id).empty());
  const auto three = t.find(test::make_object(3, 4).info.id);
  ASSERT_EQ(three.size(), 1u);
  EXPECT_EQ(t.packs()[three[0].pack], name_of('c'));
  EXPECT_TRUE(LookupTable::parse(t.serialize(), k_path).table.has_value());
}

}  // namespace
}  // namespace coral::storage
