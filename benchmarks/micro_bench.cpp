// Micro-benchmarks of coral's hot loops: hashing, the delta codec, safetensors parsing.
// Buffers are built and touched before timing (first-touch memory is slow on the build VMs,
// TOOLCHAIN.md "Machine quirks"); run with --benchmark_repetitions=5 and read the max/median.

#include "coral/core/dtype.hpp"
#include "coral/core/file_layout.hpp"
#include "coral/core/object_id.hpp"
#include "coral/delta/chunks.hpp"
#include "coral/delta/codec.hpp"
#include "delta/histogram.hpp"
#include "delta/planes.hpp"
#include "delta/rans.hpp"
#include "delta/zstd_block.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/repository.hpp"
#include "vcs/scan.hpp"

#include <benchmark/benchmark.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>
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


// --- Chunk codecs (src/delta): per-plane coders and whole chunks --------------------------------
// Data as in TOOLCHAIN.md §3: (a) float32 N(0, 0.02), one 4 MiB chunk; (b) bits(a) XOR
// bits(a * (1 + 1e-3 N(0,1))); (c) a bf16 cast of (a) (round to nearest even).

std::vector<float> gaussian_f32(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (auto& f : v) f = normal(rng);
  return v;
}

std::vector<float> perturbed_f32(const std::vector<float>& a, std::uint32_t seed) {
  std::vector<float> v(a.size());
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (std::size_t i = 0; i < a.size(); ++i) v[i] = static_cast<float>(a[i] * (1 + 1e-3 * normal(rng)));
  return v;
}

std::vector<std::byte> bytes_of(const void* p, std::size_t n) {
  std::vector<std::byte> out(n);
  std::memcpy(out.data(), p, n);
  return out;
}

std::vector<std::byte> bf16_of(const std::vector<float>& a) {
  std::vector<std::uint16_t> h(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::uint32_t u;
    std::memcpy(&u, &a[i], 4);
    h[i] = static_cast<std::uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
  }
  return bytes_of(h.data(), h.size() * 2);
}

// a quantised to int8 with one scale per row of 4096 and converted back in float32 (chunk kind 5).
std::vector<float> dequantized_f32(std::vector<float> a) {
  constexpr std::size_t k_row = 4096;
  for (std::size_t r = 0; r + k_row <= a.size(); r += k_row) {
    float m = 0;
    for (std::size_t i = r; i < r + k_row; ++i) m = std::max(m, std::fabs(a[i]));
    const float s = m / 127.0f;
    for (std::size_t i = r; i < r + k_row; ++i)
      a[i] = static_cast<float>(static_cast<std::int8_t>(std::clamp(std::nearbyint(a[i] / s), -127.0f, 127.0f))) * s;
  }
  return a;
}

struct ChunkData {
  std::vector<std::byte> f32, next_f32, xor_f32, bf16, dequantized;
};

const ChunkData& chunk_data() {
  static const ChunkData d = [] {
    ChunkData c;
    const auto a = gaussian_f32(k_mib, 1);  // 4 MiB of f32
    const auto b = perturbed_f32(a, 2);
    c.f32 = bytes_of(a.data(), a.size() * 4);
    c.next_f32 = bytes_of(b.data(), b.size() * 4);
    c.xor_f32 = c.next_f32;
    coral::delta::xor_bytes(c.xor_f32.data(), c.f32.data(), c.xor_f32.size());
    c.bf16 = bf16_of(a);
    const auto q = dequantized_f32(a);
    c.dequantized = bytes_of(q.data(), q.size() * 4);
    return c;
  }();
  return d;
}

// Arg 0: data set (0 f32, 1 bf16, 2 xor f32, 3 per-row dequantized int8 as f32); arg 1: plane (0 = lowest byte).
std::vector<std::byte> plane_of(std::int64_t set, std::int64_t plane) {
  const auto& d = chunk_data();
  const auto& src = set == 0 ? d.f32 : set == 1 ? d.xor_f32 : d.bf16;
  const unsigned w = set == 2 ? 2 : 4;
  const std::size_t n = src.size() / w;
  std::vector<std::byte> planes(src.size());
  coral::delta::split_planes(src.data(), n, w, planes.data());
  return {planes.begin() + static_cast<std::ptrdiff_t>(plane * n),
          planes.begin() + static_cast<std::ptrdiff_t>((plane + 1) * n)};
}

void plane_args(benchmark::internal::Benchmark* b) {
  for (int p = 0; p < 4; ++p) b->Args({0, p});
  for (int p = 0; p < 4; ++p) b->Args({1, p});
  for (int p = 0; p < 2; ++p) b->Args({2, p});
}

void BM_plane_rans_encode(benchmark::State& state) {
  const auto plane = plane_of(state.range(0), state.range(1));
  const auto h = coral::delta::byte_histogram(plane);
  if (coral::delta::distinct_symbols(h) < 2) {
    state.SkipWithError("constant plane");
    return;
  }
  std::vector<std::byte> out;
  for (auto _ : state) {
    out.clear();
    coral::delta::rans_encode(plane, coral::delta::byte_histogram(plane), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plane.size()));
  state.counters["ratio"] = static_cast<double>(plane.size()) / static_cast<double>(out.size());
}
BENCHMARK(BM_plane_rans_encode)->Apply(plane_args)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_plane_rans_decode(benchmark::State& state) {
  const auto plane = plane_of(state.range(0), state.range(1));
  const auto h = coral::delta::byte_histogram(plane);
  if (coral::delta::distinct_symbols(h) < 2) {
    state.SkipWithError("constant plane");
    return;
  }
  std::vector<std::byte> enc, out(plane.size());
  coral::delta::rans_encode(plane, h, enc);
  for (auto _ : state) {
    coral::delta::rans_decode(enc, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out != plane) state.SkipWithError("rans round trip failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plane.size()));
  state.counters["ratio"] = static_cast<double>(plane.size()) / static_cast<double>(enc.size());
}
BENCHMARK(BM_plane_rans_decode)->Apply(plane_args)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Arg 2: zstd level.
void BM_plane_zstd_encode(benchmark::State& state) {
  const auto plane = plane_of(state.range(0), state.range(1));
  const int level = static_cast<int>(state.range(2));
  std::vector<std::byte> out;
  for (auto _ : state) {
    out.clear();
    coral::delta::zstd_append(plane, level, ZSTD_compressBound(plane.size()), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plane.size()));
  state.counters["ratio"] = static_cast<double>(plane.size()) / static_cast<double>(out.size());
}

void BM_plane_zstd_decode(benchmark::State& state) {
  const auto plane = plane_of(state.range(0), state.range(1));
  std::vector<std::byte> enc, out(plane.size());
  coral::delta::zstd_append(plane, static_cast<int>(state.range(2)), ZSTD_compressBound(plane.size()), enc);
  for (auto _ : state) {
    coral::delta::zstd_decode_exact(enc, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plane.size()));
  state.counters["ratio"] = static_cast<double>(plane.size()) / static_cast<double>(enc.size());
}

void zstd_plane_args(benchmark::internal::Benchmark* b) {
  for (int level : {1, 3}) {
    for (int p = 0; p < 4; ++p) b->Args({0, p, level});
    for (int p = 0; p < 4; ++p) b->Args({1, p, level});
    for (int p = 0; p < 2; ++p) b->Args({2, p, level});
  }
}
BENCHMARK(BM_plane_zstd_encode)->Apply(zstd_plane_args)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_plane_zstd_decode)->Apply(zstd_plane_args)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Arg: element width.
void BM_split_planes(benchmark::State& state) {
  const auto& src = chunk_data().f32;
  const auto w = static_cast<unsigned>(state.range(0));
  std::vector<std::byte> out(src.size());
  for (auto _ : state) {
    coral::delta::split_planes(src.data(), src.size() / w, w, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * src.size()));
}
BENCHMARK(BM_split_planes)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_merge_planes(benchmark::State& state) {
  const auto& src = chunk_data().f32;
  const auto w = static_cast<unsigned>(state.range(0));
  std::vector<std::byte> out(src.size());
  for (auto _ : state) {
    coral::delta::merge_planes(src.data(), src.size() / w, w, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * src.size()));
}
BENCHMARK(BM_merge_planes)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Arg 0: case (0 f32, 1 bf16, 2 f32 against the previous checkpoint); arg 1: zstd level.
struct ChunkCase {
  std::span<const std::byte> raw, base;
  unsigned width;
  const char* name;
};

ChunkCase chunk_case(std::int64_t which) {
  const auto& d = chunk_data();
  if (which == 1) return {d.bf16, {}, 2, "bf16"};
  if (which == 2) return {d.next_f32, d.f32, 4, "xor f32"};
  if (which == 3) return {d.dequantized, {}, 4, "dequantized f32"};
  return {d.f32, {}, 4, "f32"};
}

void BM_encode_chunk(benchmark::State& state) {
  const ChunkCase c = chunk_case(state.range(0));
  const coral::delta::ChunkEncodeOptions options{static_cast<int>(state.range(1))};
  auto enc = coral::delta::encode_chunk(c.raw, c.base, c.width, options);
  for (auto _ : state) {
    enc = coral::delta::encode_chunk(c.raw, c.base, c.width, options);
    benchmark::DoNotOptimize(enc.bytes.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.raw.size()));
  state.counters["ratio"] = static_cast<double>(c.raw.size()) / static_cast<double>(enc.bytes.size());
  state.SetLabel(c.name);
}
BENCHMARK(BM_encode_chunk)->Args({0, 1})->Args({1, 1})->Args({2, 1})->Args({3, 1})->Args({0, 3})->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_decode_chunk(benchmark::State& state) {
  const ChunkCase c = chunk_case(state.range(0));
  const auto enc = coral::delta::encode_chunk(c.raw, c.base, c.width);
  std::vector<std::byte> out(c.raw.size());
  for (auto _ : state) {
    coral::delta::decode_chunk(enc.bytes, c.base, c.width, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (!std::equal(out.begin(), out.end(), c.raw.begin())) state.SkipWithError("decode_chunk(encode_chunk(x)) != x");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.raw.size()));
  state.counters["ratio"] = static_cast<double>(c.raw.size()) / static_cast<double>(enc.bytes.size());
  state.SetLabel(c.name);
}
BENCHMARK(BM_decode_chunk)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMicrosecond)->UseRealTime();

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

// ---- Similarity index (src/vcs/similarity.hpp): signature per tensor, candidates() lookup ----

#include "vcs/similarity.hpp"

#include <filesystem>
#include <unistd.h>

namespace {

// Arg: tensor size in MiB (f32). The cost is O(1) in the size: 1024 sampled elements.
void BM_similarity_signature(benchmark::State& state) {
  const auto raw = weight_like_f32(static_cast<std::size_t>(state.range(0)) * k_mib, 7);
  std::uint64_t sink = 0;
  for (auto _ : state) {
    const auto sig = coral::vcs::tensor_signature(raw, coral::core::DType::f32);
    sink += sig ? sig->bits : 0;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_similarity_signature)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond)->UseRealTime();

// candidates() on an index of 100,000 entries of one shape (the worst case: every entry shares
// dtype and size with the query), written as 10 adds (so merged once), half the queries present.
void BM_similarity_candidates_100k(benchmark::State& state) {
  namespace fs = std::filesystem;
  constexpr std::size_t k_entries = 100'000;
  const fs::path dir = fs::temp_directory_path() / ("coral-bench-similarity-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::mt19937_64 rng(8);
  std::vector<std::pair<coral::core::ObjectId, coral::vcs::Signature>> entries;
  for (std::size_t i = 0; i < k_entries; ++i)
    entries.emplace_back(coral::core::hash_bytes(std::to_string(i)),
                         coral::vcs::Signature{coral::core::DType::f32, 1 << 20, rng()});
  {
    coral::vcs::SimilarityIndex writer(dir);
    for (std::size_t i = 0; i < k_entries; i += k_entries / 10)
      writer.add(std::span(entries).subspan(i, k_entries / 10));
  }
  coral::vcs::SimilarityIndex index(dir);
  std::vector<coral::vcs::Signature> queries;
  for (std::size_t i = 0; i < 1024; ++i)
    queries.push_back(i % 2 ? entries[i * 97].second : coral::vcs::Signature{coral::core::DType::f32, 1 << 20, rng()});
  benchmark::DoNotOptimize(index.candidates(queries[0]));  // lists and maps the segments
  std::size_t q = 0, found = 0;
  for (auto _ : state) found += index.candidates(queries[q++ % queries.size()]).size();
  const auto stats = index.stats();
  state.counters["segments"] = static_cast<double>(stats.segments);
  state.counters["slots_per_lookup"] = static_cast<double>(stats.slots_probed) / static_cast<double>(stats.lookups);
  state.counters["found_per_lookup"] = static_cast<double>(found) / static_cast<double>(state.iterations());
  fs::remove_all(dir);
}
BENCHMARK(BM_similarity_candidates_100k)->Unit(benchmark::kMicrosecond)->UseRealTime();


// ---- Dedup of small tensors (src/vcs/scan.cpp): a file of 10,000 tensors of 256 bytes that are
// all stored already; each is hashed and found in the pack store. Target: >= 100,000 tensors/s.
void BM_dedup_small_tensors(benchmark::State& state) {
  namespace fs = std::filesystem;
  constexpr std::size_t k_tensors = 10'000, k_bytes = 256;
  const fs::path dir = fs::temp_directory_path() / ("coral-bench-dedup-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::string header = "{";
    for (std::size_t i = 0; i < k_tensors; ++i)
      header += std::string(i ? "," : "") + "\"t" + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[" +
                std::to_string(i * k_bytes) + "," + std::to_string((i + 1) * k_bytes) + "]}";
    header += "}";
    while (header.size() % 8 != 0) header += ' ';
    std::string image(8, '\0');
    for (int b = 0; b < 8; ++b) image[static_cast<std::size_t>(b)] = static_cast<char>(header.size() >> (8 * b));
    image += header;
    std::mt19937_64 rng(7);
    for (std::size_t i = 0; i < k_tensors * k_bytes; ++i) image.push_back(static_cast<char>(rng()));
    std::ofstream(dir / "m.safetensors", std::ios::binary) << image;
  }
  coral::vcs::Repository repo = coral::vcs::Repository::init(dir, {.jobs = 1});
  coral::vcs::add(repo, {.paths = {(dir / "m.safetensors").string()}});
  coral::core::ThreadPool pool(1);
  for (auto _ : state) {
    auto parsed = coral::vcs::parse_worktree_file(dir, "m.safetensors");
    auto writer = repo.objects().begin_data();
    auto entry = coral::vcs::hash_file(parsed, pool, {.writer = writer.get()});
    if (writer->stats().objects_written != 0) state.SkipWithError("a stored tensor was stored again");
    benchmark::DoNotOptimize(entry.tensors.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * k_tensors));
  fs::remove_all(dir);
}
BENCHMARK(BM_dedup_small_tensors)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// ---- merge arithmetic (vcs/merge_math.hpp): 3 sides + base of 4M F32 / BF16 elements --------
#include "vcs/merge_math.hpp"

static void BM_merge_tensor(benchmark::State& state) {
  const auto method = static_cast<coral::vcs::MergeMethod>(state.range(0));
  const auto dtype = state.range(1) == 0 ? coral::core::DType::f32 : coral::core::DType::bf16;
  constexpr std::size_t n = 4u << 20;
  const std::size_t width = coral::core::dtype_size(dtype);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> d(0, 0.02f);
  std::vector<std::vector<std::byte>> data(4, std::vector<std::byte>(n * width));
  for (auto& v : data)
    for (std::size_t i = 0; i < n; ++i) {
      const float f = d(rng);
      std::memcpy(v.data() + i * width, reinterpret_cast<const char*>(&f) + (4 - width), width);
    }
  std::vector<coral::vcs::TensorView> sides;
  for (int i = 0; i < 3; ++i) sides.push_back({dtype, false, data[static_cast<std::size_t>(i)]});
  const coral::vcs::TensorView base{dtype, false, data[3]};
  coral::vcs::MergeParams p;
  p.density = 0.3;
  if (method == coral::vcs::MergeMethod::slerp) sides.resize(2);
  for (auto _ : state) {
    auto out = coral::vcs::merge_tensor(method, p, sides, &base, "bench", nullptr);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * width * sides.size()));
}
// method: 0 average, 2 task arithmetic, 3 ties, 4 dare, 6 slerp; dtype: 0 F32, 1 BF16
BENCHMARK(BM_merge_tensor)->Args({0, 0})->Args({2, 0})->Args({3, 0})->Args({4, 0})->Args({6, 0})->Args({3, 1})
  ->Unit(benchmark::kMillisecond)->UseRealTime();
