#pragma once
// Value dictionaries: a chunk whose elements take at most 256 distinct values (quantised or
// dequantised weights, small-vocabulary embeddings) is stored as the sorted table of those values
// plus one index byte per element.

#include "histogram.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace coral::delta {

struct ValueDictionary {
  std::vector<std::uint64_t> values;  // ascending; element bytes read as little-endian integers
  Histogram index_counts{};           // how often each index occurs
};

// The dictionary of the first n elements of width w (2, 4 or 8) of data, or nullopt as soon as a
// 257th distinct value shows up (a prefix is checked first, so most tensors bail out early).
std::optional<ValueDictionary> find_dictionary(const std::byte* data, std::size_t n, unsigned w);

// indexes[i] = position of element i in dict.values. Every element must be in the dictionary.
void map_to_indexes(const std::byte* data, std::size_t n, unsigned w, const ValueDictionary& dict,
                    std::byte* indexes);

// Element i = values[indexes[i]] written as w little-endian bytes. Throws CorruptError when an
// index is out of range.
void expand_indexes(const std::byte* indexes, std::size_t n, unsigned w, std::span<const std::uint64_t> values,
                    std::byte* out);

}  // namespace coral::delta
