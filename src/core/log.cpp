#include "coral/core/log.hpp"

#include <atomic>
#include <memory>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace coral::core {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::warn)};

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
    case LogLevel::off: return spdlog::level::off;
  }
  return spdlog::level::warn;
}

std::shared_ptr<spdlog::logger>& logger_ptr() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("coral", sink);
    l->set_pattern("coral: %l: %v");
    l->set_level(spdlog::level::warn);
    return l;
  }();
  return logger;
}

}  // namespace

bool Logger::enabled(LogLevel level) const noexcept { return static_cast<int>(level) >= g_level.load(); }

void Logger::write(LogLevel level, const std::string& message) {
  logger_ptr()->log(to_spdlog(level), fmt::runtime("{}"), message);
}

Logger& log() {
  static Logger instance;
  return instance;
}

void configure_logging(LogLevel level, const std::string& log_file) {
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  stderr_sink->set_level(to_spdlog(level));
  stderr_sink->set_pattern("coral: %l: %v");
  std::vector<spdlog::sink_ptr> sinks{stderr_sink};
  LogLevel effective = level;
  if (!log_file.empty()) {
    auto file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file);
    file_sink->set_level(spdlog::level::debug);
    file_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%P] %l: %v");
    sinks.push_back(file_sink);
    effective = LogLevel::debug;
  }
  auto l = std::make_shared<spdlog::logger>("coral", sinks.begin(), sinks.end());
  l->set_level(spdlog::level::debug);
  logger_ptr() = l;
  g_level = static_cast<int>(effective);
}

}  // namespace coral::core
