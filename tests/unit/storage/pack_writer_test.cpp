// The pack file as other tools see it: h5py reads an object by hand (docs/format.md), h5dump
// reads the header, and the /data chunking wastes no space on small packs.

#include "storage/pack_writer.hpp"

#include "coral/core/fs.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "storage/pack_reader.hpp"
#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"
#include "unit/storage/store_test_util.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>

namespace coral::storage {
namespace {

namespace stdfs = std::filesystem;
using coral::test::run_program;
using coral::test::TempDir;
using test::make_object;
using test::TestObject;

std::string to_hex(const std::vector<std::byte>& data) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string s;
  for (std::byte b : data) {
    s.push_back(k_digits[static_cast<unsigned>(b) >> 4]);
    s.push_back(k_digits[static_cast<unsigned>(b) & 15]);
  }
  return s;
}

bool have_h5py(const stdfs::path& cwd) {
  return run_program({coral::test::python(), "-c", "import h5py"}, {.cwd = cwd}).exit_code == 0;
}

struct ChunkFacts {
  hsize_t chunk = 0;
  hsize_t extent = 0;
  hsize_t storage = 0;
};

// Reads /data's chunk size, extent and allocated bytes with the HDF5 C API.
ChunkFacts chunk_facts(const stdfs::path& pack) {
  ChunkFacts facts;
  const hid_t file = H5Fopen(pack.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t data = H5Dopen2(file, "data", H5P_DEFAULT);
  const hid_t dcpl = H5Dget_create_plist(data);
  const hid_t space = H5Dget_space(data);
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) H5Pget_chunk(dcpl, 1, &facts.chunk);
  H5Sget_simple_extent_dims(space, &facts.extent, nullptr);
  facts.storage = H5Dget_storage_size(data);
  H5Sclose(space);
  H5Pclose(dcpl);
  H5Dclose(data);
  H5Fclose(file);
  return facts;
}

class PackWriterTest : public ::testing::Test {
protected:
  TempDir dir;
  Layout layout{dir / ".coral"};
};

TEST_F(PackWriterTest, PackIsReadableByHandWithH5py) {
  if (!have_h5py(dir.path())) GTEST_SKIP() << coral::test::python() << " cannot import h5py";
  std::vector<TestObject> objs{make_object(1, 0), make_object(2, 1), make_object(3, 100), make_object(4, 70000)};
  Hdf5Store store(layout);
  test::put_all(store, objs);
  const std::string script = (coral::test::source_dir() / "tests/data/read_object_h5py.py").string();
  for (const auto& o : objs) {
    const stdfs::path pack = layout.pack(*store.find_pack_of(o.info.id));
    const auto r = run_program({coral::test::python(), script, pack.string(), o.info.id.hex()}, {.cwd = dir.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, to_hex(o.data) + "\n") << "object of " << o.data.size() << " bytes";
    EXPECT_NE(r.err.find("encoding=0 raw_size=" + std::to_string(o.data.size())), std::string::npos) << r.err;
  }
  const stdfs::path pack = layout.pack(store.list_packs().at(0));
  const auto absent = run_program({coral::test::python(), script, pack.string(), make_object(9, 9).info.id.hex()},
                                  {.cwd = dir.path()});
  EXPECT_EQ(absent.exit_code, 1) << absent.err;
}

TEST_F(PackWriterTest, H5dumpReadsThePackHeader) {
  if (run_program({"h5dump", "--version"}, {.cwd = dir.path()}).exit_code != 0)
    GTEST_SKIP() << "h5dump (Debian hdf5-tools) is not installed";
  Hdf5Store store(layout);
  test::put_all(store, {make_object(1, 10), make_object(2, 20)});
  const auto r = run_program({"h5dump", "-H", layout.pack(store.list_packs().at(0)).string()}, {.cwd = dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* needle : {"coral_pack_version", "DATASET \"data\"", "DATASET \"index\"", "\"offset\"",
                             "\"raw_size\"", "\"encoding\"", "\"base\"", "H5T_STD_U64LE", "H5T_ARRAY"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << " missing from:\n" << r.out;
}

TEST_F(PackWriterTest, RowsAreSortedAndDataIsBackToBack) {
  core::fs::create_directories_durable(layout.packs_dir());
  std::vector<TestObject> objs;
  for (std::uint64_t i = 0; i < 20; ++i) objs.push_back(make_object(i, 10 * i));
  PackWriter writer(layout.packs_dir());
  for (const auto& o : objs) writer.append(o.info, o.data);
  const std::string name = writer.finish();
  const std::vector<IndexRow> rows = writer.rows();
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.id < b.id; }));
  std::uint64_t expected_offset = 0;
  for (const auto& o : objs) {  // put order
    const auto row = std::find_if(rows.begin(), rows.end(), [&](auto& r) { return r.id == o.info.id; });
    ASSERT_NE(row, rows.end());
    EXPECT_EQ(row->offset, expected_offset);
    EXPECT_EQ(row->length, o.data.size());
    expected_offset += o.data.size();
  }
  EXPECT_EQ(name, pack_name_for(serialize_rows(rows)));
  EXPECT_TRUE(stdfs::exists(writer.temp_path()));
  EXPECT_FALSE(stdfs::exists(layout.pack(name))) << "finish() must not publish";
}

TEST_F(PackWriterTest, SmallPackChunksLeaveNoSlack) {
  Hdf5Store store(layout);
  std::vector<TestObject> objs;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < 300; ++i) {
    objs.push_back(make_object(i, 3000 + i));  // ~0.9 MiB in all
    total += objs.back().data.size();
  }
  objs.push_back(make_object(1000, 400000));  // pushes the pack past one chunk
  total += objs.back().data.size();
  test::put_all(store, objs);
  const ChunkFacts facts = chunk_facts(layout.pack(store.list_packs().at(0)));
  EXPECT_EQ(facts.extent, total);
  EXPECT_LE(facts.chunk, k_pack_chunk_bytes);
  const std::uint64_t chunks = (total + facts.chunk - 1) / facts.chunk;
  EXPECT_GT(chunks, 1u);
  // Less than one byte of slack per chunk.
  EXPECT_LT(facts.storage - total, chunks) << "chunk " << facts.chunk << " allocated " << facts.storage;
}

TEST_F(PackWriterTest, PackOfOnlyEmptyObjectsHasEmptyData) {
  Hdf5Store store(layout);
  const TestObject empty = make_object(1, 0);
  test::put_all(store, {empty});
  const stdfs::path pack = layout.pack(store.list_packs().at(0));
  EXPECT_EQ(chunk_facts(pack).extent, 0u);
  const Hdf5Store reopened(layout);
  const ObjectRecord record = reopened.get(empty.info.id);
  EXPECT_TRUE(record.data.empty());
  EXPECT_EQ(record.info, empty.info);
}

TEST_F(PackWriterTest, LargePackStreamsInFixedChunksWithLittleSlack) {
  std::vector<TestObject> objs;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < 3; ++i) objs.push_back(make_object(i, (7u << 20) + 12345 * i));
  for (std::uint64_t i = 10; i < 500; ++i) objs.push_back(make_object(i, 1 + i % 5000));
  objs.push_back(make_object(3, (3u << 20) + 1));
  for (const auto& o : objs) total += o.data.size();
  ASSERT_GT(total, 16u << 20);
  Hdf5Store store(layout);
  test::put_all(store, objs);
  ASSERT_EQ(store.list_packs().size(), 1u);
  const stdfs::path pack = layout.pack(store.list_packs().at(0));
  const ChunkFacts facts = chunk_facts(pack);
  EXPECT_EQ(facts.chunk, k_pack_chunk_bytes);
  EXPECT_EQ(facts.extent, total);
  EXPECT_LT(facts.storage - total, k_pack_chunk_bytes);
  const Hdf5Store reopened(layout);
  for (const auto& o : objs) ASSERT_TRUE(reopened.get(o.info.id).data == o.data) << o.data.size();
}

}  // namespace
}  // namespace coral::storage
