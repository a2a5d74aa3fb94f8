// coral's entry point: parse, set up logging, run one verb. The only catch-all in coral
// (STYLE.md §3): every error becomes `coral: error: ...` and an exit code from one table
// (docs/cli.md "Exit status").
#include "output.hpp"
#include "parser.hpp"
#include "verb.hpp"

#include "coral/core/error.hpp"
#include "coral/core/log.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using coral::core::LogLevel;

constexpr int k_exit_internal = 70;
constexpr int k_exit_interrupted = 130;

// SIGINT: leave at once. Every write coral makes is published by rename, so what an interrupt
// leaves behind is temp files for gc; flock()s die with the process.
extern "C" void on_interrupt(int) { ::_exit(k_exit_interrupted); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
}

std::optional<LogLevel> parse_level(const char* s) {
  if (!s || !*s) return std::nullopt;
  const std::string v = s;
  if (v == "debug") return LogLevel::debug;
  if (v == "info") return LogLevel::info;
  if (v == "warn" || v == "warning") return LogLevel::warn;
  if (v == "error") return LogLevel::error;
  if (v == "off") return LogLevel::off;
  return std::nullopt;
}

// warn by default; -v info, -vv debug, -q error; CORAL_LOG_LEVEL when no flag says otherwise.
void setup_logging(const coral::cli::GlobalOptions& g) {
  LogLevel level = LogLevel::warn;
  if (const auto env = parse_level(std::getenv("CORAL_LOG_LEVEL"))) level = *env;
  if (g.quiet) level = LogLevel::error;
  else if (g.verbosity >= 2) level = LogLevel::debug;
  else if (g.verbosity == 1) level = LogLevel::info;
  const char* file = std::getenv("CORAL_LOG_FILE");
  coral::core::configure_logging(level, file ? file : "");
}

void print_error(const coral::Error& e, int verbosity) {
  std::fprintf(stderr, "coral: error: %s\n", e.what());
  if (!e.hint().empty()) std::fprintf(stderr, "hint: %s\n", e.hint().c_str());
  if (!e.detail().empty() && verbosity > 0) std::fprintf(stderr, "detail: %s\n", e.detail().c_str());
}

void change_directory(const std::string& dir) {
  if (dir.empty()) return;
  if (::chdir(dir.c_str()) == 0) return;
  const int err = errno;
  const std::string message = "cannot change to '" + dir + "': " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) throw coral::NotFoundError(message);
  throw coral::IoError(message);
}

int run(const std::vector<coral::cli::VerbSpec>& verbs, const std::vector<std::string>& args,
        coral::cli::GlobalOptions& globals) {
  using Action = coral::cli::Invocation::Action;
  const auto inv = coral::cli::parse_command_line(verbs, args);
  globals = inv.globals;
  switch (inv.action) {
    case Action::version: std::printf("coral %s\n", CORAL_VERSION); return 0;
    case Action::help: std::fputs(inv.text.c_str(), stdout); return 0;
    case Action::usage: std::fputs(inv.text.c_str(), stderr); return 2;
    case Action::run: break;
  }
  setup_logging(globals);
  change_directory(globals.directory);
  coral::cli::Output out(globals.json, globals.quiet);
  return inv.verb->run(globals, out);
}

}  // namespace

int main(int argc, char** argv) {
  // Tensor buffers are large and short-lived. Keep freed ones in the heap for reuse instead of
  // returning them to the kernel: first-touch page faults otherwise dominate checkout time.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  install_signal_handlers();
  coral::cli::GlobalOptions globals;
  try {
    const auto verbs = coral::cli::make_verbs();
    return run(verbs, std::vector<std::string>(argv + 1, argv + argc), globals);
  } catch (const coral::Error& e) {
    print_error(e, globals.verbosity);
    if (std::getenv("CORAL_LOG_FILE")) coral::core::log().debug("error: {} ({})", e.what(), e.detail());
    return coral::exit_code_for(e.kind());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "coral: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coral: internal error: %s\nhint: this is a bug in coral; please report it\n", e.what());
    return k_exit_internal;
  } catch (...) {
    std::fprintf(stderr, "coral: internal error: unknown exception\n");
    return k_exit_internal;
  }
}
