// Micro-benchmarks of coral's hot loops: hashing, the delta codec, safetensors parsing.
// Buffers are built and touched before timing (first-touch memory is slow on the build VMs,
// TOOLCHAIN.md "Machine quirks"); run with --benchmark_repetitions=5 and read the max/median.

#include "coral/core/dtype.hpp"
#include "coral/core/file_layout.hpp"
#include "coral/core/object_id.hpp"
#include "coral/delta/codec.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

constexpr std::size_t k_mib = std::size_t{1} << 20;

// float32 weights that look like a trained layer: N(0, 0.02) with per-row scales.
std::vector<std::byte> weight_like_f32(std::size_t bytes, std::uint32_t seed) {
  const std::size_t n = bytes / sizeof(float);
  std::vector<float> values(n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::lognormal_distribution<float> row_scale(0.0f, 0.25f);
  constexpr std::size_t k_row = 1024;
  float scale = 1.0f;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % k_row == 0) scale = row_scale(rng);
    values[i] = normal(rng) * scale;
  }
  std::vector<std::byte> out(n * sizeof(float));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

void BM_hash_bytes_64MiB(benchmark::State& state) {
  std::vector<std::byte> data(64 * k_mib);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>((i * 2654435761u) >> 13);
  for (auto _ : state) {
    auto id = coral::core::hash_bytes(std::span<const std::byte>(data));
    benchmark::DoNotOptimize(id);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(data.size()));
}
BENCHMARK(BM_hash_bytes_64MiB)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_delta_encode_f32_16MiB(benchmark::State& state) {
  const auto raw = weight_like_f32(16 * k_mib, 1);
  coral::delta::Encoded warm = coral::delta::encode(raw, coral::core::DType::f32);  // touch allocator
  benchmark::DoNotOptimize(warm);
  for (auto _ : state) {
    auto enc = coral::delta::encode(raw, coral::core::DType::f32);
    benchmark::DoNotOptimize(enc.bytes.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(raw.size()));
  state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(warm.bytes.size());
  state.SetLabel(coral::delta::encoding_name(warm.encoding));
}
BENCHMARK(BM_delta_encode_f32_16MiB)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_delta_decode_f32_16MiB(benchmark::State& state) {
  const auto raw = weight_like_f32(16 * k_mib, 1);
  const auto enc = coral::delta::encode(raw, coral::core::DType::f32);
  if (coral::delta::decode(enc.encoding, enc.bytes, raw.size()) != raw) {
    state.SkipWithError("decode(encode(x)) != x");
    return;
  }
  for (auto _ : state) {
    auto out = coral::delta::decode(enc.encoding, enc.bytes, raw.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(raw.size()));
  state.SetLabel(coral::delta::encoding_name(enc.encoding));
}
BENCHMARK(BM_delta_decode_f32_16MiB)->Unit(benchmark::kMillisecond)->UseRealTime();

// A safetensors image with n small F32 tensors ([4, 16] each), named like a real model.
std::vector<std::byte> safetensors_image(std::size_t n) {
  constexpr std::uint64_t k_tensor_bytes = 4 * 16 * sizeof(float);
  std::string header = R"({"__metadata__":{"format":"pt"})";
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t begin = i * k_tensor_bytes;
    header += ",\"model.layers." + std::to_string(i / 10) + ".block." + std::to_string(i % 10) +
              ".weight\":{\"dtype\":\"F32\",\"shape\":[4,16],\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(begin + k_tensor_bytes) + "]}";
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::vector<std::byte> image(8 + header.size() + n * k_tensor_bytes);
  std::uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) image[static_cast<std::size_t>(i)] = static_cast<std::byte>(len >> (8 * i));
  std::memcpy(image.data() + 8, header.data(), header.size());
  for (std::size_t i = 8 + header.size(); i < image.size(); ++i) image[i] = static_cast<std::byte>(i);
  return image;
}

// Arg: the number of tensors (10,000 is the target case; 1,000 shows how the cost scales).
void BM_parse_safetensors(benchmark::State& state) {
  const auto k_tensors = static_cast<std::size_t>(state.range(0));
  const auto image = safetensors_image(k_tensors);
  const auto check = coral::core::parse_file_layout("model.safetensors", image);
  if (check.format != coral::core::FileFormat::safetensors || check.tensors.size() != k_tensors) {
    state.SkipWithError("the synthetic safetensors image did not parse to the expected tensors");
    return;
  }
  for (auto _ : state) {
    auto layout = coral::core::parse_file_layout("model.safetensors", image);
    benchmark::DoNotOptimize(layout.tensors.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(k_tensors));
  state.counters["header_bytes"] = static_cast<double>(image.size() - k_tensors * 256);
}
BENCHMARK(BM_parse_safetensors)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
