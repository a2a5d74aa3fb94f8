#include "delta/value_dict.hpp"

#include "coral/core/error.hpp"
#include "unit/delta/chunk_data.hpp"

#include <gtest/gtest.h>

using namespace coral;
using namespace coral::delta;
using namespace coral::delta::testing;

namespace {

TEST(ValueDictTest, FindsSortedValuesAndCounts) {
  for (unsigned w : {2u, 4u, 8u}) {
    const std::size_t n = 10000;
    const auto raw = few_values(n, w, 256, w);
    const auto dict = find_dictionary(raw.data(), n, w);
    ASSERT_TRUE(dict.has_value());
    ASSERT_EQ(dict->values.size(), 256u);
    EXPECT_TRUE(std::is_sorted(dict->values.begin(), dict->values.end()));
    EXPECT_EQ(total_count(dict->index_counts), n);
    Bytes indexes(n), back(n * w);
    map_to_indexes(raw.data(), n, w, *dict, indexes.data());
    expand_indexes(indexes.data(), n, w, dict->values, back.data());
    EXPECT_EQ(back, raw);
  }
}

TEST(ValueDictTest, BailsOutAt257Values) {
  const auto raw = few_values(5000, 4, 257, 1);
  EXPECT_FALSE(find_dictionary(raw.data(), 5000, 4).has_value());
  const auto late = few_values(5000, 4, 256, 2);
  Bytes with_one_more = late;
  with_one_more[4999 * 4] ^= std::byte{0x80};  // a value not among the first 256 (almost surely)
  with_one_more[4999 * 4 + 3] ^= std::byte{0x7f};
  EXPECT_FALSE(find_dictionary(with_one_more.data(), 5000, 4).has_value());
}

TEST(ValueDictTest, ExpandRejectsIndexesOutOfRange) {
  const std::vector<std::uint64_t> values = {1, 2, 3};
  const Bytes indexes = {std::byte{0}, std::byte{2}, std::byte{3}};
  Bytes out(3 * 4);
  EXPECT_THROW(expand_indexes(indexes.data(), 3, 4, values, out.data()), CorruptError);
}

}  // namespace
