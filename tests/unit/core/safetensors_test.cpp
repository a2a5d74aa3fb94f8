// The safetensors parser (src/core/formats/safetensors.cpp) through the public file_layout API.

#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"
#include "support/run_coral.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <random>

namespace coral::core {
namespace {

using nlohmann::json;

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string u64le(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

std::string make_file(const std::string& header, const std::string& data) {
  return u64le(header.size()) + header + data;
}

FileLayout parse(const std::string& file) {
  return parse_layout(FileFormat::safetensors, "model.safetensors", as_bytes(file));
}

void expect_invalid(const std::string& file, const std::string& fault) {
  test::expect_invalid_layout(FileFormat::safetensors, "model.safetensors", file, fault);
}

// The file put back together from its skeleton and each extent's bytes, as checkout does.

void expect_invalid_header(const std::string& header, const std::string& fault,
                           std::size_t data_size = 64) {
  SCOPED_TRACE(header);
  expect_invalid(make_file(header, std::string(data_size, 'x')), fault);
}

TEST(SafetensorsTest, RejectsFileShorterThanHeaderLength) {
  expect_invalid("", "file is 0 bytes");
  expect_invalid("1234567", "file is 7 bytes, too short for the 8-byte header length");
}

TEST(SafetensorsTest, RejectsHeaderLengthPastEnd) {
  const std::string file = u64le(9000000000000000000ull) + std::string(1226, ' ');
  try {
    parse(file);
    FAIL() << "accepted";
  } catch (const InvalidInputError& e) {
    EXPECT_STREQ(e.what(), "model.safetensors: header length 9000000000000000000 exceeds file size 1234");
  }
  expect_invalid(u64le(3) + "{}", "header length 3 exceeds file size 10");
  expect_invalid(u64le(~0ull) + "{}", "header length 18446744073709551615 exceeds");
}

TEST(SafetensorsTest, RejectsHeaderThatIsNotAJsonObject) {
  expect_invalid_header("{\"a\": ", "header is not valid JSON");
  expect_invalid_header("not json", "header is not valid JSON (at byte 2)");
  expect_invalid_header("{} trailing", "header is not valid JSON");
  expect_invalid_header("{\"\xff\": 1}", "header is not valid JSON");
  expect_invalid_header("[1, 2]", "header is not a JSON object");
  expect_invalid_header("\"str\"", "header is not a JSON object");
  expect_invalid_header("", "header is not valid JSON");
  // nlohmann throws out_of_range rather than parse_error here (fuzz_safetensors finding).
  expect_invalid_header(R"({"w": {"x": 1E400}})", "header is not valid JSON (number out of range)");
  expect_invalid_header(R"({"__metadata__": {"x": "y"}, "w": -1e999})", "number out of range");
}

TEST(SafetensorsTest, DeeplyNestedHeaderDoesNotExhaustTheStack) {
  const std::size_t depth = 1000000;
  expect_invalid_header("{\"__metadata__\": " + std::string(depth, '[') + std::string(depth, ']') + "}",
                        "__metadata__ is not a map of strings");
}

TEST(SafetensorsTest, RejectsUnknownDtype) {
  expect_invalid_header(R"({"w": {"dtype": "F7", "shape": [1], "data_offsets": [0, 4]}})",
                        "tensor 'w': unknown dtype 'F7'");
  expect_invalid_header(R"({"w": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}})",
                        "unknown dtype 'f32'");
  expect_invalid_header(R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})",
                        "tensor 'w': dtype is missing or not a string");
  expect_invalid_header(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})",
                        "dtype is missing");
  expect_invalid_header(R"({"w": [1, 2]})", "tensor 'w': entry is not a JSON object");
}

TEST(SafetensorsTest, RejectsBadShape) {
  for (const char* shape : {"[-1, 4]", "[2.0]", "[\"2\"]", "3", "null", "[[1]]", "{}",
                            "[18446744073709551616]"}) {
    expect_invalid_header(std::string(R"({"w": {"dtype": "U8", "shape": )") + shape +
                            R"(, "data_offsets": [0, 0]}})",
                          "tensor 'w': shape is not a list of non-negative integers");
  }
  expect_invalid_header(R"({"w": {"dtype": "U8", "data_offsets": [0, 0]}})",
                        "shape is not a list");
}

TEST(SafetensorsTest, RejectsBadDataOffsets) {
  for (const char* offsets : {"[4, 0]", "[0]", "[0, 4, 8]", "[-4, 0]", "[0, 4.5]", "\"0-4\"",
                              "[]", "null"}) {
    expect_invalid_header(std::string(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": )") +
                            offsets + "}}",
                          "tensor 'w': data_offsets is not [begin, end] with begin <= end");
  }
}

TEST(SafetensorsTest, RejectsByteLengthThatDoesNotMatchShape) {
  expect_invalid_header(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})",
                        "tensor 'w': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] hold 20");
  expect_invalid_header(R"({"w": {"dtype": "BF16", "shape": [], "data_offsets": [0, 4]}})",
                        "shape [] of BF16 needs 2 bytes");
  expect_invalid_header(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [0, 4]}})",
                        "needs 0 bytes");
}

TEST(SafetensorsTest, RejectsShapeWhoseByteSizeOverflows) {
  // 2^32 * 2^32 * 1 wraps to 0 in 64 bits; 2^62 * 4 too. Both must be caught, not matched.
  expect_invalid_header(
    R"({"w": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})",
    "tensor 'w': shape [4294967296, 4294967296] of U8 overflows 64 bits");
  expect_invalid_header(
    R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}})",
    "overflows 64 bits");
}

TEST(SafetensorsTest, RejectsOffsetsPastTheEnd) {
  expect_invalid_header(R"({"w": {"dtype": "U8", "shape": [8], "data_offsets": [60, 68]}})",
                        "tensor 'w': data_offsets [60, 68] exceed the 64-byte data section");
  expect_invalid_header(
    R"({"w": {"dtype": "U8", "shape": [0], "data_offsets": [18446744073709551615, 18446744073709551615]}})",
    "exceed the 64-byte data section");
}

TEST(SafetensorsTest, RejectsOverlappingTensors) {
  expect_invalid_header(R"({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},
                            "b": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]}})",
                        "tensors 'a' and 'b' overlap");
  // A zero-size tensor strictly inside another cannot be placed in the skeleton either.
  expect_invalid_header(R"({"a": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                            "z": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]}})",
                        "tensors 'a' and 'z' overlap");
  // Containment, with a tensor in between that does not overlap the previous one.
  expect_invalid_header(R"({"a": {"dtype": "U8", "shape": [32], "data_offsets": [0, 32]},
                            "b": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]},
                            "c": {"dtype": "U8", "shape": [4], "data_offsets": [16, 20]}})",
                        "overlap");
}

TEST(SafetensorsTest, RejectsDuplicateNames) {
  expect_invalid_header(R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                            "w": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})",
                        "duplicate tensor 'w'");
}

TEST(SafetensorsTest, RejectsMetadataThatIsNotAStringMap) {
  expect_invalid_header(R"({"__metadata__": {"epoch": 3}})", "__metadata__ is not a map of strings");
  expect_invalid_header(R"({"__metadata__": ["a"]})", "__metadata__ is not a map of strings");
}

TEST(SafetensorsTest, MessagesQuoteUnprintableNames) {
  expect_invalid_header("{\"a\\nb\": {\"dtype\": \"X\", \"shape\": [], \"data_offsets\": [0, 0]}}",
                        "tensor 'a\\x0ab': unknown dtype 'X'");
}

TEST(SafetensorsTest, ParsesTensorsSortedByAbsoluteOffset) {
  const std::string header =
    R"({"__metadata__": {"format": "pt"},
        "b": {"dtype": "F16", "shape": [2, 2], "data_offsets": [8, 16]},
        "a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]},
        "z": {"dtype": "F32", "shape": [3, 0], "data_offsets": [16, 16]},
        "y": {"dtype": "BOOL", "shape": [0], "data_offsets": [0, 0]}})";
  const std::string file = make_file(header, std::string(16, '\x01'));
  const std::uint64_t base = 8 + header.size();
  const FileLayout layout = parse(file);
  EXPECT_EQ(layout.format, FileFormat::safetensors);
  ASSERT_EQ(layout.tensors.size(), 4u);
  EXPECT_EQ(layout.tensors[0], (TensorExtent{"y", DType::boolean, {0}, base, 0, false}));
  EXPECT_EQ(layout.tensors[1], (TensorExtent{"a", DType::i64, {1}, base, 8, false}));
  EXPECT_EQ(layout.tensors[2], (TensorExtent{"b", DType::f16, {2, 2}, base + 8, 8, false}));
  EXPECT_EQ(layout.tensors[3], (TensorExtent{"z", DType::f32, {3, 0}, base + 16, 0, false}));
  EXPECT_EQ(extract_skeleton(layout, as_bytes(file)), file.substr(0, base));
}

TEST(SafetensorsTest, GapsAndTrailingBytesAreSkeleton) {
  const std::string header = R"({"w": {"dtype": "U16", "shape": [2], "data_offsets": [4, 8]}})";
  const std::string file = make_file(header, "GAP!wwwwTAIL");
  const FileLayout layout = parse(file);
  ASSERT_EQ(layout.tensors.size(), 1u);
  EXPECT_EQ(file.substr(layout.tensors[0].offset, layout.tensors[0].length), "wwww");
  EXPECT_EQ(extract_skeleton(layout, as_bytes(file)), u64le(header.size()) + header + "GAP!TAIL");
}

TEST(SafetensorsTest, AcceptsEmptyHeaderAndNullMetadata) {
  EXPECT_TRUE(parse(make_file("{}", "")).tensors.empty());
  EXPECT_TRUE(parse(make_file(R"({"__metadata__": null}  )", "")).tensors.empty());
}

TEST(SafetensorsTest, DetectedByExtension) {
  const std::string file = make_file(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})", "x");
  EXPECT_EQ(detect_format("dir/model.safetensors", as_bytes(file)), FileFormat::safetensors);
  EXPECT_EQ(parse_file_layout("m.safetensors", as_bytes(file)).tensors.size(), 1u);
  EXPECT_EQ(parse_file_layout("m.bin", as_bytes(file)).format, FileFormat::raw);
}

// Random valid files: tensors of random dtypes and shapes in a random order with random gaps.
TEST(SafetensorsTest, RandomValidFilesRoundTrip) {
  std::mt19937_64 rng(0x5afe7e45);
  auto pick = [&](std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng); };
  for (int round = 0; round < 300; ++round) {
    json header = json::object();
    if (pick(2)) header["__metadata__"] = {{"round", std::to_string(round)}};
    std::map<std::string, TensorExtent> expected;  // offsets relative to the data section
    std::string data;
    const auto count = pick(8);
    for (std::uint64_t i = 0; i < count; ++i) {
      TensorExtent t;
      t.name = std::to_string(pick(1000)) + "." + std::to_string(i);
      t.dtype = k_all_dtypes[pick(std::size(k_all_dtypes))];
      std::uint64_t elements = 1;
      for (auto rank = pick(4); rank > 0; --rank) {
        t.shape.push_back(pick(6));
        elements *= t.shape.back();
      }
      data.append(pick(3) ? 0 : pick(9), '\xee');  // gap
      t.offset = data.size();
      t.length = elements * dtype_size(t.dtype);
      for (std::uint64_t b = 0; b < t.length; ++b) data += static_cast<char>(pick(256));
      header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape},
                        {"data_offsets", {t.offset, t.offset + t.length}}};
      expected[t.name] = t;
    }
    data.append(pick(2) ? 0 : pick(20), '\xdd');  // tail
    std::string text = header.dump(pick(2) ? -1 : 2);
    text.append(pick(8), ' ');
    const std::string file = make_file(text, data);
    SCOPED_TRACE("round " + std::to_string(round) + ": " + text);

    const FileLayout layout = parse(file);
    ASSERT_EQ(layout.tensors.size(), expected.size());
    std::uint64_t previous = 0;
    for (const auto& t : layout.tensors) {
      TensorExtent want = expected.at(t.name);
      want.offset += 8 + text.size();
      EXPECT_EQ(t, want);
      EXPECT_GE(t.offset, previous);
      previous = t.offset + t.length;
    }
    const std::string rebuilt =
      test::reassemble(layout, extract_skeleton(layout, as_bytes(file)), [&](const TensorExtent& t) {
        return data.substr(expected.at(t.name).offset, t.length);
      });
    ASSERT_EQ(rebuilt, file);
  }
}

// Files written by make_fixtures.py (torch tensors, the reference writer's layout and padding).
TEST(SafetensorsTest, ParsesFilesFromRealTools) {
  test::TempDir dir;
  if (auto skip = test::make_real_tool_fixtures(dir.path())) GTEST_SKIP() << *skip;
  const auto c = test::check_real_tool_fixtures(dir.path(), "safetensors");
  EXPECT_EQ(c.files, 2);
  EXPECT_EQ(c.files_with_tensors, 2);
}

}  // namespace
}  // namespace coral::core
