#pragma once
// Helpers shared by the storage tests: deterministic objects and their ids.

#include "coral/core/object_id.hpp"
#include "coral/storage/object_store.hpp"

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace coral::storage::test {

// `size` pseudo-random bytes from a fixed seed.
inline std::vector<std::byte> make_bytes(std::uint64_t seed, std::size_t size) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 1);
  std::vector<std::byte> out(size);
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t v = rng();
    for (std::size_t k = 0; k < 8 && i + k < size; ++k) out[i + k] = static_cast<std::byte>(v >> (8 * k));
  }
  return out;
}

struct TestObject {
  ObjectInfo info;
  std::vector<std::byte> data;
};

// A raw-encoded object (encoding 0, no base): its id is the XXH3-128 of its bytes.
inline TestObject make_object(std::uint64_t seed, std::size_t size) {
  TestObject o;
  o.data = make_bytes(seed, size);
  o.info.id = core::hash_bytes(std::span<const std::byte>(o.data));
  o.info.encoding = 0;
  o.info.raw_size = size;
  o.info.stored_size = size;
  return o;
}

// An object that claims a delta encoding and base (storage keeps both opaque).
inline TestObject make_delta_object(std::uint64_t seed, std::size_t size, const core::ObjectId& base) {
  TestObject o = make_object(seed, size);
  o.info.encoding = 7;
  o.info.base = base;
  o.info.raw_size = size * 3 + 1;
  return o;
}

inline void put_all(ObjectStore& store, const std::vector<TestObject>& objects) {
  auto batch = store.begin_write();
  for (const auto& o : objects) batch->put(o.info, o.data);
  batch->commit();
}

}  // namespace coral::storage::test
