#pragma once
// The one logger ("coral"), behind a thin facade so spdlog headers do not spread.
// Only cli/main.cpp configures sinks and levels. Library code never writes to stdout/stderr.

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace coral::core {

enum class LogLevel { debug, info, warn, error, off };

class Logger {
public:
  template <typename... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(LogLevel::debug)) write(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(LogLevel::info)) write(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(LogLevel::warn)) write(LogLevel::warn, fmt::format(f, std::forward<Args>(args)...));
  }
  bool enabled(LogLevel level) const noexcept;
  void write(LogLevel level, const std::string& message);
};

Logger& log();

// Configures the logger: stderr at `level`, plus a file sink at debug when log_file is non-empty.
void configure_logging(LogLevel level, const std::string& log_file);

}  // namespace coral::core
