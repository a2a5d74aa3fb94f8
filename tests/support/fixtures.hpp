#pragma once
// Interop fixtures written by real tools (tests/data/fixtures/make_fixtures.py: numpy's save,
// savez, savez_compressed and safetensors files from torch tensors), and the check that coral's
// parsers agree with what those tools say about every tensor.

#include "coral/core/file_layout.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace coral::test {

// Runs make_fixtures.py into `dir`. Returns a reason to skip when python3, numpy or torch is
// missing; fails the test (ADD_FAILURE) when the script itself fails.
std::optional<std::string> make_real_tool_fixtures(const std::filesystem::path& dir);

struct FixtureCheck {
  int files = 0;               // files of the format in the manifest
  int files_with_tensors = 0;  // of which coral found tensors in
};

// For every manifest file of `format` ("safetensors", "npy", "npz"): coral detects the format,
// finds exactly the manifest's tensors (name, dtype, shape, byte order), each extent holds the
// bytes the tool reported, and skeleton + the tool's bytes rebuild the file exactly.
FixtureCheck check_real_tool_fixtures(const std::filesystem::path& dir, std::string_view format);

// Parses `file` as `format` under the name `name` and expects an InvalidInputError whose message
// is one line, starts with "<name>: ", contains `fault` and has no trailing period.
void expect_invalid_layout(core::FileFormat format, const std::string& name, const std::string& file,
                           const std::string& fault);

// Skeleton pieces and tensor bytes concatenated in offset order (the inverse of extract_skeleton).
std::string reassemble(const core::FileLayout& layout, const std::string& skeleton,
                       const std::function<std::string(const core::TensorExtent&)>& bytes_of);

}  // namespace coral::test
