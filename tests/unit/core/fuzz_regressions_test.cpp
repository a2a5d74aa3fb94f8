// Every input the fuzzers ever crashed on (tests/data/fuzz_regressions/<target>/) and every seed
// (tests/fuzz/corpus/<target>/) must parse or be rejected with InvalidInputError, and a parsed
// layout must tile the file exactly. See tests/fuzz/README.md.

#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace coral::core {
namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  FileFormat format;
};

constexpr Target k_targets[] = {
  {"fuzz_safetensors", FileFormat::safetensors},
  {"fuzz_npy", FileFormat::npy},
  {"fuzz_npz", FileFormat::npz},
};

// Parses one file; returns true when it was accepted.
bool check_input(FileFormat format, const fs::path& path) {
  const std::string file = test::read_file(path);
  const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(file.data()), file.size());
  try {
    const FileLayout layout = parse_layout(format, path.filename().string(), data);
    std::uint64_t total = extract_skeleton(layout, data).size();
    for (const auto& t : layout.tensors) total += t.length;
    EXPECT_EQ(total, file.size()) << path;
    return true;
  } catch (const InvalidInputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path.filename().string() + ": ", 0), 0u) << e.what();
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": unexpected exception: " << e.what();
    return false;
  }
}

// Runs check_input over every file in `dir/<target>/`; returns {files, accepted}.
std::pair<int, int> check_folder(const fs::path& dir) {
  int files = 0, accepted = 0;
  for (const auto& target : k_targets) {
    const fs::path folder = dir / target.name;
    if (!fs::is_directory(folder)) continue;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (!entry.is_regular_file()) continue;
      SCOPED_TRACE(entry.path().string());
      ++files;
      accepted += check_input(target.format, entry.path());
    }
  }
  return {files, accepted};
}

TEST(FuzzRegressionTest, CrashInputsAreRejectedOrParsed) {
  const fs::path dir = test::source_dir() / "tests/data/fuzz_regressions";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  const auto [files, accepted] = check_folder(dir);
  EXPECT_GT(files, 0);
  (void)accepted;
}

TEST(FuzzRegressionTest, SeedCorporaParse) {
  // The seeds are valid files written by numpy, torch or a spec-following writer.
  const auto [files, accepted] = check_folder(test::source_dir() / "tests/fuzz/corpus");
  EXPECT_GE(files, 15);
  EXPECT_EQ(accepted, files);
}

}  // namespace
}  // namespace coral::core
