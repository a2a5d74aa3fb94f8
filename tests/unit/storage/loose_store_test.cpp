// LooseStore beyond the conformance suite: the file grammar and damage detection.

#include "coral/storage/loose_store.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "support/temp_dir.hpp"
#include "unit/storage/store_test_util.hpp"

#include <gtest/gtest.h>

namespace coral::storage {
namespace {

using coral::test::read_file;
using coral::test::TempDir;
using coral::test::write_file;

class LooseStoreTest : public ::testing::Test {
protected:
  TempDir dir;
  Layout layout{dir / ".coral"};
  LooseStore store{layout};
};

TEST_F(LooseStoreTest, WritesTheDocumentedFileLayout) {
  const auto base = test::make_object(1, 8).info.id;
  const auto o = test::make_delta_object(2, 5, base);  // encoding 7, raw size 16
  test::put_all(store, {o});
  const std::string hex = o.info.id.hex();
  const auto path = layout.coral_dir() / "objects" / hex.substr(0, 2) / hex.substr(2);
  ASSERT_TRUE(std::filesystem::exists(path));
  std::string expected = "CRLOOSE1";
  expected.push_back('\x07');
  expected.append(reinterpret_cast<const char*>(base.bytes.data()), 16);
  expected.append(std::string("\x10\0\0\0\0\0\0\0", 8));
  expected.append(reinterpret_cast<const char*>(o.data.data()), o.data.size());
  EXPECT_EQ(read_file(path), expected);
}

TEST_F(LooseStoreTest, BadMagicIsCorruptAndNamesTheObjectAndFile) {
  const auto o = test::make_object(1, 50);
  test::put_all(store, {o});
  const auto path = layout.loose_object(o.info.id);
  std::string bytes = read_file(path);
  bytes[3] = 'X';
  write_file(path, bytes);
  try {
    store.get(o.info.id);
    FAIL() << "bad magic accepted";
  } catch (const CorruptError& e) {
    EXPECT_NE(std::string(e.what()).find(o.info.id.hex()), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find(path.string()), std::string::npos) << e.detail();
  }
  EXPECT_THROW(store.find_info(o.info.id), CorruptError);
  EXPECT_TRUE(store.has(o.info.id)) << "has() checks existence only";
}

TEST_F(LooseStoreTest, ShortFileIsCorrupt) {
  const auto o = test::make_object(1, 50);
  test::put_all(store, {o});
  write_file(layout.loose_object(o.info.id), "CRLOOSE1\x00");
  EXPECT_THROW(store.get(o.info.id), CorruptError);
  EXPECT_THROW(store.list(), CorruptError);
}

TEST_F(LooseStoreTest, ListIgnoresTempFilesAndStrayNames) {
  const auto o = test::make_object(1, 50);
  test::put_all(store, {o});
  const auto path = layout.loose_object(o.info.id);
  write_file(core::fs::make_temp_path(path), "half-written");
  write_file(path.parent_path() / "README", "x");
  write_file(layout.objects_dir() / "info" / "packs", "x");
  const auto listed = store.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], o.info);
}

TEST_F(LooseStoreTest, CommitLeavesNoTempFiles) {
  std::vector<test::TestObject> objs;
  for (std::uint64_t i = 0; i < 20; ++i) objs.push_back(test::make_object(i, 10 + i));
  test::put_all(store, objs);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(layout.objects_dir())) {
    if (!e.is_regular_file()) continue;
    ++files;
    EXPECT_FALSE(core::fs::is_temp_name(e.path().filename().string())) << e.path();
  }
  EXPECT_EQ(files, objs.size());
}

}  // namespace
}  // namespace coral::storage
