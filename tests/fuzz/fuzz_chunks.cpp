// libFuzzer target for the chunk decoder (and, on whatever it decodes, the chunk encoder):
// include/coral/delta/chunks.hpp. The input layout and the checks are in chunk_fuzz.hpp.
//
// Every input must decode or be rejected with coral::CorruptError, and whatever decodes must
// survive encode_chunk -> decode_chunk unchanged. Anything else (another exception, a broken
// round trip, a sanitizer report) aborts, which libFuzzer records as a crash.

#include "chunk_fuzz.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string failure = coral::fuzz::check_chunk_input({reinterpret_cast<const std::byte*>(data), size});
  if (!failure.empty()) {
    std::fprintf(stderr, "fuzz_chunks: %s\n", failure.c_str());
    std::abort();
  }
  return 0;
}
