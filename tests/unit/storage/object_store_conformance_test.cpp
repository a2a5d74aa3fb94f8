// One suite for every ObjectStore implementation (restic's backend suite): MemoryStore,
// LooseStore and Hdf5Store must behave the same through the interface.

#include "coral/core/error.hpp"
#include "coral/storage/hdf5_store.hpp"
#include "coral/storage/loose_store.hpp"
#include "coral/storage/memory_store.hpp"
#include "support/temp_dir.hpp"
#include "unit/storage/store_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace coral::storage {
namespace {

using test::make_delta_object;
using test::make_object;
using test::put_all;
using test::TestObject;

struct MemoryStoreFactory {
  static constexpr bool k_persistent = false;
  std::unique_ptr<ObjectStore> open() { return std::make_unique<MemoryStore>(); }
};

struct LooseStoreFactory {
  static constexpr bool k_persistent = true;
  coral::test::TempDir dir;
  std::unique_ptr<ObjectStore> open() { return std::make_unique<LooseStore>(Layout(dir / ".coral")); }
};

struct Hdf5StoreFactory {
  static constexpr bool k_persistent = true;
  coral::test::TempDir dir;
  std::unique_ptr<ObjectStore> open() { return std::make_unique<Hdf5Store>(Layout(dir / ".coral")); }
};

template <typename Factory>
class ObjectStoreConformanceTest : public ::testing::Test {
protected:
  void SetUp() override { store = factory.open(); }

  void expect_stored(const ObjectStore& s, const TestObject& o) {
    ASSERT_TRUE(s.has(o.info.id)) << o.info.id.hex();
    const auto info = s.find_info(o.info.id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(*info, o.info);
    const ObjectRecord record = s.get(o.info.id);
    EXPECT_EQ(record.info, o.info);
    EXPECT_TRUE(record.data == o.data) << "data of " << o.info.id.hex() << " differs";
  }

  Factory factory;
  std::unique_ptr<ObjectStore> store;
};

using StoreTypes = ::testing::Types<MemoryStoreFactory, LooseStoreFactory, Hdf5StoreFactory>;

class StoreNames {
public:
  template <typename T>
  static std::string GetName(int) {
    if (std::is_same_v<T, MemoryStoreFactory>) return "MemoryStore";
    if (std::is_same_v<T, LooseStoreFactory>) return "LooseStore";
    return "Hdf5Store";
  }
};

TYPED_TEST_SUITE(ObjectStoreConformanceTest, StoreTypes, StoreNames);

TYPED_TEST(ObjectStoreConformanceTest, RoundTripsEmptyTinyAndLargeObjects) {
  const TestObject empty = make_object(1, 0);
  const TestObject one = make_object(2, 1);
  const TestObject large = make_object(3, 3u << 20);
  const TestObject delta = make_delta_object(4, 1000, one.info.id);
  put_all(*this->store, {empty, one, large, delta});
  for (const auto* o : {&empty, &one, &large, &delta}) this->expect_stored(*this->store, *o);
}

TYPED_TEST(ObjectStoreConformanceTest, AbsentObjectIsReportedAbsent) {
  put_all(*this->store, {make_object(1, 10)});
  const auto absent = make_object(2, 10).info.id;
  EXPECT_FALSE(this->store->has(absent));
  EXPECT_FALSE(this->store->find_info(absent).has_value());
  try {
    this->store->get(absent);
    FAIL() << "get of an absent id did not throw";
  } catch (const NotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find(absent.hex()), std::string::npos) << e.what();
  }
}

TYPED_TEST(ObjectStoreConformanceTest, UncommittedBatchIsInvisible) {
  const TestObject a = make_object(1, 100);
  const TestObject b = make_object(2, 200);
  {
    auto batch = this->store->begin_write();
    batch->put(a.info, a.data);
    EXPECT_FALSE(this->store->has(a.info.id));
    EXPECT_THROW(this->store->get(a.info.id), NotFoundError);
    EXPECT_TRUE(this->store->list().empty());
  }  // destroyed without commit
  EXPECT_FALSE(this->store->has(a.info.id));
  if constexpr (TypeParam::k_persistent) {
    EXPECT_FALSE(this->factory.open()->has(a.info.id));
  }

  auto batch = this->store->begin_write();
  batch->put(b.info, b.data);
  EXPECT_FALSE(this->store->has(b.info.id));
  batch->commit();
  this->expect_stored(*this->store, b);
  EXPECT_FALSE(this->store->has(a.info.id));
}

TYPED_TEST(ObjectStoreConformanceTest, DuplicatePutsAreIgnored) {
  const TestObject a = make_object(1, 64);
  TestObject impostor = make_object(2, 32);
  impostor.info.id = a.info.id;  // same id, other bytes: the first put wins
  {
    auto batch = this->store->begin_write();
    batch->put(a.info, a.data);
    batch->put(impostor.info, impostor.data);
    batch->put(a.info, a.data);
    batch->commit();
  }
  this->expect_stored(*this->store, a);
  put_all(*this->store, {impostor});  // already stored: ignored
  this->expect_stored(*this->store, a);
  EXPECT_EQ(this->store->list().size(), 1u);
}

TYPED_TEST(ObjectStoreConformanceTest, ListIsSortedById) {
  std::vector<TestObject> objects;
  for (std::uint64_t i = 0; i < 40; ++i) objects.push_back(make_object(i, 10 + i));
  put_all(*this->store, {objects.begin(), objects.begin() + 20});
  put_all(*this->store, {objects.begin() + 20, objects.end()});
  const std::vector<ObjectInfo> listed = this->store->list();
  std::vector<ObjectInfo> expected;
  for (const auto& o : objects) expected.push_back(o.info);
  std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  EXPECT_EQ(listed, expected);
}

TYPED_TEST(ObjectStoreConformanceTest, RemoveDeletesOnlyTheGivenObjects) {
  std::vector<TestObject> objects;
  for (std::uint64_t i = 0; i < 6; ++i) objects.push_back(make_object(i, 100 * i + 1));
  put_all(*this->store, {objects.begin(), objects.begin() + 3});
  put_all(*this->store, {objects.begin() + 3, objects.end()});
  const std::vector<core::ObjectId> doomed{objects[1].info.id, objects[4].info.id, make_object(99, 5).info.id};
  this->store->remove(doomed);
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (i == 1 || i == 4) {
      EXPECT_FALSE(this->store->has(objects[i].info.id));
      EXPECT_THROW(this->store->get(objects[i].info.id), NotFoundError);
    } else {
      this->expect_stored(*this->store, objects[i]);
    }
  }
  EXPECT_EQ(this->store->list().size(), 4u);
  this->store->remove(doomed);  // removing absent ids is a no-op
  EXPECT_EQ(this->store->list().size(), 4u);
  if constexpr (TypeParam::k_persistent) {
    auto reopened = this->factory.open();
    EXPECT_EQ(reopened->list().size(), 4u);
    EXPECT_FALSE(reopened->has(objects[4].info.id));
    this->expect_stored(*reopened, objects[5]);
  }
}

TYPED_TEST(ObjectStoreConformanceTest, ConcurrentPutsFromEightThreads) {
  constexpr int k_threads = 8;
  constexpr int k_per_thread = 40;
  std::vector<TestObject> objects;
  for (int i = 0; i < k_threads * k_per_thread; ++i)
    objects.push_back(make_object(static_cast<std::uint64_t>(i), 50 + 37 * i % 3000));
  auto batch = this->store->begin_write();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < k_per_thread; ++i) {
          const auto& o = objects[static_cast<std::size_t>(t * k_per_thread + i)];
          batch->put(o.info, o.data);
          const auto& shared = objects[static_cast<std::size_t>(i)];  // every thread also puts these
          batch->put(shared.info, shared.data);
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  batch->commit();
  EXPECT_EQ(this->store->list().size(), objects.size());
  for (const auto& o : objects) this->expect_stored(*this->store, o);
}

TYPED_TEST(ObjectStoreConformanceTest, ConcurrentGetsReturnTheRightBytes) {
  std::vector<TestObject> objects;
  for (std::uint64_t i = 0; i < 64; ++i) objects.push_back(make_object(i, 1000 + 17 * i));
  put_all(*this->store, {objects.begin(), objects.begin() + 32});
  put_all(*this->store, {objects.begin() + 32, objects.end()});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < objects.size(); ++i) {
          const auto& o = objects[(i * 7 + static_cast<std::size_t>(t)) % objects.size()];
          if (this->store->get(o.info.id).data != o.data) ++wrong;
        }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TYPED_TEST(ObjectStoreConformanceTest, ReopenedStoreSeesCommittedObjects) {
  if constexpr (!TypeParam::k_persistent) {
    GTEST_SKIP() << "MemoryStore keeps nothing across instances";
  } else {
    const TestObject a = make_object(1, 5000);
    const TestObject b = make_delta_object(2, 70, a.info.id);
    put_all(*this->store, {a, b});
    {
      auto uncommitted = this->store->begin_write();
      uncommitted->put(make_object(3, 10).info, make_object(3, 10).data);
    }
    auto reopened = this->factory.open();
    this->expect_stored(*reopened, a);
    this->expect_stored(*reopened, b);
    EXPECT_EQ(reopened->list().size(), 2u);
  }
}

}  // namespace
}  // namespace coral::storage
