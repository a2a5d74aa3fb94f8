#pragma once
// Computing one merged tensor (merge_math.hpp) from the stored sides and storing it: in memory
// for ordinary tensors; piece by piece from the packs through a scratch file for big ones, so
// memory does not grow with the tensor (docs/merge.md "Memory").
#include "coral/core/thread_pool.hpp"
#include "coral/vcs/repository.hpp"
#include "merge_plan.hpp"

#include <cstdint>
#include <string>

namespace coral::vcs {

// Computes `job` (a tensor `out` of file `path`) and stores it through `writer` unless stored
// already; returns its id. Tensors of more than `stream_above` bytes are merged piece by piece.
// Every side is verified against its id (CorruptError otherwise).
core::ObjectId store_merged_tensor(Repository& repo, DataWriter& writer, const TensorJob& job, const TensorEntry& out,
                                   const std::string& path, std::uint64_t stream_above, core::ThreadPool& pool);

}  // namespace coral::vcs
