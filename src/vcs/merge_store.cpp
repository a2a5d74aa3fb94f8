#include "merge_store.hpp"

#include "chunk_encoder.hpp"
#include "chunk_source.hpp"
#include "coral/core/error.hpp"
#include "coral/delta/chunks.hpp"
#include "merge_math.hpp"

#include <atomic>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <unistd.h>

namespace coral::vcs {
namespace stdfs = std::filesystem;
namespace {

MergeMethod method_of(const std::string& name) {
  if (name == "average" || name == "soup") return MergeMethod::average;
  if (name == "weighted") return MergeMethod::weighted;
  if (name == "task-arithmetic") return MergeMethod::task_arithmetic;
  if (name == "ties") return MergeMethod::ties;
  if (name == "dare") return MergeMethod::dare;
  if (name == "dare-ties") return MergeMethod::dare_ties;
  if (name == "slerp") return MergeMethod::slerp;
  throw UsageError("strategy '" + name + "' computes no tensor");
}

// The job's parameters, with the weights of the sides taking part.
MergeParams params_of(const TensorJob& job) {
  const MergeStrategy& s = job.strategy;
  MergeParams p;
  for (auto i : job.side_index)
    if (!s.weights.empty()) p.weights.push_back(s.weights[i]);
  p.normalize = s.normalize;
  p.lambda = s.lambda.value_or(1.0);
  p.density = s.density.value_or(1.0);
  p.seed = s.seed.value_or(0);
  p.t = s.t.value_or(0.5);
  return p;
}

// A stored object usable as a forward delta base for an object of `raw_size` bytes.
std::shared_ptr<const ChunkSource> delta_base(Repository& repo, const core::ObjectId& id, std::uint64_t raw_size) {
  if (repo.max_chain() == 0) return nullptr;
  auto source = ChunkSource::open(repo.objects().data_store(), id);
  if (!source || source->raw_size() != raw_size || source->depth() + 1 > repo.max_chain()) return nullptr;
  return source;
}

// Stores the merged tensor `id` unless it is stored already, as a delta against the first side's
// version where the chain allows one (every chunk still picks the smaller of delta and whole).
void store(Repository& repo, DataWriter& writer, const TensorJob& job, const core::ObjectId& id, core::DType dtype,
           std::uint64_t size, const ChunkJob::Fill& fill, std::span<const std::byte> bytes, core::ThreadPool& pool) {
  if (!writer.claim(id)) return;
  ChunkJob chunk_job;
  chunk_job.id = id;
  chunk_job.raw_size = size;
  chunk_job.dtype = dtype;
  chunk_job.fill = fill;
  chunk_job.bytes = bytes;
  if (auto base = delta_base(repo, job.sides[0].id, size)) {
    chunk_job.base_id = base->info().id;
    chunk_job.base_fill = base_chunks(base);
  }
  store_chunked(writer, chunk_job, &pool);
}

core::ObjectId in_memory(Repository& repo, DataWriter& writer, const TensorJob& job, const TensorEntry& out,
                         const std::string& key, core::ThreadPool& pool) {
  ObjectDb& db = repo.objects();
  const MergeMethod method = method_of(job.strategy.name);
  // Every side (and the base) read, decoded and verified at once, one per thread.
  const bool needs_base = method_needs_base(method);
  std::vector<std::vector<std::byte>> data(job.sides.size() + 1);
  pool.parallel_for(data.size(), [&](std::size_t i) {
    if (i < job.sides.size()) data[i] = db.read_data(job.sides[i].id);
    else if (needs_base) data[i] = db.read_data(job.base->id);
  });
  std::vector<TensorView> views;
  for (std::size_t i = 0; i < job.sides.size(); ++i) views.push_back({job.sides[i].dtype, job.sides[i].big_endian, data[i]});
  const TensorView base_view{out.dtype, out.big_endian, data.back()};
  const std::vector<std::byte> merged =
    merge_tensor(method, params_of(job), views, needs_base ? &base_view : nullptr, key, &pool);
  const core::ObjectId id = core::hash_bytes(std::span<const std::byte>(merged));
  store(repo, writer, job, id, out.dtype, merged.size(), {}, merged, pool);
  return id;
}

// A scratch file under .coral/tmp, unlinked as soon as it is open.
class ScratchFile {
public:
  explicit ScratchFile(const Repository& repo) {
    static std::atomic<int> counter{0};
    const stdfs::path dir = repo.layout().tmp_dir();
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    m_path = dir / ("merge-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (m_fd < 0) throw_errno("cannot create", m_path.string(), errno);
    ::unlink(m_path.c_str());  // nameless from now on: nothing is left behind, whatever kills us
  }
  ~ScratchFile() { ::close(m_fd); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  void write_at(std::uint64_t offset, std::span<const std::byte> bytes) const {
    for (std::size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::pwrite(m_fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw_errno("cannot write", m_path.string(), n < 0 ? errno : ENOSPC);
      done += static_cast<std::size_t>(n);
    }
  }
  void read_at(std::uint64_t offset, std::span<std::byte> out) const {
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::pread(m_fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw IoError("cannot read back '" + m_path.string() + "'");
      done += static_cast<std::size_t>(n);
    }
  }

private:
  stdfs::path m_path;
  int m_fd = -1;
};

// Hashes a source's pieces as they are read, in order: the merge reads every piece in order in
// its last pass (earlier passes may have hashed a prefix already), so all of it gets hashed.
struct Verifier {
  std::mutex mutex;
  core::Hasher hasher;
  std::uint64_t next = 0;  // bytes hashed
  void offer(std::uint64_t offset, std::span<const std::byte> bytes) {
    std::lock_guard lock(mutex);
    if (offset != next) return;
    hasher.update(bytes);
    next += bytes.size();
  }
};

core::ObjectId streamed(Repository& repo, DataWriter& writer, const TensorJob& job, const TensorEntry& out,
                        const std::string& key, core::ThreadPool& pool) {
  const MergeMethod method = method_of(job.strategy.name);
  const bool needs_base = method_needs_base(method);
  const std::size_t width = core::dtype_size(out.dtype);
  const std::uint64_t piece = delta::k_chunk_bytes / width;  // one chunk of every source
  std::vector<TensorEntry> inputs = job.sides;
  if (needs_base) inputs.push_back(*job.base);
  std::vector<std::shared_ptr<const ChunkSource>> opened;
  for (const TensorEntry& t : inputs) {
    opened.push_back(ChunkSource::open(repo.objects().data_store(), t.id));
    // Missing (reported by the in-memory read), or a coral 0.1 object that must be read whole.
    if (!opened.back() || opened.back()->raw_size() != t.length) return in_memory(repo, writer, job, out, key, pool);
  }
  std::vector<std::unique_ptr<Verifier>> verifiers;
  std::vector<TensorSource> sources;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const TensorEntry& t = inputs[k];
    const auto chunks = opened[k];
    verifiers.push_back(std::make_unique<Verifier>());
    Verifier* verifier = verifiers.back().get();
    sources.push_back({t.dtype, t.big_endian, t.length / width,
                       [chunks, width, verifier](std::uint64_t begin, std::uint64_t end, std::vector<std::byte>& buffer) {
                         buffer.resize(static_cast<std::size_t>((end - begin) * width));
                         chunks->read_chunk(begin * width >> delta::k_chunk_log2, delta::k_chunk_log2, buffer);
                         verifier->offer(begin * width, buffer);
                         return std::span<const std::byte>(buffer);
                       }});
  }
  const std::span<const TensorSource> side_sources(sources.data(), job.sides.size());
  ScratchFile scratch(repo);
  core::Hasher hasher;
  merge_tensor_stream(method, params_of(job), side_sources, needs_base ? &sources.back() : nullptr, key, piece, &pool,
                      [&](std::uint64_t first, std::span<const std::byte> bytes) {
                        scratch.write_at(first * width, bytes);
                        hasher.update(bytes);
                      });
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (verifiers[i]->next != inputs[i].length || verifiers[i]->hasher.digest() != inputs[i].id)
      throw CorruptError("object " + inputs[i].id.hex() + " (tensor '" + inputs[i].name +
                         "') does not match its id: the repository is damaged");
  const core::ObjectId id = hasher.digest();
  store(repo, writer, job, id, out.dtype, out.length,
        [&](std::uint64_t i, std::span<std::byte> chunk) { scratch.read_at(i << delta::k_chunk_log2, chunk); }, {}, pool);
  return id;
}

}  // namespace

core::ObjectId store_merged_tensor(Repository& repo, DataWriter& writer, const TensorJob& job, const TensorEntry& out,
                                   const std::string& path, std::uint64_t stream_above, core::ThreadPool& pool) {
  const std::string key = path + std::string(1, '\0') + out.name;
  return out.length > stream_above ? streamed(repo, writer, job, out, key, pool) : in_memory(repo, writer, job, out, key, pool);
}

}  // namespace coral::vcs
