#pragma once
// Runs the built coral binary (CORAL_BIN) in a hermetic environment: HOME and XDG_* point into
// the test's directory, every CORAL_* variable is unset, NO_COLOR=1.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace coral::test {

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

struct RunOptions {
  std::filesystem::path cwd;                  // required
  std::map<std::string, std::string> env;     // extra variables
  std::string stdin_data;
};

std::string coral_bin();
RunResult run_coral(const std::vector<std::string>& args, const RunOptions& options);
// Starts coral in the background (stdout/stderr to /dev/null); returns its pid.
int spawn_coral(const std::vector<std::string>& args, const RunOptions& options);
// Sends `signal` (default SIGKILL) to a spawned process after `micros` microseconds if it still
// runs, and reaps it. Returns its exit code, or 128+N when a signal N ended it.
int kill_after(int pid, long micros, int signal = 9);
// Runs any program the same way (for python3, h5dump, ...).
RunResult run_program(const std::vector<std::string>& argv, const RunOptions& options);

}  // namespace coral::test
