#pragma once
// The progress bar on stderr: drawn only when stderr is a terminal, only once the work has run
// for about half a second, at most ten times a second. No colours (NO_COLOR is respected by
// never using any). Thread-safe: library code may report from worker threads.

#include "coral/core/progress.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>

namespace coral::cli {

class ProgressBar {
public:
  explicit ProgressBar(bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(const core::Progress& p);
  // Erases the bar (before results or errors are printed).
  void finish();

  // True when stderr is a terminal.
  static bool stderr_is_terminal();

private:
  using Clock = std::chrono::steady_clock;
  bool m_enabled;
  Clock::time_point m_start;
  Clock::time_point m_last_draw;
  std::size_t m_drawn_width = 0;
  std::mutex m_mutex;
};

}  // namespace coral::cli
