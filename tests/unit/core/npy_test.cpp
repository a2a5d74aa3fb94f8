// The .npy parser (src/core/formats/npy.cpp) through the public file_layout API.

#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"
#include "support/run_coral.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

namespace coral::core {
namespace {

using nlohmann::json;

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// An .npy image as numpy writes it: the header padded with spaces and a '\n' so that the data
// starts at a multiple of 64.
std::string make_npy(std::string_view dict, std::string_view data, int major = 1) {
  const std::size_t preamble = major == 1 ? 10 : 12;
  std::string header(dict);
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < preamble - 8; ++i) out += static_cast<char>(header.size() >> (8 * i));
  return out + header + std::string(data);
}

std::string dict(std::string_view descr, std::string_view shape, bool fortran = false) {
  return "{'descr': '" + std::string(descr) + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + std::string(shape) + ", }";
}

FileLayout parse(const std::string& file) {
  return parse_layout(FileFormat::npy, "weights.npy", as_bytes(file));
}

void expect_invalid(const std::string& file, const std::string& fault) {
  test::expect_invalid_layout(FileFormat::npy, "weights.npy", file, fault);
}

TEST(NpyTest, ParsesLittleEndianArray) {
  const std::string data(48, '\x07');
  const std::string file = make_npy(dict("<f4", "(3, 4)"), data);
  const FileLayout layout = parse(file);
  EXPECT_EQ(layout.format, FileFormat::npy);
  ASSERT_EQ(layout.tensors.size(), 1u);
  EXPECT_EQ(layout.tensors[0], (TensorExtent{"array", DType::f32, {3, 4}, 128, 48, false}));
  EXPECT_EQ(extract_skeleton(layout, as_bytes(file)), file.substr(0, 128));
}

TEST(NpyTest, MapsEveryDescr) {
  struct Case {
    const char* descr;
    DType dtype;
    bool big_endian;
  };
  const Case cases[] = {
    {"<f8", DType::f64, false}, {"<f4", DType::f32, false}, {"<f2", DType::f16, false},
    {"<i8", DType::i64, false}, {"<i4", DType::i32, false}, {"<i2", DType::i16, false},
    {"|i1", DType::i8, false},  {"<u8", DType::u64, false}, {"<u4", DType::u32, false},
    {"<u2", DType::u16, false}, {"|u1", DType::u8, false},  {"|b1", DType::boolean, false},
    {">f8", DType::f64, true},  {">f4", DType::f32, true},  {">f2", DType::f16, true},
    {">i8", DType::i64, true},  {">i4", DType::i32, true},  {">i2", DType::i16, true},
    {">u8", DType::u64, true},  {">u4", DType::u32, true},  {">u2", DType::u16, true},
    {"=u1", DType::u8, false},  {"<i1", DType::i8, false},  {">b1", DType::boolean, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.descr);
    const std::string file = make_npy(dict(c.descr, "(5,)"), std::string(5 * dtype_size(c.dtype), 'x'));
    const FileLayout layout = parse(file);
    ASSERT_EQ(layout.tensors.size(), 1u);
    EXPECT_EQ(layout.tensors[0].dtype, c.dtype);
    EXPECT_EQ(layout.tensors[0].big_endian, c.big_endian);
    EXPECT_EQ(layout.tensors[0].shape, std::vector<std::uint64_t>{5});
  }
}

TEST(NpyTest, ParsesVersions2And3) {
  for (int major : {2, 3}) {
    const std::string file = make_npy(dict("<i2", "(2, 2)", true), "abcdefgh", major);
    const FileLayout layout = parse(file);
    ASSERT_EQ(layout.tensors.size(), 1u);
    EXPECT_EQ(layout.tensors[0].offset, 128u);
    EXPECT_EQ(layout.tensors[0].length, 8u);
    EXPECT_EQ(file.substr(128), "abcdefgh");
  }
}

TEST(NpyTest, ScalarAndEmptyArrays) {
  FileLayout layout = parse(make_npy(dict("<f8", "()"), "12345678"));
  ASSERT_EQ(layout.tensors.size(), 1u);
  EXPECT_TRUE(layout.tensors[0].shape.empty());
  EXPECT_EQ(layout.tensors[0].length, 8u);
  layout = parse(make_npy(dict("<f4", "(0, 3)"), ""));
  ASSERT_EQ(layout.tensors.size(), 1u);
  EXPECT_EQ(layout.tensors[0].length, 0u);
  EXPECT_EQ(layout.tensors[0].shape, (std::vector<std::uint64_t>{0, 3}));
  // A zero dimension makes the array empty however large the others are.
  layout = parse(make_npy(dict("<f8", "(0, 4294967296, 4294967296)"), ""));
  EXPECT_EQ(layout.tensors.at(0).length, 0u);
}

TEST(NpyTest, AcceptsPythonLiteralVariants) {
  const char* dicts[] = {
    R"({"descr": "<u2", "fortran_order": False, "shape": (3,)})",
    "{'shape': (3,), 'fortran_order': False, 'descr': '<u2'}",
    "{ 'descr' : '<u2' ,\n\t'fortran_order' : False , 'shape' : ( 3 , ) , }",
    "{'descr': '<u2', 'fortran_order': False, 'shape': (3L,), }",
    "{u'descr': u'<u2', 'fortran_order': False, 'shape': (3,), }",
    "{'descr': '<u2', 'fortran_order': False, 'shape': ((3),), }",
  };
  for (const char* d : dicts) {
    SCOPED_TRACE(d);
    const FileLayout layout = parse(make_npy(d, "xxxxxx"));
    ASSERT_EQ(layout.tensors.size(), 1u);
    EXPECT_EQ(layout.tensors[0].shape, std::vector<std::uint64_t>{3});
    EXPECT_EQ(layout.tensors[0].dtype, DType::u16);
  }
  EXPECT_EQ(parse(make_npy(dict("<u2", "(1, 2, 3,)"), "123456789012")).tensors.at(0).shape,
            (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(NpyTest, UnsupportedDescrLeavesTheWholeFileAsSkeleton) {
  const char* descrs[] = {
    "'<c8'", "'|O'", "'<U5'", "'=f4'", "'|f4'", "'<f16'", "'<M8[s]'", "'|V3'",
    "[('a', '<f4'), ('b', '<i2', (2,))]", "('<f4', (2,))", "[(('title', 'a'), '<f4')]",
  };
  for (const char* descr : descrs) {
    SCOPED_TRACE(descr);
    // The data length is not checked: it need not follow from the shape (object arrays).
    const std::string file = make_npy(
      std::string("{'descr': ") + descr + ", 'fortran_order': False, 'shape': (2,), }", "odd data");
    const FileLayout layout = parse(file);
    EXPECT_EQ(layout.format, FileFormat::npy);
    EXPECT_TRUE(layout.tensors.empty());
    EXPECT_EQ(extract_skeleton(layout, as_bytes(file)), file);
  }
}

TEST(NpyTest, RejectsBadPreamble) {
  expect_invalid("", "file is 0 bytes, too short for the npy preamble");
  expect_invalid("\x93NUMP", "too short for the npy preamble");
  std::string file = make_npy(dict("<f4", "(1,)"), "abcd");
  file[1] = 'n';
  expect_invalid(file, "bad npy magic");
  for (auto [major, minor] : {std::pair{4, 0}, {1, 1}, {0, 0}}) {
    std::string f = make_npy(dict("<f4", "(1,)"), "abcd");
    f[6] = static_cast<char>(major);
    f[7] = static_cast<char>(minor);
    expect_invalid(f, "unsupported npy version " + std::to_string(major) + "." + std::to_string(minor));
  }
  expect_invalid(std::string("\x93NUMPY\x01\x00\x10", 9), "truncated header length");
  expect_invalid(std::string("\x93NUMPY\x02\x00\x10\x00\x00", 11), "truncated header length");
}

TEST(NpyTest, RejectsHeaderLengthPastTheEnd) {
  std::string file = make_npy(dict("<f4", "(1,)"), "");
  file[8] = '\xff';
  file[9] = '\x7f';
  expect_invalid(file, "header length 32767 exceeds file size 128");
  file = make_npy(dict("<f4", "(1,)"), "", 2);
  file[11] = '\x80';
  expect_invalid(file, "header length 2147483764 exceeds file size 128");
}

TEST(NpyTest, RejectsUnparsableDicts) {
  const std::pair<const char*, const char*> cases[] = {
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "header: expected '}'"},
    {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "header: expected '}'"},
    {"{descr: '<f4', 'fortran_order': False, 'shape': (1,)}", "header: unexpected character at byte 1"},
    {"{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}", "header: expected ':'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", "unexpected text after the dict"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), '}", "unterminated string"},
    {"['descr', '<f4']", "header: expected '{' at byte 0"},
    {"", "header: expected '{'"},
    {"{'descr': '<f4', 'fortran_order': Flase, 'shape': (1,)}", "unexpected character"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,)}", "expected ')'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (-,)}", "expected a digit"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
     "integer out of range"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 5: 1}", "dict key is not a string"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)\n, 'x': [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
     "nesting too deep"},
  };
  for (const auto& [d, fault] : cases) {
    SCOPED_TRACE(d);
    expect_invalid(make_npy(d, "abcd"), fault);
  }
}

TEST(NpyTest, RejectsWrongKeysAndValues) {
  const std::pair<const char*, const char*> cases[] = {
    {"{'descr': '<f4', 'shape': (1,)}", "header lacks one of descr, fortran_order, shape"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "unknown key 'x'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}",
     "header has key 'shape' twice"},
    {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "fortran_order is not True or False"},
    {"{'descr': 4, 'fortran_order': False, 'shape': (1,)}", "descr is not a dtype description"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "shape is not a tuple of non-negative integers"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "shape is not a tuple"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "shape is not a tuple"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}", "shape is not a tuple"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': ((1,),)}", "shape is not a tuple"},
  };
  for (const auto& [d, fault] : cases) {
    SCOPED_TRACE(d);
    expect_invalid(make_npy(d, "abcd"), fault);
  }
}

TEST(NpyTest, RejectsDataSizeMismatch) {
  expect_invalid(make_npy(dict("<f4", "(3, 4)"), std::string(40, 'x')),
                 "size mismatch: data is 40 bytes, shape (3, 4) of '<f4' needs 48");
  expect_invalid(make_npy(dict("<f4", "(3,)"), std::string(13, 'x')),
                 "size mismatch: data is 13 bytes, shape (3,) of '<f4' needs 12");
  expect_invalid(make_npy(dict("<f8", "(4294967296, 4294967296)"), ""),
                 "shape (4294967296, 4294967296) of '<f8' overflows 64 bits");
}

TEST(NpyTest, DetectedByExtensionOrMagic) {
  const std::string file = make_npy(dict("|u1", "(4,)"), "abcd");
  EXPECT_EQ(detect_format("x.npy", {}), FileFormat::npy);
  EXPECT_EQ(detect_format("blob", as_bytes(file)), FileFormat::npy);
  EXPECT_EQ(detect_format("blob", as_bytes(std::string("\x93NUMP"))), FileFormat::raw);
  const FileLayout layout = parse_file_layout("blob", as_bytes(file));
  EXPECT_EQ(layout.format, FileFormat::npy);
  EXPECT_EQ(layout.tensors.size(), 1u);
  // Claimed by its extension but not an npy file: bad input, not a raw file.
  EXPECT_THROW(parse_file_layout("x.npy", as_bytes(std::string("PK\x03\x04 not npy"))), InvalidInputError);
}

// Files written by make_fixtures.py with numpy.save and numpy.lib.format.write_array.
TEST(NpyTest, ParsesFilesFromRealTools) {
  test::TempDir dir;
  if (auto skip = test::make_real_tool_fixtures(dir.path())) GTEST_SKIP() << *skip;
  const auto c = test::check_real_tool_fixtures(dir.path(), "npy");
  EXPECT_EQ(c.files, 14);
  EXPECT_EQ(c.files_with_tensors, 12);
}

}  // namespace
}  // namespace coral::core
