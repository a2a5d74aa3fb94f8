// Hdf5Store beyond the conformance suite: packs, the lookup table, lazy opening, recovery from
// a writer killed between pack and table, damage detection and the per-object overhead.

#include "coral/storage/hdf5_store.hpp"

#include "coral/core/error.hpp"
#include "coral/core/file_lock.hpp"
#include "coral/core/fs.hpp"
#include "storage/lookup_table.hpp"
#include "storage/pack_format.hpp"
#include "storage/pack_reader.hpp"
#include "support/temp_dir.hpp"
#include "unit/storage/store_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace coral::storage {
namespace {

namespace stdfs = std::filesystem;
using coral::test::read_file;
using coral::test::TempDir;
using coral::test::write_file;
using test::make_object;
using test::put_all;
using test::TestObject;

class Hdf5StoreTest : public ::testing::Test {
protected:
  TempDir dir;  // before layout: members initialise in declaration order
  Layout layout{dir / ".coral"};

  std::vector<TestObject> objects(std::uint64_t first, std::size_t count, std::size_t size = 100) {
    std::vector<TestObject> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(make_object(first + i, size + i));
    return out;
  }

  void expect_readable(const ObjectStore& store, const std::vector<TestObject>& objs) {
    for (const auto& o : objs) {
      ASSERT_TRUE(store.has(o.info.id)) << o.info.id.hex();
      EXPECT_TRUE(store.get(o.info.id).data == o.data) << o.info.id.hex();
    }
  }

  LookupTable read_lookup() {
    ParsedLookup parsed = LookupTable::parse(read_file(layout.lookup()), layout.lookup());
    EXPECT_TRUE(parsed.table.has_value()) << parsed.problem;
    return parsed.table ? *parsed.table : LookupTable{};
  }

  std::vector<std::string> files_in_packs_dir() {
    std::vector<std::string> names;
    if (!stdfs::exists(layout.packs_dir())) return names;
    for (const auto& e : stdfs::directory_iterator(layout.packs_dir())) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(Hdf5StoreTest, SeveralBatchesMakeSeveralPacks) {
  Hdf5Store store(layout);
  const auto a = objects(0, 5), b = objects(100, 7), c = objects(200, 1);
  put_all(store, a);
  put_all(store, b);
  put_all(store, c);
  const std::vector<std::string> packs = store.list_packs();
  ASSERT_EQ(packs.size(), 3u);
  for (const auto& name : packs) EXPECT_TRUE(stdfs::exists(layout.pack(name))) << name;
  const LookupTable table = read_lookup();
  EXPECT_EQ(table.packs().size(), 3u);
  EXPECT_EQ(table.entries().size(), 13u);
  for (const auto* batch : {&a, &b, &c}) {
    const auto pack = store.find_pack_of(batch->front().info.id);
    ASSERT_TRUE(pack.has_value());
    for (const auto& o : *batch) EXPECT_EQ(store.find_pack_of(o.info.id), pack);
  }
  EXPECT_NE(store.find_pack_of(a[0].info.id), store.find_pack_of(b[0].info.id));
  EXPECT_FALSE(store.find_pack_of(make_object(999, 3).info.id).has_value());
}

TEST_F(Hdf5StoreTest, BatchWithNothingNewPublishesNothing) {
  Hdf5Store store(layout);
  store.begin_write()->commit();
  EXPECT_TRUE(files_in_packs_dir().empty());
  const auto a = objects(0, 3);
  put_all(store, a);
  put_all(store, a);  // every id already stored
  EXPECT_EQ(store.list_packs().size(), 1u);
  EXPECT_EQ(files_in_packs_dir().size(), 2u);  // one pack + lookup
}

TEST_F(Hdf5StoreTest, PackPublishedWithoutLookupUpdateIsReadable) {
  const auto a = objects(0, 4), b = objects(100, 6), c = objects(200, 2);
  {
    Hdf5Store store(layout);
    put_all(store, a);
    const std::string lookup_after_a = read_file(layout.lookup());
    put_all(store, b);
    // A writer killed after publishing b's pack but before rewriting the table.
    write_file(layout.lookup(), lookup_after_a);
  }
  const std::uint64_t opened_before = pack_files_opened();
  Hdf5Store store(layout);
  EXPECT_EQ(pack_files_opened() - opened_before, 1u) << "only the unlisted pack is opened";
  expect_readable(store, a);
  expect_readable(store, b);
  EXPECT_EQ(store.list().size(), 10u);
  EXPECT_EQ(read_lookup().packs().size(), 1u);  // readers do not write
  put_all(store, c);                            // the next writer repairs the table
  EXPECT_EQ(read_lookup().packs().size(), 3u);
  EXPECT_EQ(read_lookup().entries().size(), 12u);
}

TEST_F(Hdf5StoreTest, MissingLookupIsRebuiltFromPacks) {
  const auto a = objects(0, 4), b = objects(100, 6);
  {
    Hdf5Store store(layout);
    put_all(store, a);
    put_all(store, b);
  }
  stdfs::remove(layout.lookup());
  Hdf5Store store(layout);
  expect_readable(store, a);
  expect_readable(store, b);
  EXPECT_EQ(store.list_packs().size(), 2u);
}

TEST_F(Hdf5StoreTest, OpeningOpensNoPack) {
  std::vector<TestObject> all;
  {
    Hdf5Store store(layout);
    for (std::uint64_t i = 0; i < 200; ++i) {
      all.push_back(make_object(i, 16 + i));
      put_all(store, {all.back()});
    }
  }
  ASSERT_EQ(files_in_packs_dir().size(), 201u);
  const std::uint64_t before = pack_files_opened();
  const auto t0 = std::chrono::steady_clock::now();
  Hdf5Store store(layout);
  const double open_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(pack_files_opened(), before) << "opening the store opened packs";
  EXPECT_EQ(store.list_packs().size(), 200u);
  for (const auto& o : all) EXPECT_TRUE(store.has(o.info.id));
  EXPECT_EQ(pack_files_opened(), before) << "has() opened packs";
  expect_readable(store, {all[17]});
  expect_readable(store, {all[17]});
  EXPECT_EQ(pack_files_opened(), before + 1) << "get() should open exactly the one pack, once";
  std::printf("[ info ] opening a store of 200 packs took %.2f ms and opened 0 packs\n", open_ms);
}

TEST_F(Hdf5StoreTest, MaxPackBytesSplitsPacks) {
  Hdf5Store store(layout, {.max_pack_bytes = 10000});
  std::vector<TestObject> objs;
  for (std::uint64_t i = 0; i < 10; ++i) objs.push_back(make_object(i, 3000));
  objs.push_back(make_object(50, 25000));  // bigger than the bound: a pack of its own
  put_all(store, objs);
  const auto packs = store.list_packs();
  EXPECT_EQ(packs.size(), 5u);  // 3+3+3+1 objects of 3000 bytes, then the big one
  for (const auto& name : packs) {
    const PackReader reader(layout.pack(name), name);
    EXPECT_TRUE(reader.data_size() <= 10000 || reader.rows().size() == 1) << name;
  }
  expect_readable(store, objs);
  expect_readable(Hdf5Store(layout), objs);
}

TEST_F(Hdf5StoreTest, DamagedLookupIsRebuiltInMemory) {
  const auto a = objects(0, 4), b = objects(100, 6);
  {
    Hdf5Store store(layout);
    put_all(store, a);
    put_all(store, b);
  }
  std::string bytes = read_file(layout.lookup());
  bytes[bytes.size() - 30] ^= 0x40;  // inside the entries: only the checksum notices
  write_file(layout.lookup(), bytes);
  ASSERT_FALSE(LookupTable::parse(bytes, layout.lookup()).table.has_value());
  {
    Hdf5Store store(layout);  // logs a warning and rebuilds from the packs
    expect_readable(store, a);
    expect_readable(store, b);
    EXPECT_EQ(read_file(layout.lookup()), bytes) << "a reader must not rewrite the table";
    store.rebuild_lookup();
  }
  EXPECT_EQ(read_lookup().entries().size(), 10u);
  write_file(layout.lookup(), bytes.substr(0, 30));  // truncated
  expect_readable(Hdf5Store(layout), b);
}

TEST_F(Hdf5StoreTest, NewerLookupVersionIsRefused) {
  {
    Hdf5Store store(layout);
    put_all(store, objects(0, 2));
  }
  std::string bytes = read_file(layout.lookup());
  bytes[8] = 2;  // version field
  write_file(layout.lookup(), bytes);
  try {
    Hdf5Store store(layout);
    FAIL() << "a version-2 lookup table was accepted";
  } catch (const CorruptError& e) {
    EXPECT_NE(std::string(e.what()).find("version 2"), std::string::npos) << e.what();
  }
}

// Finds the /index row of `id` in the raw pack file: 16 id bytes followed by the offset.
std::size_t find_row(const std::string& file, const TestObject& o) {
  const std::string id(reinterpret_cast<const char*>(o.info.id.bytes.data()), 16);
  for (std::size_t at = file.find(id); at != std::string::npos; at = file.find(id, at + 1)) {
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i)
      length = (length << 8) | static_cast<unsigned char>(file[at + 24 + static_cast<std::size_t>(i)]);
    if (at + k_index_row_size <= file.size() && length == o.data.size()) return at;
  }
  return std::string::npos;
}

TEST_F(Hdf5StoreTest, FlippedIndexByteIsCorrupt) {
  const auto objs = objects(0, 8, 1000);
  {
    Hdf5Store store(layout);
    put_all(store, objs);
  }
  const std::string pack = Hdf5Store(layout).list_packs().at(0);
  std::string bytes = read_file(layout.pack(pack));
  const std::size_t row = find_row(bytes, objs[3]);
  ASSERT_NE(row, std::string::npos);
  bytes[row + 16] ^= 0x01;  // lowest byte of the offset
  write_file(layout.pack(pack), bytes);
  Hdf5Store store(layout);
  EXPECT_TRUE(store.has(objs[3].info.id));
  try {
    store.get(objs[3].info.id);
    FAIL() << "a damaged index was read";
  } catch (const CorruptError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(pack), std::string::npos) << what;
    EXPECT_NE(what.find(objs[3].info.id.hex()), std::string::npos) << what;
  }
}

TEST_F(Hdf5StoreTest, UnreadablePackIsCorruptWithTheHdf5Stack) {
  const auto objs = objects(0, 3);
  {
    Hdf5Store store(layout);
    put_all(store, objs);
  }
  const std::string pack = Hdf5Store(layout).list_packs().at(0);
  const std::string bytes = read_file(layout.pack(pack));
  write_file(layout.pack(pack), bytes.substr(0, bytes.size() / 2));  // truncated
  Hdf5Store store(layout);
  ::testing::internal::CaptureStderr();
  try {
    store.get(objs[0].info.id);
    ADD_FAILURE() << "a truncated pack was read";
  } catch (const CorruptError& e) {
    EXPECT_NE(std::string(e.what()).find(pack), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(objs[0].info.id.hex()), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find("HDF5 error stack"), std::string::npos) << e.detail();
    EXPECT_NE(e.detail().find("H5F"), std::string::npos) << e.detail();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "HDF5 must not print its own errors";
}

TEST_F(Hdf5StoreTest, RowOutsideTheDataIsCorrupt) {
  const auto objs = objects(0, 8, 1000);
  {
    Hdf5Store store(layout);
    put_all(store, objs);
  }
  // Move the offset of one row past the end of /data, then rename the pack after its new index
  // so that only the range check can catch it.
  const std::string pack = Hdf5Store(layout).list_packs().at(0);
  std::string bytes = read_file(layout.pack(pack));
  const auto smallest =
      std::min_element(objs.begin(), objs.end(), [](auto& x, auto& y) { return x.info.id < y.info.id; });
  const std::size_t first_row = find_row(bytes, *smallest);
  const std::size_t row = find_row(bytes, objs[5]);
  ASSERT_NE(first_row, std::string::npos);
  ASSERT_NE(row, std::string::npos);
  bytes[row + 16 + 3] ^= 0x10;  // offset += 256 MiB
  const auto* index = reinterpret_cast<const std::byte*>(bytes.data()) + first_row;
  const std::string renamed = pack_name_for({index, objs.size() * k_index_row_size});
  ASSERT_NE(renamed, pack);
  stdfs::remove(layout.pack(pack));
  write_file(layout.pack(renamed), bytes);
  Hdf5Store store(layout);
  store.rebuild_lookup();
  expect_readable(store, {objs[4]});
  try {
    store.get(objs[5].info.id);
    FAIL() << "a row outside /data was read";
  } catch (const CorruptError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("outside the pack data"), std::string::npos) << what;
    EXPECT_NE(what.find(renamed), std::string::npos) << what;
    EXPECT_NE(what.find(objs[5].info.id.hex()), std::string::npos) << what;
  }
}

TEST_F(Hdf5StoreTest, AbandonedBatchRemovesItsTempFiles) {
  Hdf5Store store(layout, {.max_pack_bytes = 4000});
  {
    auto batch = store.begin_write();
    for (const auto& o : objects(0, 5, 1500)) batch->put(o.info, o.data);
    const auto names = files_in_packs_dir();
    ASSERT_GE(names.size(), 2u) << "expected several temp packs";
    for (const auto& n : names) EXPECT_TRUE(core::fs::is_temp_name(n)) << n;
  }
  EXPECT_TRUE(files_in_packs_dir().empty());
  EXPECT_TRUE(store.list().empty());
}

TEST_F(Hdf5StoreTest, RemoveRewritesOnlyAffectedPacks) {
  Hdf5Store store(layout);
  const auto a = objects(0, 5), b = objects(100, 5);
  put_all(store, a);
  const std::string pack_a = *store.find_pack_of(a[0].info.id);
  put_all(store, b);
  const std::string pack_b = *store.find_pack_of(b[0].info.id);
  const std::vector<core::ObjectId> doomed{a[2].info.id};
  store.remove(doomed);
  EXPECT_FALSE(stdfs::exists(layout.pack(pack_a)));
  EXPECT_TRUE(stdfs::exists(layout.pack(pack_b)));
  EXPECT_EQ(store.list_packs().size(), 2u);
  EXPECT_EQ(read_lookup().entries().size(), 9u);
  std::vector<core::ObjectId> all_b;
  for (const auto& o : b) all_b.push_back(o.info.id);
  store.remove(all_b);
  EXPECT_FALSE(stdfs::exists(layout.pack(pack_b)));
  EXPECT_EQ(store.list_packs().size(), 1u);
  Hdf5Store reopened(layout);
  EXPECT_EQ(reopened.list().size(), 4u);
  expect_readable(reopened, {a[0], a[1], a[3], a[4]});
}

TEST_F(Hdf5StoreTest, DuplicatesAcrossPacksAreHarmless) {
  // The state a remove() killed after publishing its new pack leaves behind: old pack, new pack
  // with the survivors, old lookup table.
  const auto a = objects(0, 6);
  std::string old_lookup, old_pack_bytes, old_pack;
  {
    Hdf5Store store(layout);
    put_all(store, a);
    old_pack = store.list_packs().at(0);
    old_lookup = read_file(layout.lookup());
    old_pack_bytes = read_file(layout.pack(old_pack));
    const std::vector<core::ObjectId> doomed{a[0].info.id};
    store.remove(doomed);
  }
  write_file(layout.pack(old_pack), old_pack_bytes);
  write_file(layout.lookup(), old_lookup);
  Hdf5Store store(layout);
  EXPECT_EQ(store.list_packs().size(), 2u);
  expect_readable(store, a);
  EXPECT_EQ(store.list().size(), 6u) << "list() reports each object once";
  const std::vector<core::ObjectId> doomed{a[1].info.id};
  store.remove(doomed);  // must rewrite both packs holding a[1]
  EXPECT_FALSE(store.has(a[1].info.id));
  Hdf5Store reopened(layout);
  EXPECT_FALSE(reopened.has(a[1].info.id));
  EXPECT_EQ(reopened.list().size(), 5u);
}

TEST_F(Hdf5StoreTest, StoreSeesPacksRewrittenByAnotherInstance) {
  const auto a = objects(0, 6);
  {
    Hdf5Store writer(layout);
    put_all(writer, a);
  }
  Hdf5Store first(layout);  // lists the pack, has not opened it
  Hdf5Store second(layout);
  const std::vector<core::ObjectId> doomed{a[1].info.id};
  second.remove(doomed);
  // `first` still lists the deleted pack; reading a survivor must find the new one.
  std::vector<TestObject> survivors(a.begin() + 2, a.end());
  Hdf5Store third(layout);
  expect_readable(third, survivors);
  for (const auto& o : survivors) EXPECT_TRUE(first.get(o.info.id).data == o.data);
  EXPECT_THROW(first.get(a[1].info.id), NotFoundError);
}

TEST_F(Hdf5StoreTest, LockedLookupLeavesPublishedPackReadable) {
  Hdf5Store store(layout, {.lock_wait_seconds = 0.05});
  core::fs::create_directories_durable(layout.locks_dir());
  const auto held = core::FileLock::acquire(layout.lock("lookup"), core::LockMode::exclusive, 0, "lookup", "test");
  const auto a = objects(0, 3);
  EXPECT_THROW(put_all(store, a), LockedError);
  // The pack was published before the table update timed out: the next open finds it.
  expect_readable(Hdf5Store(layout), a);
}

TEST_F(Hdf5StoreTest, PerObjectOverheadIsUnder100Bytes) {
  constexpr std::size_t k_count = 10000;
  std::vector<TestObject> objs;
  std::uint64_t stored = 0;
  for (std::size_t i = 0; i < k_count; ++i) {
    objs.push_back(make_object(i, 4 + (i * 7919) % 61));  // 4 to 64 bytes
    stored += objs.back().data.size();
  }
  Hdf5Store store(layout);
  put_all(store, objs);
  std::uint64_t on_disk = 0;
  for (const auto& e : stdfs::directory_iterator(layout.packs_dir())) on_disk += e.file_size();
  const double per_object = static_cast<double>(on_disk - stored) / k_count;
  std::printf("[ info ] %zu objects, %llu stored bytes, %llu bytes in packs dir: %.1f bytes overhead per object\n",
              k_count, static_cast<unsigned long long>(stored), static_cast<unsigned long long>(on_disk), per_object);
  EXPECT_LT(per_object, 100.0);
  expect_readable(Hdf5Store(layout), {objs[0], objs[4321], objs[k_count - 1]});
}

}  // namespace
}  // namespace coral::storage
