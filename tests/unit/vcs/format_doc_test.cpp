// docs/format.md is right about the encodings coral really writes: an independent decoder written
// from the documentation alone (tests/data/decode_object.py: h5py, numpy and the zstd program)
// restores every data object of a repository byte for byte, and the repository exercises the
// chunk kinds and plane codings the documentation describes (byte planes, XOR planes against a
// base chain, value dictionaries, rANS planes).

#include "coral/core/error.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/operations.hpp"
#include "support/checkpoint.hpp"
#include "support/repo_fixture.hpp"
#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <bit>
#include <cstring>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <set>
#include <sstream>

using namespace coral;
using namespace coral::vcs;

namespace {

using Drift = test::DriftingWeights;

std::string floats(const std::vector<float>& v) { return {reinterpret_cast<const char*>(v.data()), v.size() * 4}; }

// "key=value" fields of the decoder's stderr line.
std::map<std::string, std::string> fields(const std::string& line) {
  std::map<std::string, std::string> out;
  std::istringstream in(line);
  std::string word;
  while (in >> word)
    if (const auto eq = word.find('='); eq != std::string::npos) out[word.substr(0, eq)] = word.substr(eq + 1);
  return out;
}

std::set<int> numbers(const std::string& list) {
  std::set<int> out;
  if (list == "-") return out;
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) out.insert(std::stoi(item));
  return out;
}

std::uint32_t load_u32(const std::vector<std::byte>& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | std::to_integer<std::uint32_t>(b[at + static_cast<std::size_t>(k)]);
  return v;
}

// The kind byte of each chunk of a chunked object's stored bytes, read with the C++ side's view
// of the container (prefix | chunks | trailer of u32 sizes).
std::set<int> chunk_kinds(const std::vector<std::byte>& stored, std::uint64_t raw_size) {
  const unsigned log2 = std::to_integer<unsigned>(stored.at(2));
  const std::uint64_t grid = std::uint64_t{1} << log2;
  const std::size_t n = static_cast<std::size_t>((raw_size + grid - 1) / grid);
  std::set<int> kinds;
  std::size_t at = 4;
  for (std::size_t i = 0; i < n; ++i) {
    kinds.insert(std::to_integer<int>(stored.at(at)));
    at += load_u32(stored, stored.size() - 4 * n + 4 * i);
  }
  EXPECT_EQ(at, stored.size() - 4 * n);
  return kinds;
}

class FormatDocTest : public test::RepoTest {};

TEST_F(FormatDocTest, IndependentPythonDecoderRestoresEveryObject) {
  const std::string python = test::python();
  const auto probe = test::run_program({python, "-c", "import h5py, numpy"}, {.cwd = dir.path()});
  if (probe.exit_code != 0) GTEST_SKIP() << python << " with h5py and numpy is needed: " << probe.err;
  if (test::run_program({"zstd", "--version"}, {.cwd = dir.path()}).exit_code != 0)
    GTEST_SKIP() << "the zstd program is needed by tests/data/decode_object.py";

  constexpr std::size_t n = 25'000;
  Drift w1(n, 1), w2(n, 2), w3(n, 3), bf(n, 4), tuned(n, 1);
  std::vector<float> constant(4096, 0.5f), dict(20'000), tiny{1.f, 2.f, 3.f, 4.f};
  {
    std::mt19937_64 rng(5);
    std::normal_distribution<float> d(0, 1);
    std::vector<float> values(200);
    for (auto& v : values) v = d(rng);
    for (auto& x : dict) x = values[rng() % values.size()];
  }
  for (int version = 1; version <= 3; ++version) {
    test::write_file(dir / "model.safetensors",
                     test::safetensors_bytes({{"w1", "F32", {n}, w1.f32()},
                                              {"w2", "F32", {n / 100, 100}, w2.f32()},
                                              {"w3", "F32", {n}, w3.f32()},
                                              {"bf", "BF16", {n}, bf.bf16()},
                                              {"const", "F32", {constant.size()}, floats(constant)},
                                              {"dict", "F32", {dict.size()}, floats(dict)},
                                              {"tiny", "F32", {tiny.size()}, floats(tiny)}}));
    std::vector<std::string> paths{"model.safetensors"};
    if (version == 3) {  // a fine-tune of w1 under a new name: a base only the similarity index finds
      for (int k = 0; k < 3; ++k) tuned.step();
      test::write_file(dir / "tuned.safetensors", test::safetensors_bytes({{"w1", "F32", {n}, tuned.f32()}}));
      paths.push_back("tuned.safetensors");
    }
    add(*repo, {.paths = paths});
    commit(*repo, {.message = "version " + std::to_string(version)});
    for (auto* d : {&w1, &w2, &w3, &bf}) d->step();
  }

  const std::string script = (test::source_dir() / "tests/data/decode_object.py").string();
  const auto& store = repo->objects().data_store();
  std::set<int> kinds, planes;
  unsigned deepest = 0, objects = 0;
  bool raw_object = false;
  for (const auto& info : store.list()) {
    SCOPED_TRACE("object " + info.id.hex());
    const auto r = test::run_program({python, script, dir.path().string(), info.id.hex()}, {.cwd = dir.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::byte> expected = repo->objects().read_data(info.id);
    ASSERT_EQ(r.out.size(), expected.size());
    EXPECT_TRUE(std::memcmp(r.out.data(), expected.data(), expected.size()) == 0) << "decoded bytes differ";
    ++objects;

    auto f = fields(r.err);
    EXPECT_EQ(f["encoding"], std::to_string(info.encoding)) << r.err;
    EXPECT_EQ(f["base"], info.base.is_zero() ? "-" : info.base.hex()) << r.err;
    const std::set<int> object_kinds = numbers(f["kinds"]), object_planes = numbers(f["planes"]);
    kinds.insert(object_kinds.begin(), object_kinds.end());
    planes.insert(object_planes.begin(), object_planes.end());
    deepest = std::max(deepest, static_cast<unsigned>(std::stoul(f["depth"])));
    EXPECT_EQ(std::stoul(f["depth"]), *repo->objects().delta_depth(info.id)) << r.err;

    // The documented guarantee: one chunk here, so never bigger than the raw bytes.
    EXPECT_LE(info.stored_size, info.raw_size);
    raw_object = raw_object || info.encoding == 0;
    if (info.encoding == 2) {  // what the decoder reports matches the stored kind bytes
      const auto rec = store.get(info.id);
      EXPECT_EQ(chunk_kinds(rec.data, info.raw_size), object_kinds) << r.err;
      if (!info.base.is_zero()) {
        EXPECT_EQ(std::to_integer<unsigned>(rec.data[3]) & 1u, 1u) << "flags bit 0";
      }
    }
  }
  EXPECT_GE(objects, 15u);
  EXPECT_TRUE(raw_object) << "the tiny tensor should be stored raw";
  for (int kind : {2, 3, 4}) EXPECT_TRUE(kinds.count(kind)) << "no chunk of kind " << kind << " was decoded";
  for (int tag : {0, 1, 3}) EXPECT_TRUE(planes.count(tag)) << "no plane record with tag " << tag << " was decoded";
  EXPECT_GE(deepest, 2u) << "a chain of XOR deltas should have been followed";

  // The worked example of docs/format.md "Decoding a chunked object by hand", byte for byte.
  const auto model = show(*repo, "HEAD:model.safetensors").file;
  ASSERT_TRUE(model.has_value());
  for (const auto& t : model->tensors) {
    if (t.name != "const") continue;
    const auto rec = store.get(t.id);
    std::string hex;
    for (auto b : rec.data) {
      hex += "0123456789abcdef"[std::to_integer<unsigned>(b) >> 4];
      hex += "0123456789abcdef"[std::to_integer<unsigned>(b) & 15];
    }
    EXPECT_EQ(hex, "0104160004000000003f01010009000000") << "update the example in docs/format.md";
  }

  // The fine-tune under a new name found its base through the similarity index.
  const auto tuned_file = show(*repo, "HEAD:tuned.safetensors").file;
  ASSERT_TRUE(tuned_file.has_value());
  EXPECT_FALSE(store.find_info(tuned_file->tensors.at(0).id)->base.is_zero());
}

}  // namespace
