#pragma once
// Helpers shared by the CLI tests: a repository directory to run coral in, tiny hand-made
// safetensors files, and a model directory like a training script writes.

#include "support/run_coral.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace coral::test {

// An F32 tensor for a safetensors file.
struct F32Tensor {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::vector<float> values;
};

// A safetensors image: 8-byte little-endian header length, JSON header padded with spaces to a
// multiple of 8, then the tensor data in the order given.
inline std::string safetensors_bytes(const std::vector<F32Tensor>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::string data;
  for (const auto& t : tensors) {
    const std::size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + h + data;
}

inline void write_safetensors(const std::filesystem::path& path, const std::vector<F32Tensor>& tensors) {
  write_file(path, safetensors_bytes(tensors));
}

// The shards of a tiny two-shard checkpoint; `delta` is added to layer.0.weight[1].
inline std::vector<F32Tensor> shard1(float delta = 0) {
  return {{"layer.0.weight", {2, 2}, {1.0f, 2.0f + delta, 3.0f, 4.0f}}, {"layer.0.bias", {2}, {0.5f, 0.25f}}};
}
inline std::vector<F32Tensor> shard2() { return {{"head.weight", {3}, {1.0f, -1.0f, 0.5f}}}; }

// A directory to run coral in, with a hermetic HOME/XDG (see run_coral).
class CliDir {
public:
  RunResult run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) const {
    return run_coral(args, {.cwd = m_dir.path(), .env = env, .stdin_data = {}});
  }
  // Runs and expects exit 0 (reporting stderr otherwise).
  RunResult ok(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) const {
    RunResult r = run(args, env);
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    EXPECT_EQ(r.exit_code, 0) << "coral" << cmd << "\nstdout: " << r.out << "\nstderr: " << r.err;
    return r;
  }
  const std::filesystem::path& path() const { return m_dir.path(); }
  std::filesystem::path operator/(std::string_view rel) const { return m_dir / rel; }
  std::string read(std::string_view rel) const { return read_file(m_dir / rel); }
  void write(std::string_view rel, std::string_view content) const { write_file(m_dir / rel, content); }

  // model/config.json, two safetensors shards, an ignored scratch file, and .coralignore.
  void write_model(float delta = 0, const std::string& config = "{\"hidden\": 2}\n") const {
    write("model/config.json", config);
    write_safetensors(m_dir / "model/model-00001-of-00002.safetensors", shard1(delta));
    write_safetensors(m_dir / "model/model-00002-of-00002.safetensors", shard2());
    write("model/optimizer.tmp", "scratch");
    write(".coralignore", "*.tmp\n");
  }

  // init, write_model, add, commit "epoch 1".
  void init_and_commit_model() const {
    ok({"init"});
    write_model();
    ok({"add", "model", ".coralignore"});
    ok({"commit", "-m", "epoch 1", "--author", "Ada", "--email", "ada@example.com"});
  }

  // The full commit id REV resolves to (through `log --json -n 1 REV`).
  std::string commit_id(const std::string& rev) const {
    const RunResult r = ok({"log", "--json", "-n", "1", rev});
    return nlohmann::json::parse(r.out).at(0).at("id").get<std::string>();
  }

private:
  TempDir m_dir;
};

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace coral::test
