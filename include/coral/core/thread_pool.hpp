#pragma once
// A fixed-size thread pool. Results never depend on the number of threads: callers index their
// outputs by task number, never by completion order.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace coral::core {

class ThreadPool {
public:
  // threads == 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(std::size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const noexcept { return m_workers.size(); }

  template <typename F>
  auto submit(F&& fn) -> std::future<decltype(fn())> {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    auto fut = task->get_future();
    enqueue([task] { (*task)(); });
    return fut;
  }

  // Runs fn(i) for i in [0, n) on the pool and waits; rethrows the first exception (by index).
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

private:
  void enqueue(std::function<void()> job);
  void worker_loop();

  std::vector<std::thread> m_workers;
  std::queue<std::function<void()>> m_jobs;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
};

}  // namespace coral::core
