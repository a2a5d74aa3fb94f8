#include "coral/core/object_id.hpp"

#include <gtest/gtest.h>

using coral::core::ObjectId;

TEST(ObjectIdTest, HexRoundTrip) {
  const ObjectId id = coral::core::hash_bytes(std::string_view("hello"));
  const auto back = ObjectId::from_hex(id.hex());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, id);
  EXPECT_EQ(id.hex().size(), 32u);
}

TEST(ObjectIdTest, KnownXxh3Value) {
  // XXH3-128 of the empty input (xxHash reference value 99aa06d3014798d86001c324468d497f).
  EXPECT_EQ(coral::core::hash_bytes(std::string_view("")).hex(), "99aa06d3014798d86001c324468d497f");
}

TEST(ObjectIdTest, RejectsBadHex) {
  EXPECT_FALSE(ObjectId::from_hex("xyz").has_value());
  EXPECT_FALSE(ObjectId::from_hex(std::string(32, 'g')).has_value());
  EXPECT_FALSE(ObjectId::from_hex(std::string(32, 'A')).has_value());
}

TEST(ObjectIdTest, StreamingMatchesOneShot) {
  std::string data(100000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 % 251);
  coral::core::Hasher h;
  const auto* p = reinterpret_cast<const std::byte*>(data.data());
  h.update({p, 1000});
  h.update({p + 1000, data.size() - 1000});
  EXPECT_EQ(h.digest(), coral::core::hash_bytes(std::string_view(data)));
}
