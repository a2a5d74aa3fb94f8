// Per-object overhead stays under 100 bytes: a file of 10,000 tiny tensors costs no more than
// about 1 MB above its own size (pack index, lookup table, tree, index and skeleton included).

#include "support/checkpoint.hpp"
#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>

using namespace coral::test;
namespace stdfs = std::filesystem;

TEST(OverheadTest, TenThousandTinyTensorsCostUnderOneMegabyteAboveTheFile) {
  TempDir dir;
  const RunOptions o{.cwd = dir.path()};
  ASSERT_EQ(run_coral({"init"}, o).exit_code, 0);
  std::vector<FakeTensor> tensors;
  for (int i = 0; i < 10000; ++i)
    tensors.push_back(f32_tensor("model.layers." + std::to_string(i / 10) + ".norm" + std::to_string(i % 10) + ".bias",
                                 {16}, static_cast<std::uint64_t>(i), 1.0f));
  const std::string file = safetensors_bytes(tensors);
  write_file(dir / "tiny.safetensors", file);
  const auto add = run_coral({"add", "tiny.safetensors"}, o);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  ASSERT_EQ(run_coral({"commit", "-m", "tiny"}, o).exit_code, 0);
  std::uint64_t repo_bytes = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(dir / ".coral"))
    if (e.is_regular_file()) repo_bytes += e.file_size();
  const double per_tensor = (static_cast<double>(repo_bytes) - static_cast<double>(file.size())) / 10000.0;
  std::printf("file %zu bytes, .coral %llu bytes, %.1f bytes per tensor above the file\n", file.size(),
              static_cast<unsigned long long>(repo_bytes), per_tensor);
  EXPECT_LT(repo_bytes, file.size() + 1'000'000);
  EXPECT_LT(per_tensor, 100.0);
}
