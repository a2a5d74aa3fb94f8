#include "progress_bar.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace coral::cli {
namespace {

constexpr auto k_delay = std::chrono::milliseconds(500);
constexpr auto k_interval = std::chrono::milliseconds(100);
constexpr std::size_t k_bar_width = 30;

void write_stderr(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

ProgressBar::ProgressBar(bool enabled) : m_enabled(enabled), m_start(Clock::now()), m_last_draw() {}

ProgressBar::~ProgressBar() { finish(); }

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void ProgressBar::update(const core::Progress& p) {
  if (!m_enabled) return;
  const auto now = Clock::now();
  std::lock_guard lock(m_mutex);
  if (now - m_start < k_delay || now - m_last_draw < k_interval) return;
  m_last_draw = now;
  std::string line;
  if (p.total > 0) {
    const double frac = std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total));
    const auto filled = static_cast<std::size_t>(frac * k_bar_width);
    line = fmt::format("{} [{}{}] {:3.0f}%", p.phase, std::string(filled, '#'), std::string(k_bar_width - filled, '.'),
                       frac * 100.0);
  } else {
    line = fmt::format("{}: {}", p.phase, p.done);
  }
  const std::size_t width = line.size();
  if (line.size() < m_drawn_width) line.append(m_drawn_width - line.size(), ' ');
  m_drawn_width = width;
  write_stderr("\r" + line);
}

void ProgressBar::finish() {
  std::lock_guard lock(m_mutex);
  if (m_drawn_width == 0) return;
  write_stderr("\r" + std::string(m_drawn_width, ' ') + "\r");
  m_drawn_width = 0;
}

}  // namespace coral::cli
