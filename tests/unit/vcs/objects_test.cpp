#include "coral/vcs/objects.hpp"

#include "coral/core/error.hpp"

#include <gtest/gtest.h>

using namespace coral;
using namespace coral::vcs;

namespace {
core::ObjectId id_of(const char* s) { return core::hash_bytes(std::string_view(s)); }

Tree sample_tree() {
  Tree t;
  FileEntry raw{"config.json", 0644, 12, core::FileFormat::raw, id_of("cfg"), {}};
  FileEntry st{"model.safetensors", 0755, 1000, core::FileFormat::safetensors, id_of("skel"), {}};
  st.tensors.push_back({"w", core::DType::bf16, {2, 3}, id_of("w"), 64, 12, false});
  st.tensors.push_back({"b", core::DType::f32, {3}, id_of("b"), 76, 12, true});
  t.files = {raw, st};
  return t;
}
}  // namespace

TEST(ObjectsTest, TreeRoundTripIsCanonical) {
  const Tree t = sample_tree();
  const std::string json = encode_tree(t);
  const auto id = core::hash_bytes(std::string_view(json));
  const Tree back = decode_tree(json, id);
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(back.files[0], t.files[0]);
  EXPECT_EQ(back.files[1], t.files[1]);
  EXPECT_EQ(encode_tree(back), json);  // same content, same bytes, same id
  EXPECT_NE(json.find("\"skeleton\""), std::string::npos);
  EXPECT_EQ(json.find(' '), std::string::npos);
}

TEST(ObjectsTest, CommitRoundTrip) {
  Commit c;
  c.tree = id_of("tree");
  c.parents = {id_of("p1"), id_of("p2")};
  c.author = "Ada";
  c.email = "ada@example.org";
  c.time = 1795000000;
  c.tz_offset = 60;
  c.message = "epoch 7\n\nbody";
  c.metrics = {{"val_loss", 2.61}, {"acc", 0.5}};
  c.merge = MergeInfo{"ties", {{"density", "0.2"}}};
  const std::string json = encode_commit(c);
  const Commit back = decode_commit(json, id_of("x"));
  EXPECT_EQ(back.tree, c.tree);
  EXPECT_EQ(back.parents, c.parents);
  EXPECT_EQ(back.message, c.message);
  EXPECT_EQ(back.metrics, c.metrics);
  ASSERT_TRUE(back.merge);
  EXPECT_EQ(back.merge->parameters.at("density"), "0.2");
  EXPECT_EQ(encode_commit(back), json);
}

TEST(ObjectsTest, RejectsWrongTypeAndGarbage) {
  EXPECT_THROW(decode_commit(encode_tree(sample_tree()), id_of("x")), CorruptError);
  EXPECT_THROW(decode_tree("{not json", id_of("x")), CorruptError);
  EXPECT_THROW(decode_tree(R"({"type":"tree","files":[{"path":"a"}]})", id_of("x")), CorruptError);
  EXPECT_THROW(decode_commit(R"({"type":"commit","tree":"zz"})", id_of("x")), CorruptError);
}

TEST(ObjectsTest, FormatTime) {
  EXPECT_EQ(format_time(0, 0), "1970-01-01T00:00:00+00:00");
  EXPECT_EQ(format_time(0, 90), "1970-01-01T01:30:00+01:30");
  EXPECT_EQ(format_time(3600, -60), "1970-01-01T00:00:00-01:00");
}
