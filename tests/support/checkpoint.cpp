#include "support/checkpoint.hpp"

#include <bit>

#include "support/temp_dir.hpp"

#include <cstring>
#include <random>
#include <stdexcept>

namespace coral::test {

FakeTensor f32_tensor(const std::string& name, std::vector<std::uint64_t> shape, std::uint64_t seed, float scale) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::string data(n * 4, '\0');
  for (std::uint64_t i = 0; i < n; ++i) {
    const float v = dist(rng);
    std::memcpy(data.data() + i * 4, &v, 4);
  }
  return {name, "F32", std::move(shape), std::move(data)};
}

std::string safetensors_bytes(const std::vector<FakeTensor>& tensors, const std::string& metadata_json) {
  std::string header = "{";
  std::uint64_t off = 0;
  bool first = true;
  if (!metadata_json.empty()) {
    header += "\"__metadata__\":" + metadata_json;
    first = false;
  }
  for (const auto& t : tensors) {
    if (!first) header += ",";
    first = false;
    header += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + t.data.size()) + "]}";
    off += t.data.size();
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::string out(8, '\0');
  std::uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xff);
  out += header;
  for (const auto& t : tensors) out += t.data;
  return out;
}

void write_checkpoint_dir(const std::filesystem::path& dir, int epoch, std::uint64_t elems) {
  write_file(dir / "config.json", "{\"hidden_size\": 64, \"num_layers\": 2}\n");
  write_file(dir / "tokenizer.json", "{\"vocab\": [\"a\", \"b\", \"c\"]}\n");
  std::vector<FakeTensor> s1, s2;
  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".";
    auto w = f32_tensor(p + "weight", {elems / 64, 64}, 1000 + layer);
    auto delta = f32_tensor("d", {elems / 64, 64}, 7000 + static_cast<std::uint64_t>(epoch) * 10 + layer, 1e-4f);
    auto* wf = reinterpret_cast<float*>(w.data.data());
    const auto* df = reinterpret_cast<const float*>(delta.data.data());
    for (std::uint64_t i = 0; i < elems / 64 * 64; ++i) wf[i] += static_cast<float>(epoch) * df[i];
    (layer == 0 ? s1 : s2).push_back(std::move(w));
    (layer == 0 ? s1 : s2).push_back(f32_tensor(p + "bias", {64}, 2000 + layer + static_cast<std::uint64_t>(epoch)));
  }
  write_file(dir / "model-00001-of-00002.safetensors", safetensors_bytes(s1, R"({"format":"pt"})"));
  write_file(dir / "model-00002-of-00002.safetensors", safetensors_bytes(s2, R"({"format":"pt"})"));
  write_file(dir / "model.safetensors.index.json",
             R"({"metadata":{},"weight_map":{"layers.0.weight":"model-00001-of-00002.safetensors"}})" "\n");
}

DriftingWeights::DriftingWeights(std::size_t n, std::uint64_t seed) : m_rng(seed), m_w(n) {
  std::normal_distribution<float> d(0, 0.02f);
  for (auto& x : m_w) x = d(m_rng);
}

void DriftingWeights::step() {
  std::normal_distribution<float> d(0, 1);
  for (auto& x : m_w) x *= 1 + 1e-3f * d(m_rng);
}

std::string DriftingWeights::f32() const { return {reinterpret_cast<const char*>(m_w.data()), m_w.size() * 4}; }

std::string DriftingWeights::bf16() const {
  std::string out;
  for (float x : m_w) {
    std::uint32_t u = std::bit_cast<std::uint32_t>(x);
    u += 0x7fff + ((u >> 16) & 1);
    out.push_back(static_cast<char>((u >> 16) & 0xff));
    out.push_back(static_cast<char>(u >> 24));
  }
  return out;
}

}  // namespace coral::test
