#pragma once
// Builders for small, valid checkpoint files in tests (seeded, KB-sized).

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace coral::test {

struct FakeTensor {
  std::string name;
  std::string dtype = "F32";
  std::vector<std::uint64_t> shape;
  std::string data;  // raw bytes, product(shape) * itemsize of them
};

// float32 tensor with deterministic pseudo-random values (seed, scale).
FakeTensor f32_tensor(const std::string& name, std::vector<std::uint64_t> shape, std::uint64_t seed, float scale = 0.02f);
// A safetensors file image (8-byte header length, JSON header padded to 8 bytes, data).
std::string safetensors_bytes(const std::vector<FakeTensor>& tensors, const std::string& metadata_json = "");
// Writes a small HF-style checkpoint dir: config.json, tokenizer.json, two safetensors shards and
// the index json. `epoch` perturbs every weight a little.
void write_checkpoint_dir(const std::filesystem::path& dir, int epoch, std::uint64_t tensor_elems = 4096);

}  // namespace coral::test
