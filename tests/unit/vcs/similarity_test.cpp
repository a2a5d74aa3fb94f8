#include "vcs/similarity.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <bit>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace coral;
using namespace coral::vcs;
using coral::test::TempDir;

namespace {

constexpr std::size_t k_n = 20000;  // elements per test tensor (above k_min_similarity_elements)

template <typename T>
std::span<const std::byte> bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(T)};
}

std::vector<float> normal_tensor(std::mt19937_64& rng, std::size_t n = k_n, float sigma = 0.02f) {
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

Signature sig_of(const std::vector<float>& v) {
  const auto s = tensor_signature(bytes(v), core::DType::f32);
  EXPECT_TRUE(s.has_value());
  return s.value_or(Signature{});
}

core::ObjectId id_of(const std::vector<float>& v) { return core::hash_bytes(bytes(v)); }
core::ObjectId id_of(std::uint64_t i) { return core::hash_bytes(std::string_view(std::to_string(i))); }

Signature random_sig(std::mt19937_64& rng, std::uint64_t elements = k_n) { return {core::DType::f32, elements, rng()}; }

bool contains(const std::vector<core::ObjectId>& ids, const core::ObjectId& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::uint16_t to_bf16(float f) { return static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(f) >> 16); }

double cosine(core::DType t, std::span<const std::byte> a, std::span<const std::byte> b, std::size_t chunks = 1) {
  CosineAccumulator acc(t);
  const std::size_t w = core::dtype_size(t), n = a.size() / w, per = (n + chunks - 1) / chunks;
  for (std::size_t i = 0; i < n; i += per) {
    const std::size_t len = std::min(per, n - i) * w;
    acc.add(a.subspan(i * w, len), b.subspan(i * w, len));
  }
  return acc.value();
}

}  // namespace

TEST(SignatureTest, OnlyFloatTensorsOfSomeSizeGetOne) {
  std::mt19937_64 rng(1);
  const auto x = normal_tensor(rng);
  EXPECT_TRUE(tensor_signature(bytes(x), core::DType::f32).has_value());
  for (auto t : {core::DType::i32, core::DType::u32, core::DType::i16, core::DType::u8, core::DType::boolean,
                 core::DType::i64, core::DType::f8_e4m3})
    EXPECT_FALSE(tensor_signature(bytes(x), t).has_value()) << core::dtype_name(t);
  const std::vector<float> small(k_min_similarity_elements - 1, 1.0f);
  EXPECT_FALSE(tensor_signature(bytes(small), core::DType::f32).has_value());
  const std::vector<float> zeros(k_n, 0.0f), nans(k_n, std::numeric_limits<float>::quiet_NaN());
  EXPECT_FALSE(tensor_signature(bytes(zeros), core::DType::f32).has_value());
  EXPECT_FALSE(tensor_signature(bytes(nans), core::DType::f32).has_value());
  const auto s = tensor_signature(bytes(x), core::DType::f32);
  EXPECT_EQ(s->elements, k_n);
  EXPECT_EQ(s->dtype, core::DType::f32);
}

TEST(SignatureTest, DeterministicAndReadsOnlyTheSample) {
  std::vector<float> x(k_n);
  for (std::size_t i = 0; i < k_n; ++i) x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  const auto s = sig_of(x);
  // A golden value: signatures are stored on disk, so this must not change within format version 1.
  EXPECT_EQ(s.bits, 0xba651ba8dede2a70ULL) << std::hex << s.bits;
  std::set<std::uint64_t> sampled;
  for (std::size_t j = 0; j < k_signature_samples; ++j) {
    const auto i = signature_sample_index(k_n, j);
    ASSERT_LT(i, k_n);
    sampled.insert(i);
  }
  EXPECT_EQ(sampled.size(), k_signature_samples);
  auto y = x;
  for (std::size_t i = 0; i < k_n; ++i)
    if (!sampled.count(i)) y[i] = 1e30f;
  EXPECT_EQ(sig_of(y).bits, s.bits);
  for (auto i : sampled) y[i] = -y[i];
  EXPECT_EQ(sig_of(y).bits, ~s.bits) << "negating the sample negates every projection";
}

TEST(SignatureTest, DtypesAndExtremeValuesAgree) {
  std::mt19937_64 rng(2);
  const auto x = normal_tensor(rng);
  const auto s = sig_of(x);
  std::vector<std::uint16_t> b(k_n);
  std::vector<double> d(k_n), huge(k_n);
  for (std::size_t i = 0; i < k_n; ++i) {
    b[i] = to_bf16(x[i]);
    d[i] = x[i];
    huge[i] = x[i] * 1e300;
  }
  const auto sb = tensor_signature(bytes(b), core::DType::bf16);
  const auto sd = tensor_signature(bytes(d), core::DType::f64);
  const auto sh = tensor_signature(bytes(huge), core::DType::f64);
  ASSERT_TRUE(sb && sd && sh);
  EXPECT_LE(std::popcount(sb->bits ^ s.bits), 4);
  EXPECT_EQ(sd->bits, s.bits);
  EXPECT_LE(std::popcount(sh->bits ^ s.bits), 2);
  // NaN and Inf in the sample count as 0.
  for (std::size_t j = 0; j < 10; ++j) huge[signature_sample_index(k_n, j)] = std::numeric_limits<double>::infinity();
  huge[signature_sample_index(k_n, 11)] = std::numeric_limits<double>::quiet_NaN();
  const auto sn = tensor_signature(bytes(huge), core::DType::f64);
  ASSERT_TRUE(sn);
  EXPECT_LE(std::popcount(sn->bits ^ s.bits), 8);
}

TEST(CosineTest, KnownValuesChunksAndDtypes) {
  const std::vector<float> a{3, 4, 0, 0}, b{3, 5, 0, 0};
  EXPECT_NEAR(cosine(core::DType::f32, bytes(a), bytes(b)), 29 / (5 * std::sqrt(34.0)), 1e-12);
  std::mt19937_64 rng(3);
  const auto x = normal_tensor(rng, 10000), y = normal_tensor(rng, 10000);
  std::vector<float> z(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) z[i] = x[i] + 0.5f * y[i];
  const double c = cosine(core::DType::f32, bytes(x), bytes(z));
  EXPECT_NEAR(c, 1 / std::sqrt(1.25), 0.02);
  EXPECT_NEAR(cosine(core::DType::f32, bytes(x), bytes(z), 10), c, 1e-12);
  std::vector<std::uint16_t> xb(x.size()), zb(x.size());
  std::vector<double> xd(x.size()), zd(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    xb[i] = to_bf16(x[i]);
    zb[i] = to_bf16(z[i]);
    xd[i] = x[i];
    zd[i] = z[i];
  }
  EXPECT_NEAR(cosine(core::DType::bf16, bytes(xb), bytes(zb), 7), c, 1e-3);
  EXPECT_NEAR(cosine(core::DType::f64, bytes(xd), bytes(zd), 3), c, 1e-9);
  // f16: 1.0 = 0x3c00, 2.0 = 0x4000, a subnormal, and Inf (counts as 0).
  const std::vector<std::uint16_t> h1{0x3c00, 0x4000, 0x0001, 0x7c00}, h2{0x4000, 0x3c00, 0x0001, 0x3c00};
  const double t2 = std::ldexp(1.0, -48);  // the subnormal 2^-24, squared
  EXPECT_NEAR(cosine(core::DType::f16, bytes(h1), bytes(h2)), (4 + t2) / std::sqrt((5 + t2) * (6 + t2)), 1e-12);
}

TEST(CosineTest, NonFiniteZeroAndHugeValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> a{1, nan, inf, 2}, b{1, 5, 3, -inf};
  EXPECT_NEAR(cosine(core::DType::f32, bytes(a), bytes(b)), 1 / (std::sqrt(5.0) * std::sqrt(35.0)), 1e-12);
  const std::vector<float> zero(4, 0.0f);
  EXPECT_EQ(cosine(core::DType::f32, bytes(a), bytes(zero)), 0.0);
  EXPECT_EQ(cosine(core::DType::f32, bytes(zero), bytes(zero)), 0.0);
  EXPECT_EQ(CosineAccumulator(core::DType::f64).value(), 0.0);

  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(0.5, 1.7);
  std::vector<double> x(4096), neg(4096), mixed(4096);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = u(rng) * 1e300 * (i % 3 ? 1 : -1);
    neg[i] = -x[i];
    mixed[i] = i < 2048 ? x[i] * 1e-300 * 1e-300 : x[i];  // a tiny first half (1e-300), then 1e300
  }
  for (std::size_t chunks : {1, 4, 64}) {
    EXPECT_NEAR(cosine(core::DType::f64, bytes(x), bytes(x), chunks), 1.0, 1e-12);
    EXPECT_NEAR(cosine(core::DType::f64, bytes(x), bytes(neg), chunks), -1.0, 1e-12);
    EXPECT_NEAR(cosine(core::DType::f64, bytes(mixed), bytes(mixed), chunks), 1.0, 1e-12);
  }
  std::vector<double> tiny(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) tiny[i] = x[i] * 1e-300 * 1e-300;  // ~1e-300: squares underflow
  EXPECT_NEAR(cosine(core::DType::f64, bytes(tiny), bytes(x), 8), 1.0, 1e-12);
  const std::vector<double> d1{1e308, std::numeric_limits<double>::infinity(), 1e308}, d2{1e308, 1, -1e308};
  EXPECT_NEAR(cosine(core::DType::f64, bytes(d1), bytes(d2)), 0.0, 1e-12);
}

namespace {

// n unrelated N(0, 0.02) tensors, their ids and signatures, added to the index in one batch.
struct Population {
  std::vector<std::vector<float>> tensors;
  std::vector<std::pair<core::ObjectId, Signature>> entries;
};

Population populate(SimilarityIndex& index, std::mt19937_64& rng, std::size_t n) {
  Population p;
  for (std::size_t i = 0; i < n; ++i) {
    p.tensors.push_back(normal_tensor(rng));
    p.entries.emplace_back(id_of(p.tensors.back()), sig_of(p.tensors.back()));
  }
  index.add(p.entries);
  return p;
}

}  // namespace

TEST(SimilarityIndexTest, FindsPerturbedCopiesAmongUnrelatedTensors) {
  TempDir dir;
  SimilarityIndex index(dir / "similarity");
  std::mt19937_64 rng(5);
  const auto pop = populate(index, rng, 1000);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  int found_top = 0, found_ft = 0, trials = 0;
  for (std::size_t t = 0; t < 400; ++t) {
    const auto& x = pop.tensors[t];
    std::vector<float> relative(k_n), adam(k_n), finetune(k_n);
    for (std::size_t i = 0; i < k_n; ++i) {
      relative[i] = x[i] * (1 + 1e-3f * normal(rng));
      const float g = normal(rng);  // first Adam step: m̂/sqrt(v̂) = sign(g), lr 1e-3
      adam[i] = x[i] - 1e-3f * (g > 0 ? 1.0f : -1.0f) - 1e-4f * x[i];  // plus weight decay
      finetune[i] = x[i] + 0.2f * 0.02f * normal(rng);  // cosine ~0.98 with x
    }
    for (const auto* y : {&relative, &adam}) {
      const auto c = index.candidates(sig_of(*y));
      found_top += !c.empty() && c[0] == pop.entries[t].first;
    }
    found_ft += contains(index.candidates(sig_of(finetune)), pop.entries[t].first);
    ++trials;
  }
  std::printf("[ info ] top candidate %d/%d; cosine-0.98 fine-tune found %d/%d\n", found_top, 2 * trials, found_ft,
              trials);
  EXPECT_EQ(found_top, 2 * trials);
  EXPECT_GE(found_ft, trials * 98 / 100);
}

TEST(SimilarityIndexTest, UnrelatedTensorsAreRarelyCandidates) {
  TempDir dir;
  SimilarityIndex index(dir / "similarity");
  std::mt19937_64 rng(6);
  const auto pop = populate(index, rng, 1000);
  std::size_t false_candidates = 0, band_collisions = 0;
  constexpr std::size_t k_queries = 200;
  for (std::size_t q = 0; q < k_queries; ++q) {
    const auto s = sig_of(normal_tensor(rng));
    false_candidates += index.candidates(s, 1000).size();
    for (const auto& [id, e] : pop.entries)
      for (std::size_t b = 0; b < k_lsh_bands; ++b)
        if (lsh_band(e.bits, b) == lsh_band(s.bits, b)) {
          ++band_collisions;
          break;
        }
  }
  const double pairs = static_cast<double>(k_queries * pop.entries.size());
  std::printf("[ info ] unrelated pairs: %.3f%% share a band, %.4f%% are candidates\n",
              100.0 * static_cast<double>(band_collisions) / pairs, 100.0 * static_cast<double>(false_candidates) / pairs);
  EXPECT_LT(static_cast<double>(band_collisions) / pairs, 0.01);
  EXPECT_LT(static_cast<double>(false_candidates) / pairs, 0.003);
}

TEST(SimilarityIndexTest, OnlySameDtypeAndElementCount) {
  TempDir dir;
  SimilarityIndex index(dir / "similarity");
  std::mt19937_64 rng(7);
  const auto s = random_sig(rng);
  const std::pair<core::ObjectId, Signature> entry{id_of(1), s};
  index.add({&entry, 1});
  EXPECT_EQ(index.candidates(s), std::vector<core::ObjectId>{id_of(1)});
  for (auto t : {core::DType::bf16, core::DType::f16, core::DType::f64, core::DType::i32})
    EXPECT_TRUE(index.candidates({t, s.elements, s.bits}).empty()) << core::dtype_name(t);
  EXPECT_TRUE(index.candidates({s.dtype, s.elements + 1, s.bits}).empty());
  EXPECT_TRUE(index.candidates({s.dtype, s.elements, ~s.bits}).empty());
  EXPECT_TRUE(index.candidates(s, 0).empty());
}

TEST(SimilarityIndexTest, MissingOrDamagedSegmentsAreIgnored) {
  TempDir dir;
  const auto sim = dir / "similarity";
  EXPECT_TRUE(SimilarityIndex(sim).candidates(Signature{core::DType::f32, k_n, 1}).empty());  // no directory
  std::mt19937_64 rng(8);
  std::vector<std::pair<core::ObjectId, Signature>> a{{id_of(1), random_sig(rng)}}, b{{id_of(2), random_sig(rng)}},
      c{{id_of(3), random_sig(rng)}};
  SimilarityIndex writer(sim);
  writer.add(a);
  auto before = std::set<std::filesystem::path>();
  for (const auto& e : std::filesystem::directory_iterator(sim)) before.insert(e.path());
  writer.add(b);
  writer.add(c);
  std::vector<std::filesystem::path> segs;
  for (const auto& e : std::filesystem::directory_iterator(sim))
    if (e.path().extension() == ".seg" && !before.count(e.path())) segs.push_back(e.path());
  ASSERT_EQ(segs.size(), 2u);
  // Truncate one segment and flip a byte deep inside the other.
  std::filesystem::resize_file(segs[0], std::filesystem::file_size(segs[0]) / 2);
  {
    std::fstream f(segs[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    const int byte = f.get();
    f.seekp(100);
    f.put(static_cast<char>(byte ^ 0xff));
  }
  coral::test::write_file(sim / "0123.seg", "garbage");
  coral::test::write_file(sim / "x.seg.tmp-1-abc", "half-written");
  SimilarityIndex reader(sim);
  EXPECT_EQ(reader.candidates(a[0].second), std::vector<core::ObjectId>{id_of(1)});
  EXPECT_EQ(reader.candidates(b[0].second).size() + reader.candidates(c[0].second).size(), 0u);
  EXPECT_EQ(reader.stats().segments, 1u);
}

TEST(SimilarityIndexTest, RebuildReplacesContents) {
  TempDir dir;
  SimilarityIndex index(dir / "similarity");
  std::mt19937_64 rng(9);
  std::vector<std::pair<core::ObjectId, Signature>> old_entries, new_entries;
  for (std::uint64_t i = 0; i < 50; ++i) old_entries.emplace_back(id_of(i), random_sig(rng));
  for (std::uint64_t i = 100; i < 150; ++i) new_entries.emplace_back(id_of(i), random_sig(rng));
  for (std::size_t i = 0; i < 50; i += 10) index.add(std::span(old_entries).subspan(i, 10));
  EXPECT_EQ(index.candidates(old_entries[7].second), std::vector<core::ObjectId>{old_entries[7].first});
  index.rebuild(new_entries);
  for (const auto& [id, s] : old_entries) EXPECT_FALSE(contains(index.candidates(s, 100), id));
  for (const auto& [id, s] : new_entries) EXPECT_EQ(index.candidates(s, 1), std::vector<core::ObjectId>{id});
  EXPECT_EQ(index.stats().segments, 1u);
  index.rebuild({});
  EXPECT_TRUE(index.candidates(new_entries[0].second).empty());
}

TEST(SimilarityIndexTest, ManySegmentsAreMergedWithoutLosingEntries) {
  TempDir dir;
  SimilarityIndex index(dir / "similarity");
  std::mt19937_64 rng(10);
  std::vector<std::pair<core::ObjectId, Signature>> entries;
  for (std::uint64_t batch = 0; batch < 30; ++batch) {
    const std::size_t first = entries.size();
    for (std::uint64_t i = 0; i < 5 + batch; ++i) entries.emplace_back(id_of(entries.size()), random_sig(rng));
    index.add(std::span(entries).subspan(first));
  }
  EXPECT_GT(index.stats().merges, 0u);
  SimilarityIndex reader(dir / "similarity");
  for (const auto& [id, s] : entries) ASSERT_EQ(reader.candidates(s, 1), std::vector<core::ObjectId>{id});
  EXPECT_LE(reader.stats().segments, 8u);
}

namespace {

// Adds `batches` batches of 8 entries (ids writer*1e6 + batch*100 + i), appending "writer batch\n"
// to `progress` after each completed add.
void write_batches(const std::filesystem::path& dir, const std::filesystem::path& progress, int writer, int batches) {
  SimilarityIndex index(dir);
  std::mt19937_64 rng(static_cast<std::uint64_t>(writer) * 7919);
  for (int batch = 0; batch < batches; ++batch) {
    std::vector<std::pair<core::ObjectId, Signature>> entries;
    for (int i = 0; i < 8; ++i)
      entries.emplace_back(id_of(static_cast<std::uint64_t>(writer * 1000000 + batch * 100 + i)), random_sig(rng));
    index.add(entries);
    const std::string line = std::to_string(writer) + " " + std::to_string(batch) + "\n";
    const int fd = ::open(progress.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
    ::close(fd);
  }
}

// In a forked child: never return into gtest.
template <typename F>
[[noreturn]] void run_child(F f) {
  try {
    f();
    ::_exit(0);
  } catch (...) {
    ::_exit(1);
  }
}

// Every batch recorded in `progress` is findable by a fresh index.
void expect_progress_findable(const std::filesystem::path& dir, const std::filesystem::path& progress,
                              std::size_t expected_min) {
  std::ifstream in(progress);
  std::set<std::pair<int, int>> done;
  for (int w, b; in >> w >> b;) done.insert({w, b});
  EXPECT_GE(done.size(), expected_min);
  SimilarityIndex reader(dir);
  for (const auto& [writer, done_batch] : done) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(writer) * 7919);
    for (int batch = 0; batch <= done_batch; ++batch)
      for (int i = 0; i < 8; ++i) {
        const auto s = random_sig(rng);
        if (batch != done_batch) continue;
        const auto id = id_of(static_cast<std::uint64_t>(writer * 1000000 + batch * 100 + i));
        ASSERT_EQ(reader.candidates(s, 1), std::vector<core::ObjectId>{id}) << "writer " << writer << " batch " << batch;
      }
  }
}

}  // namespace

TEST(SimilarityIndexTest, ConcurrentWritersLoseNothing) {
  TempDir dir;
  const auto sim = dir / "similarity", progress = dir / "progress";
  constexpr int k_processes = 3, k_threads = 4, k_batches = 12;
  std::vector<pid_t> children;
  for (int p = 0; p < k_processes; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) run_child([&] { write_batches(sim, progress, 100 + p, k_batches); });
    children.push_back(pid);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) threads.emplace_back([&, t] { write_batches(sim, progress, t, k_batches); });
  for (auto& th : threads) th.join();
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer failed, status " << status;
  }
  expect_progress_findable(sim, progress, (k_processes + k_threads) * k_batches);
}

TEST(SimilarityIndexTest, KilledWritersLeaveCompletedAddsFindable) {
  TempDir dir;
  const auto sim = dir / "similarity", progress = dir / "progress";
  std::mt19937 rng(11);
  for (int run = 0; run < 6; ++run) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) run_child([&] { write_batches(sim, progress, run, 1 << 20); });
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 200)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
  }
  expect_progress_findable(sim, progress, 1);
}

TEST(SimilarityIndexTest, LookupCostDoesNotGrowWithEntries) {
  std::mt19937_64 rng(12);
  double per_lookup[2] = {};
  const std::size_t sizes[2] = {1000, 30000};
  for (int k = 0; k < 2; ++k) {
    TempDir dir;
    SimilarityIndex index(dir / "similarity");
    std::vector<std::pair<core::ObjectId, Signature>> entries;
    for (std::uint64_t i = 0; i < sizes[k]; ++i) entries.emplace_back(id_of(i), random_sig(rng));
    for (std::size_t i = 0; i < entries.size(); i += entries.size() / 10)  // 10 segments: one merge
      index.add(std::span(entries).subspan(i, std::min(entries.size() / 10, entries.size() - i)));
    SimilarityIndex reader(dir / "similarity");
    for (int q = 0; q < 500; ++q) reader.candidates(q % 2 ? random_sig(rng) : entries[static_cast<std::size_t>(q)].second);
    const auto st = reader.stats();
    per_lookup[k] = static_cast<double>(st.slots_probed) / static_cast<double>(st.lookups);
    std::printf("[ info ] %zu entries, %zu segments: %.1f slots probed per lookup\n", sizes[k], st.segments,
                per_lookup[k]);
    EXPECT_LE(st.segments, 8u);
    EXPECT_LE(per_lookup[k], static_cast<double>(st.segments * k_lsh_bands * 64));  // the hard cap
  }
  // Buckets fill as entries of one shape grow (~n / 4096 per bucket), but slowly, and never past the cap.
  EXPECT_LT(per_lookup[1], per_lookup[0] * 3);
  // A hot bucket (many entries with one signature) is capped at 64 slots per band and segment.
  TempDir dir;
  SimilarityIndex index(dir / "similarity");
  const Signature hot{core::DType::f32, k_n, 0x1234};
  std::vector<std::pair<core::ObjectId, Signature>> entries;
  for (std::uint64_t i = 0; i < 2000; ++i) entries.emplace_back(id_of(i), hot);
  index.add(entries);
  EXPECT_EQ(index.candidates(hot, 4).size(), 4u);
  EXPECT_LE(index.stats().slots_probed, 64u * k_lsh_bands);
}

TEST(SimilarityIndexTest, ConcurrentLookupsOnOneObject) {
  TempDir dir;
  SimilarityIndex index(dir / "similarity");
  std::mt19937_64 rng(13);
  std::vector<std::pair<core::ObjectId, Signature>> entries;
  for (std::uint64_t i = 0; i < 200; ++i) entries.emplace_back(id_of(i), random_sig(rng));
  index.add(entries);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (const auto& [id, s] : entries) wrong += index.candidates(s, 1) != std::vector<core::ObjectId>{id};
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}
