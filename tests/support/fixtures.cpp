#include "support/fixtures.hpp"

#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include "coral/core/error.hpp"

#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>

namespace coral::test {
namespace {

using nlohmann::json;

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace

std::optional<std::string> make_real_tool_fixtures(const std::filesystem::path& dir) {
  const auto run = run_program({python(), (source_dir() / "tests/data/fixtures/make_fixtures.py").string(), dir.string()},
                               {.cwd = dir});
  if (run.exit_code == 77 || run.exit_code == 127) return "python3 with numpy and torch is needed: " + run.err;
  if (run.exit_code != 0) ADD_FAILURE() << "make_fixtures.py failed: " << run.err;
  return std::nullopt;
}

void expect_invalid_layout(core::FileFormat format, const std::string& name, const std::string& file,
                           const std::string& fault) {
  try {
    core::parse_layout(format, name, as_bytes(file));
    ADD_FAILURE() << "accepted; expected a fault containing: " << fault;
  } catch (const InvalidInputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(name + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(fault), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.back(), '.') << msg;
  }
}

std::string reassemble(const core::FileLayout& layout, const std::string& skeleton,
                       const std::function<std::string(const core::TensorExtent&)>& bytes_of) {
  std::string out;
  std::uint64_t file_pos = 0, skeleton_pos = 0;
  for (const auto& t : layout.tensors) {
    out += skeleton.substr(skeleton_pos, t.offset - file_pos);
    skeleton_pos += t.offset - file_pos;
    out += bytes_of(t);
    file_pos = t.offset + t.length;
  }
  return out + skeleton.substr(skeleton_pos);
}

FixtureCheck check_real_tool_fixtures(const std::filesystem::path& dir, std::string_view format) {
  FixtureCheck result;
  const json manifest = json::parse(read_file(dir / "manifest.json"));
  for (const auto& f : manifest["files"]) {
    if (f["format"] != format) continue;
    ++result.files;
    const std::string name = f["file"];
    SCOPED_TRACE(name);
    const std::string file = read_file(dir / name);
    const core::FileLayout layout = core::parse_file_layout(name, as_bytes(file));
    EXPECT_EQ(core::format_name(layout.format), format);
    EXPECT_EQ(layout.tensors.size(), f["tensors"].size());
    std::map<std::string, json> want;
    for (const auto& t : f["tensors"]) want[t["name"]] = t;
    std::map<std::string, std::string> tool_bytes;
    for (const auto& t : layout.tensors) {
      if (!want.count(t.name)) {
        ADD_FAILURE() << "unexpected tensor " << t.name;
        return result;
      }
      const json& w = want[t.name];
      EXPECT_EQ(core::dtype_name(t.dtype), w["dtype"].get<std::string>()) << t.name;
      EXPECT_EQ(t.shape, w["shape"].get<std::vector<std::uint64_t>>()) << t.name;
      EXPECT_EQ(t.big_endian, w.value("big_endian", false)) << t.name;
      tool_bytes[t.name] = read_file(dir / w["bytes"].get<std::string>());
      EXPECT_EQ(file.substr(t.offset, t.length), tool_bytes[t.name]) << t.name;
    }
    EXPECT_EQ(reassemble(layout, core::extract_skeleton(layout, as_bytes(file)),
                         [&](const core::TensorExtent& t) { return tool_bytes.at(t.name); }),
              file);
    if (!layout.tensors.empty()) ++result.files_with_tensors;
  }
  return result;
}

}  // namespace coral::test
