// The .npz parser and its zip reader (src/core/formats/npz.cpp, zip.cpp) through the public
// file_layout API. Archives are built by a small writer below; real ones by make_fixtures.py.

#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"
#include "support/run_coral.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>

namespace coral::core {
namespace {

using nlohmann::json;

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>(v >> (8 * i));
}

void patch(std::string& out, std::uint64_t pos, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[pos + i] = static_cast<char>(v >> (8 * i));
}

// A version 1.0 .npy image with a 64-byte aligned header, as numpy writes it.
std::string make_npy(std::string_view descr, std::string_view shape, std::string_view data) {
  std::string header = "{'descr': '" + std::string(descr) +
                       "', 'fortran_order': False, 'shape': " + std::string(shape) + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  put(out, header.size(), 2);
  return out + header + std::string(data);
}

struct Member {
  std::string name;
  std::string data;
  std::uint16_t method = 0;
  bool zip64_local = false;    // sizes in a zip64 extra of the local header (numpy.savez does so)
  bool zip64_central = false;  // sizes and offset in a zip64 extra of the central directory
  std::string local_name = {}; // when set, the local header names this instead
  bool descriptor = false;     // flag bit 3: CRC and sizes in a signed descriptor after the data
};

struct Zip {
  std::string bytes;
  std::vector<std::uint64_t> local;    // local header offsets
  std::vector<std::uint64_t> central;  // central directory entry offsets
  std::uint64_t eocd = 0;
};

Zip make_zip(const std::vector<Member>& members, bool zip64_eocd = false, std::string_view comment = "") {
  Zip z;
  std::string& out = z.bytes;
  for (const auto& m : members) {
    z.local.push_back(out.size());
    const std::string& name = m.local_name.empty() ? m.name : m.local_name;
    put(out, 0x04034b50, 4);
    put(out, 20, 2);
    put(out, m.descriptor ? 8 : 0, 2);
    put(out, m.method, 2);
    put(out, 0, 4);  // time, date
    put(out, 0, 4);  // crc32: not checked by coral
    put(out, m.zip64_local ? 0xFFFFFFFF : m.data.size(), 4);
    put(out, m.zip64_local ? 0xFFFFFFFF : m.data.size(), 4);
    put(out, name.size(), 2);
    put(out, m.zip64_local ? 20 : 0, 2);
    out += name;
    if (m.zip64_local) {
      put(out, 1, 2);
      put(out, 16, 2);
      put(out, m.data.size(), 8);
      put(out, m.data.size(), 8);
    }
    out += m.data;
    if (m.descriptor) {
      put(out, 0x08074b50, 4);
      put(out, 0, 4);  // crc32
      put(out, m.data.size(), 4);
      put(out, m.data.size(), 4);
    }
  }
  const std::uint64_t cd_offset = out.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    const Member& m = members[i];
    z.central.push_back(out.size());
    const bool x = m.zip64_central;
    put(out, 0x02014b50, 4);
    put(out, 20, 2);
    put(out, 20, 2);
    put(out, m.descriptor ? 8 : 0, 2);
    put(out, m.method, 2);
    put(out, 0, 8);  // time, date, crc32
    put(out, x ? 0xFFFFFFFF : m.data.size(), 4);
    put(out, x ? 0xFFFFFFFF : m.data.size(), 4);
    put(out, m.name.size(), 2);
    put(out, x ? 28 : 0, 2);
    put(out, 0, 6);  // comment length, disk, internal attributes
    put(out, 0, 4);  // external attributes
    put(out, x ? 0xFFFFFFFF : z.local[i], 4);
    out += m.name;
    if (x) {
      put(out, 1, 2);
      put(out, 24, 2);
      put(out, m.data.size(), 8);
      put(out, m.data.size(), 8);
      put(out, z.local[i], 8);
    }
  }
  const std::uint64_t cd_size = out.size() - cd_offset;
  if (zip64_eocd) {
    const std::uint64_t record = out.size();
    put(out, 0x06064b50, 4);
    put(out, 44, 8);
    put(out, 45, 2);
    put(out, 45, 2);
    put(out, 0, 8);  // disk, cd disk
    put(out, members.size(), 8);
    put(out, members.size(), 8);
    put(out, cd_size, 8);
    put(out, cd_offset, 8);
    put(out, 0x07064b50, 4);
    put(out, 0, 4);
    put(out, record, 8);
    put(out, 1, 4);
  }
  z.eocd = out.size();
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, zip64_eocd ? 0xFFFF : members.size(), 2);
  put(out, zip64_eocd ? 0xFFFF : members.size(), 2);
  put(out, zip64_eocd ? 0xFFFFFFFF : cd_size, 4);
  put(out, zip64_eocd ? 0xFFFFFFFF : cd_offset, 4);
  put(out, comment.size(), 2);
  out += comment;
  return z;
}

FileLayout parse(const std::string& file) {
  return parse_layout(FileFormat::npz, "weights.npz", as_bytes(file));
}

void expect_invalid(const std::string& file, const std::string& fault) {
  test::expect_invalid_layout(FileFormat::npz, "weights.npz", file, fault);
}

const std::string k_w = make_npy("<f4", "(2, 3)", std::string(24, 'w'));
const std::string k_b = make_npy("|u1", "(5,)", "bbbbb");

std::vector<Member> sample_members(bool zip64_local, bool zip64_central) {
  return {{"w.npy", k_w, 0, zip64_local, zip64_central},
          {"notes.txt", "stored but not .npy", 0, false, zip64_central},
          {"d.npy", "deflated bytes, opaque", 8, zip64_local, zip64_central},
          {"layer/b.npy", k_b, 0, zip64_local, zip64_central}};
}

void expect_sample_layout(const Zip& z) {
  const FileLayout layout = parse(z.bytes);
  EXPECT_EQ(layout.format, FileFormat::npz);
  ASSERT_EQ(layout.tensors.size(), 2u);
  const TensorExtent& w = layout.tensors[0];
  const TensorExtent& b = layout.tensors[1];
  EXPECT_EQ(w.name, "w");
  EXPECT_EQ(w.dtype, DType::f32);
  EXPECT_EQ(w.shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(z.bytes.substr(w.offset, w.length), std::string(24, 'w'));
  EXPECT_EQ(b.name, "layer/b");
  EXPECT_EQ(b.dtype, DType::u8);
  EXPECT_EQ(z.bytes.substr(b.offset, b.length), "bbbbb");
  EXPECT_EQ(extract_skeleton(layout, as_bytes(z.bytes)).size(), z.bytes.size() - 29);
}

TEST(NpzTest, ParsesStoredNpyMembersAndLeavesOthersOpaque) {
  const Zip z = make_zip(sample_members(false, false));
  expect_sample_layout(z);
  EXPECT_EQ(parse(z.bytes).tensors[0].offset, z.local[0] + 30 + 5 + k_w.size() - 24);
}

TEST(NpzTest, DataStartsAfterTheLocalExtraField) {
  // numpy.savez writes a 20-byte zip64 extra into each local header but none in the directory.
  const Zip z = make_zip(sample_members(true, false));
  expect_sample_layout(z);
  EXPECT_EQ(parse(z.bytes).tensors[0].offset, z.local[0] + 30 + 5 + 20 + k_w.size() - 24);
}

TEST(NpzTest, ReadsZip64RecordsAndExtraFields) {
  expect_sample_layout(make_zip(sample_members(true, true), true));
  expect_sample_layout(make_zip(sample_members(false, true), false));
  expect_sample_layout(make_zip(sample_members(false, false), true));
}

TEST(NpzTest, FindsTheEndRecordBeforeAComment) {
  // The comment holds a fake end-record signature whose comment length does not fit.
  expect_sample_layout(make_zip(sample_members(false, false), false,
                                std::string("archive PK\x05\x06 comment", 23) + std::string(30, 'c')));
  expect_sample_layout(make_zip(sample_members(false, false), false, std::string(65535, 'c')));
}

TEST(NpzTest, AcceptsEmptyArchivesAndUnsupportedDtypes) {
  EXPECT_TRUE(parse(make_zip({}).bytes).tensors.empty());
  const Zip z = make_zip({{"c.npy", make_npy("<c8", "(2,)", std::string(16, 'c'))}});
  const FileLayout layout = parse(z.bytes);
  EXPECT_TRUE(layout.tensors.empty());
  EXPECT_EQ(extract_skeleton(layout, as_bytes(z.bytes)), z.bytes);
}

TEST(NpzTest, RejectsMissingEndRecord) {
  expect_invalid("", "not a zip archive (no end of central directory record)");
  expect_invalid("PK\x03\x04 just a local header", "not a zip archive");
  std::string cut = make_zip(sample_members(false, false)).bytes;
  cut.pop_back();
  expect_invalid(cut, "not a zip archive");
  // An end record more than 65535 + 22 bytes before the end is not found.
  expect_invalid(make_zip({}).bytes + std::string(65536, 'x'), "not a zip archive");
}

TEST(NpzTest, RejectsCentralDirectoryOutOfRange) {
  Zip z = make_zip(sample_members(false, false));
  std::string bad = z.bytes;
  patch(bad, z.eocd + 16, 0x7FFFFFFF, 4);
  expect_invalid(bad, "central directory (offset 2147483647, ");
  bad = z.bytes;
  patch(bad, z.eocd + 12, z.eocd - z.central[0] + 1, 4);
  expect_invalid(bad, "is out of range");
  bad = z.bytes;
  patch(bad, z.eocd + 8, 1000, 2);
  patch(bad, z.eocd + 10, 1000, 2);
  expect_invalid(bad, "cannot hold 1000 entries");
  bad = z.bytes;
  patch(bad, z.eocd + 4, 1, 2);
  expect_invalid(bad, "multi-disk zip archives are not supported");
  bad = z.bytes;
  patch(bad, z.central[1], 0x12345678, 4);
  expect_invalid(bad, "bad central directory entry at offset " + std::to_string(z.central[1]));
  bad = z.bytes;
  patch(bad, z.central[3] + 28, 200, 2);  // name length runs past the directory
  expect_invalid(bad, "runs past the directory");
}

TEST(NpzTest, RejectsBadZip64Records) {
  Zip z = make_zip(sample_members(false, true), true);
  std::string bad = z.bytes;
  patch(bad, z.eocd - 20 + 8, z.eocd, 8);  // locator points past itself
  expect_invalid(bad, "zip64 end of central directory record is missing or out of range");
  bad = z.bytes;
  patch(bad, z.central[0] + 30, 20, 2);  // zip64 extra claims 20 bytes, 28 follow: runs into name
  patch(bad, z.central[0] + 46 + 5 + 2, 12, 2);
  expect_invalid(bad, "weights.npz: member 'w.npy': zip64 extra field is too short");
  bad = z.bytes;
  patch(bad, z.central[0] + 46 + 5 + 2, 200, 2);
  expect_invalid(bad, "member 'w.npy': extra field runs past its entry");
}

TEST(NpzTest, RejectsBadLocalHeaders) {
  Zip z = make_zip(sample_members(false, false));
  std::string bad = z.bytes;
  patch(bad, z.central[0] + 42, z.central[0] - 10, 4);
  expect_invalid(bad, "member 'w.npy': no local file header at offset");
  bad = z.bytes;
  patch(bad, z.local[3], 0x04034b51, 4);
  expect_invalid(bad, "member 'layer/b.npy': no local file header at offset " + std::to_string(z.local[3]));
  bad = z.bytes;
  patch(bad, z.local[3] + 28, 0xFFFF, 2);
  expect_invalid(bad, "member 'layer/b.npy': local file header runs into the central directory");
  auto members = sample_members(false, false);
  members[0].local_name = "v.npy";
  expect_invalid(make_zip(members).bytes, "member 'w.npy': local file header names a different member");
}

TEST(NpzTest, RejectsMemberDataOutOfRangeOrOverlapping) {
  Zip z = make_zip(sample_members(false, false));
  std::string bad = z.bytes;
  patch(bad, z.central[3] + 20, 1000000, 4);
  expect_invalid(bad, "member 'layer/b.npy': data (1000000 bytes at offset");
  bad = z.bytes;
  patch(bad, z.central[0] + 20, k_w.size() + 1, 4);  // w's data now runs into notes.txt's header
  expect_invalid(bad, "members 'w.npy' and 'notes.txt' overlap");
  bad = z.bytes;
  patch(bad, z.central[2] + 42, z.local[0], 4);  // two entries share one local header
  patch(bad, z.central[2] + 46, 0x2e77, 2);      // and name: "w." + "npy"
  expect_invalid(bad, "overlap");
}

TEST(NpzTest, RejectsStoredNpyMembersThatFailValidation) {
  expect_invalid(make_zip({{"w.npy", "not an npy file"}}).bytes, "weights.npz: member 'w.npy': bad npy magic");
  expect_invalid(make_zip({{"w.npy", make_npy("<f4", "(3,)", "short")}}).bytes,
                 "weights.npz: member 'w.npy': size mismatch: data is 5 bytes, shape (3,) of '<f4' needs 12");
  Zip z = make_zip({{"w.npy", k_w}});
  patch(z.bytes, z.central[0] + 24, 7, 4);
  expect_invalid(z.bytes, "member 'w.npy': stored member's size " + std::to_string(k_w.size()) +
                            " differs from its uncompressed size 7");
  expect_invalid(make_zip({{"w.npy", k_w}, {"w.npy", k_w}}).bytes, "member 'w.npy': duplicate member");
  // Deflated or non-.npy members are never parsed, whatever they hold.
  EXPECT_TRUE(parse(make_zip({{"w.npy", "junk", 8}, {"w.npz", "junk"}}).bytes).tensors.empty());
}

TEST(NpzTest, DetectedByExtension) {
  const std::string z = make_zip(sample_members(false, false)).bytes;
  EXPECT_EQ(detect_format("run/weights.npz", as_bytes(z)), FileFormat::npz);
  EXPECT_EQ(parse_file_layout("weights.npz", as_bytes(z)).tensors.size(), 2u);
  EXPECT_EQ(parse_file_layout("weights.zip", as_bytes(z)).format, FileFormat::raw);
}

TEST(NpzTest, Crc32IsZips) {
  EXPECT_EQ(crc32(as_bytes(std::string("123456789"))), 0xCBF43926u);
  // A running value continues where the first piece stopped.
  EXPECT_EQ(crc32(as_bytes(std::string("6789")), crc32(as_bytes(std::string("12345")))), 0xCBF43926u);
}

// Each stored .npy member holding a tensor: its CRC-32's places in the skeleton (local header and
// central directory) and the member bytes it covers; other members have none.
TEST(NpzTest, ChecksumsOverTensorsAreFoundInTheSkeleton) {
  const Zip z = make_zip({{"w.npy", k_w}, {"notes.txt", "hello"}, {"b.npy", make_npy("<f8", "(2,)", std::string(16, 'b'))}});
  const FileLayout layout = parse(z.bytes);
  ASSERT_EQ(layout.tensors.size(), 2u);
  const std::string skeleton = extract_skeleton(layout, as_bytes(z.bytes));
  const auto checksums = layout_checksums(layout, as_bytes(skeleton), z.bytes.size());
  ASSERT_EQ(checksums.size(), 2u);
  auto in_skeleton = [&](std::uint64_t at) {
    std::uint64_t before = 0;
    for (const auto& t : layout.tensors)
      if (t.offset + t.length <= at) before += t.length;
    return at - before;
  };
  const std::uint64_t w_data = z.local[0] + 30 + 5;  // "w.npy", no extra field
  EXPECT_EQ(checksums[0].begin, w_data);
  EXPECT_EQ(checksums[0].end, w_data + k_w.size());
  EXPECT_EQ(checksums[0].skeleton_offsets, (std::vector<std::uint64_t>{in_skeleton(z.local[0] + 14), in_skeleton(z.central[0] + 16)}));
  EXPECT_EQ(checksums[1].skeleton_offsets, (std::vector<std::uint64_t>{in_skeleton(z.local[2] + 14), in_skeleton(z.central[2] + 16)}));
  // With a data descriptor, the descriptor and the central directory hold it; the local
  // header's stays 0, as the zip spec wants.
  Member described{"w.npy", k_w};
  described.descriptor = true;
  const Zip d = make_zip({described});
  const FileLayout dl = parse(d.bytes);
  const std::string ds = extract_skeleton(dl, as_bytes(d.bytes));
  const auto dc = layout_checksums(dl, as_bytes(ds), d.bytes.size());
  ASSERT_EQ(dc.size(), 1u);
  const std::uint64_t data_end = d.local[0] + 30 + 5 + k_w.size();
  const std::uint64_t tensor = dl.tensors[0].length;  // skeleton offsets after it are this much lower
  EXPECT_EQ(dc[0].skeleton_offsets, (std::vector<std::uint64_t>{d.central[0] + 16 - tensor, data_end + 4 - tensor}));
  // Other formats keep none.
  FileLayout st = layout;
  st.format = FileFormat::safetensors;
  EXPECT_TRUE(layout_checksums(st, as_bytes(skeleton), z.bytes.size()).empty());
}

// Files written by make_fixtures.py with numpy.savez and numpy.savez_compressed.
TEST(NpzTest, ParsesFilesFromRealTools) {
  test::TempDir dir;
  if (auto skip = test::make_real_tool_fixtures(dir.path())) GTEST_SKIP() << *skip;
  const auto c = test::check_real_tool_fixtures(dir.path(), "npz");
  EXPECT_EQ(c.files, 2);
}

}  // namespace
}  // namespace coral::core
