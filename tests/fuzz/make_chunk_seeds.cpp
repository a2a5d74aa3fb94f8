// Writes the seed corpus of fuzz_chunks (corpus/fuzz_chunks/, README.md): real encode_chunk output
// for data made to hit every chunk kind and plane coding, each file one fuzz_chunks input
// (chunk_fuzz.hpp). XOR chunks are encoded against fuzz_base(), the base the target supplies, so
// they decode to their data there too. One file per distinct (width, kind, plane codings, tail or not).
//
//   make_chunk_seeds OUT_DIR
//
// Prints one line per seed; fails when a seed does not decode to its data, breaks a fuzz_chunks
// check, or a chunk kind or plane coding has no seed.

#include "chunk_fuzz.hpp"
#include "unit/delta/chunk_data.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

using namespace coral;
using namespace coral::delta::testing;

namespace {

constexpr const char* k_kinds[] = {"raw", "zstd", "planes", "xor", "dict", "scaled"};
constexpr char k_tags[] = {'R', 'C', 'Z', 'A'};  // raw, constant, zstd, rANS plane records

struct Candidate {
  std::string name;
  unsigned width;
  Bytes raw;
  bool xor_base = false;  // encode against fuzz_base()
};

// The plane coding tags of a stored chunk, as letters, in record order.
std::string plane_tags(const Bytes& s, unsigned w) {
  const unsigned kind = std::to_integer<unsigned>(s[0]);
  std::size_t at = 1, records = 0;
  if (kind == 2 || kind == 3) records = w;
  if (kind == 4) at = 2 + (std::to_integer<std::size_t>(s[1]) + 1) * w, records = 1;
  if (kind == 5) at = 2, records = 5;
  std::string tags;
  for (std::size_t r = 0; r < records; ++r) {
    const unsigned tag = std::to_integer<unsigned>(s.at(at++));
    tags += tag < 4 ? k_tags[tag] : '?';
    std::size_t len = 0;
    for (unsigned shift = 0;; shift += 7) {
      const unsigned b = std::to_integer<unsigned>(s.at(at++));
      len |= std::size_t{b & 0x7f} << shift;
      if ((b & 0x80) == 0) break;
    }
    at += len;
  }
  return tags;
}

std::vector<Candidate> candidates() {
  std::vector<Candidate> c;
  auto add = [&](std::string name, unsigned w, Bytes raw, bool xor_base = false) {
    c.push_back({std::move(name), w, std::move(raw), xor_base});
  };
  auto base_floats = [](std::size_t n) {
    std::vector<float> v(n);
    std::memcpy(v.data(), fuzz::fuzz_base().data(), 4 * n);
    return v;
  };
  add("empty", 1, {});
  add("one-byte", 4, {std::byte{0x42}});
  add("random", 1, random_bytes(512, 1));
  add("random", 8, random_bytes(520, 2));
  {
    Bytes pattern = random_bytes(61, 3), rep;
    for (int i = 0; i < 64; ++i) rep.insert(rep.end(), pattern.begin(), pattern.end());
    add("repeated-61-bytes", 1, rep);
    add("repeated-61-bytes", 4, rep);
  }
  add("zeros", 1, Bytes(2048));
  add("zeros", 4, Bytes(2048));
  {
    std::mt19937_64 rng(4);
    std::geometric_distribution<int> g(0.3);
    Bytes v(4096);
    for (auto& b : v) b = static_cast<std::byte>(std::min(g(rng), 255));
    add("geometric-bytes", 1, v);
    Bytes runs(4096);
    for (std::size_t i = 0; i < runs.size(); ++i) runs[i] = static_cast<std::byte>((i / 97) % 5 == 0 ? i / 97 : 0);
    add("sparse-runs", 1, runs);
  }
  add("gaussian-f32", 4, as_bytes(gaussian_f32(2048, 5)));
  add("gaussian-f32+tail", 4, as_bytes(gaussian_f32(1000, 6), 3));
  add("bf16-like-f32", 4, as_bytes(bf16_like(gaussian_f32(2048, 7))));
  {
    auto f = gaussian_f32(2048, 8);
    std::vector<std::uint16_t> h(f.size());
    for (std::size_t i = 0; i < f.size(); ++i) {
      std::uint32_t u;
      std::memcpy(&u, &f[i], 4);
      h[i] = static_cast<std::uint16_t>(u >> 16);
    }
    add("bf16", 2, as_bytes(h));
    add("bf16+tail", 2, as_bytes(h, 1));
    std::vector<double> d(f.begin(), f.begin() + 1024);
    add("gaussian-f64", 8, as_bytes(d));
    add("gaussian-f64+tail", 8, as_bytes(std::vector<double>(f.begin(), f.begin() + 500), 5));
  }
  {
    std::vector<std::uint64_t> counter(1024);
    for (std::size_t i = 0; i < counter.size(); ++i) counter[i] = 1000000 + 3 * i;
    add("counter-u64", 8, as_bytes(counter));
    std::vector<std::uint32_t> c32(2048);
    for (std::size_t i = 0; i < c32.size(); ++i) c32[i] = static_cast<std::uint32_t>(i * i);
    add("squares-u32", 4, as_bytes(c32));
  }
  add("special-f32", 4, as_bytes(special_f32(1024, 9)));
  // XOR against the target's base: a next checkpoint of it, and one with a few changed elements.
  add("xor-perturbed-f32", 4, as_bytes(perturbed(base_floats(2048), 1e-3, 10)), true);
  add("xor-perturbed-f32+tail", 4, as_bytes(perturbed(base_floats(1000), 1e-4, 11), 2), true);
  {
    auto f = base_floats(2048);
    for (std::size_t i = 0; i < f.size(); i += 301) f[i] += 1.0f;
    add("xor-sparse-f32", 4, as_bytes(f), true);
    auto r = base_floats(4096);
    for (std::size_t i = 0; i < r.size(); ++i)
      if (i % 500 < 60) r[i] *= 1.5f;
    add("xor-runs-f32", 4, as_bytes(r), true);
    Bytes b(fuzz::fuzz_base().begin(), fuzz::fuzz_base().begin() + 4096);
    for (std::size_t i = 0; i < b.size(); i += 2) b[i] ^= std::byte{0x03};
    add("xor-low-bits", 2, b, true);
    Bytes b8(fuzz::fuzz_base().begin(), fuzz::fuzz_base().begin() + 8192);
    for (std::size_t i = 0; i < b8.size(); i += 8) b8[i] ^= std::byte{0x11};
    add("xor-low-byte", 8, b8, true);
    Bytes b1(fuzz::fuzz_base().begin(), fuzz::fuzz_base().begin() + 4096);
    for (std::size_t i = 0; i < b1.size(); i += 13) b1[i] ^= std::byte{0x80};
    add("xor-sparse-bytes", 1, b1, true);
  }
  add("3-values", 2, few_values(2048, 2, 3, 12));
  add("3-values", 4, few_values(1024, 4, 3, 13));
  add("3-values", 8, few_values(512, 8, 3, 14));
  add("200-values", 4, few_values(2048, 4, 200, 15));
  {
    Bytes v = few_values(1024, 4, 5, 16);
    v.push_back(std::byte{0x7e});
    add("5-values+tail", 4, v);
  }
  add("dequantized-rows", 4, as_bytes(dequantized_rows(8, 256, 17)));
  add("dequantized-per-tensor", 4, as_bytes(dequantized_rows(4, 512, 18, true)));
  add("dequantized-rows+tail", 4, as_bytes(dequantized_rows(6, 160, 19), 3));
  add("dequantized-0.0123", 4, as_bytes(dequantized_f32(4096, 20)));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_chunk_seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  std::set<std::string> signatures, kinds, tags;
  std::size_t total = 0;
  int failures = 0;
  for (const auto& c : candidates()) {
    const Bytes base = c.xor_base ? Bytes(fuzz::fuzz_base().begin(), fuzz::fuzz_base().begin() + c.raw.size()) : Bytes();
    const delta::EncodedChunk enc = delta::encode_chunk(c.raw, base, c.width);
    const unsigned kind = std::to_integer<unsigned>(enc.bytes[0]);
    const std::string t = plane_tags(enc.bytes, c.width);
    const std::string sig = "w" + std::to_string(c.width) + "-" + k_kinds[kind] + (t.empty() ? "" : "-" + t) +
                            (c.raw.size() % c.width != 0 ? "-tail" : "");
    if (c.xor_base && !enc.uses_base) std::fprintf(stderr, "note: %s does not use its base\n", c.name.c_str());
    if (!signatures.insert(sig).second) {
      std::printf("skip  %-24s %s (duplicate)\n", c.name.c_str(), sig.c_str());
      continue;
    }
    kinds.insert(k_kinds[kind]);
    for (char ch : t) tags.insert(std::string(1, ch));
    Bytes input;
    const auto header = fuzz::chunk_input_header(c.width, c.raw.size());
    input.insert(input.end(), header.begin(), header.end());
    input.insert(input.end(), enc.bytes.begin(), enc.bytes.end());
    // The seed must decode to its data in the target, and pass every check there.
    Bytes out(c.raw.size());
    delta::decode_chunk(enc.bytes, enc.uses_base ? std::span<const std::byte>(base) : std::span<const std::byte>(),
                        c.width, out);
    if (out != c.raw) std::fprintf(stderr, "FAIL: %s does not decode to its data\n", c.name.c_str()), ++failures;
    if (const auto e = fuzz::check_chunk_input(input); !e.empty())
      std::fprintf(stderr, "FAIL: %s: %s\n", c.name.c_str(), e.c_str()), ++failures;
    const std::string file = sig + "-" + c.name;
    std::ofstream(dir / file, std::ios::binary).write(reinterpret_cast<const char*>(input.data()),
                                                      static_cast<std::streamsize>(input.size()));
    total += input.size();
    std::printf("seed  %-24s %-22s raw %6zu stored %6zu\n", c.name.c_str(), sig.c_str(), c.raw.size(), enc.bytes.size());
  }
  std::printf("%zu seeds, %zu bytes\n", signatures.size(), total);
  if (kinds.size() != 6) std::fprintf(stderr, "FAIL: only %zu of 6 chunk kinds have a seed\n", kinds.size()), ++failures;
  if (tags.size() != 4) std::fprintf(stderr, "FAIL: only %zu of 4 plane codings have a seed\n", tags.size()), ++failures;
  return failures == 0 ? 0 : 1;
}
