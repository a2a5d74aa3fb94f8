// libFuzzer target for one checkpoint-format parser, chosen by CORAL_FUZZ_FORMAT (safetensors,
// npy or npz). Built three times by CMakeLists.txt: fuzz_safetensors, fuzz_npy, fuzz_npz.
//
// Any input must either parse or throw coral::InvalidInputError. On success the skeleton and the
// extents must tile the input exactly. Anything else (another exception, a sanitizer report, a
// broken invariant) aborts, which libFuzzer records as a crash.

#include "coral/core/error.hpp"
#include "coral/core/file_layout.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace {

using coral::core::FileFormat;

constexpr FileFormat k_format = FileFormat::CORAL_FUZZ_FORMAT;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_%s: %s: %s\n", std::string(format_name(k_format)).c_str(), what,
               detail.c_str());
  std::abort();
}

void check(std::span<const std::byte> input) {
  const auto layout = coral::core::parse_layout(k_format, "fuzz", input);
  if (layout.format != k_format) fail("wrong format", std::string(format_name(layout.format)));
  const std::string skeleton = coral::core::extract_skeleton(layout, input);
  std::uint64_t total = skeleton.size();
  for (const auto& t : layout.tensors) total += t.length;
  if (total != input.size())
    fail("skeleton + extent lengths != input size", std::to_string(total));
  // Put the file back together as checkout does, and compare.
  std::string rebuilt;
  std::uint64_t file_pos = 0, skeleton_pos = 0;
  for (const auto& t : layout.tensors) {
    rebuilt.append(skeleton, skeleton_pos, t.offset - file_pos);
    skeleton_pos += t.offset - file_pos;
    rebuilt.append(reinterpret_cast<const char*>(input.data()) + t.offset, t.length);
    file_pos = t.offset + t.length;
  }
  rebuilt.append(skeleton, skeleton_pos);
  if (skeleton_pos > skeleton.size() || rebuilt.size() != input.size() ||
      std::memcmp(rebuilt.data(), input.data(), input.size()) != 0)
    fail("skeleton + extents != input", std::to_string(skeleton.size()) + " skeleton bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    check({reinterpret_cast<const std::byte*>(data), size});
  } catch (const coral::InvalidInputError&) {
    // Expected for bad input.
  } catch (const std::exception& e) {
    fail("unexpected exception", e.what());
  } catch (...) {
    fail("unexpected exception", "not a std::exception");
  }
  return 0;
}
