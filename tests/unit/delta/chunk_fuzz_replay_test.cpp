// The seeds of the fuzz_chunks target (tests/fuzz/corpus/fuzz_chunks/) and any input it ever
// failed on (tests/data/fuzz_regressions/fuzz_chunks/) go through the target's own checks in every
// test run: decode, or a CorruptError, and an exact round trip of what decodes. See
// tests/fuzz/README.md.

#include "fuzz/chunk_fuzz.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

int replay(const fs::path& folder) {
  int files = 0;
  if (!fs::is_directory(folder)) return 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    const std::string bytes = coral::test::read_file(entry.path());
    const std::string problem =
        coral::fuzz::check_chunk_input({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
    EXPECT_EQ(problem, "") << entry.path();
    ++files;
  }
  return files;
}

TEST(ChunkFuzzReplayTest, SeedsAndRegressionsPassTheTargetsChecks) {
  EXPECT_GE(replay(coral::test::source_dir() / "tests/fuzz/corpus/fuzz_chunks"), 20);
  replay(coral::test::source_dir() / "tests/data/fuzz_regressions/fuzz_chunks");
}

}  // namespace
