#pragma once
// Builders for small, valid checkpoint files in tests (seeded, KB-sized).

#include <cstdint>
#include <filesystem>
#include <random>
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

// float32 weights N(0, 0.02) that drift a little from version to version, as consecutive
// training checkpoints do: step() multiplies every weight by 1 + 1e-3 N(0, 1).
class DriftingWeights {
public:
  DriftingWeights(std::size_t n, std::uint64_t seed);
  void step();
  std::string f32() const;   // little-endian float32 bytes
  std::string bf16() const;  // the high half of each float, rounded to nearest even

private:
  std::mt19937_64 m_rng;
  std::vector<float> m_w;
};

// float32 tensor with deterministic pseudo-random values (seed, scale).
FakeTensor f32_tensor(const std::string& name, std::vector<std::uint64_t> shape, std::uint64_t seed, float scale = 0.02f);
// A safetensors file image (8-byte header length, JSON header padded to 8 bytes, data).
std::string safetensors_bytes(const std::vector<FakeTensor>& tensors, const std::string& metadata_json = "");
// Writes a small HF-style checkpoint dir: config.json, tokenizer.json, two safetensors shards and
// the index json. `epoch` perturbs every weight a little. Weights are [elems / 64, 64].
void write_checkpoint_dir(const std::filesystem::path& dir, int epoch, std::uint64_t tensor_elems = 4096);

}  // namespace coral::test
