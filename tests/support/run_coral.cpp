#include "support/run_coral.hpp"

#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace coral::test {
namespace {

std::vector<std::string> hermetic_env(const RunOptions& o) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("CORAL_", 0) == 0 || kv.rfind("HOME=", 0) == 0 || kv.rfind("XDG_", 0) == 0 ||
        kv.rfind("NO_COLOR=", 0) == 0)
      continue;
    env.push_back(kv);
  }
  const std::string home = (o.cwd / ".home").string();
  env.push_back("HOME=" + home);
  env.push_back("XDG_CONFIG_HOME=" + home + "/.config");
  env.push_back("NO_COLOR=1");
  for (const auto& [k, v] : o.env) env.push_back(k + "=" + v);
  return env;
}

}  // namespace

std::string coral_bin() {
  const char* b = std::getenv("CORAL_BIN");
  if (!b || !*b) throw std::runtime_error("CORAL_BIN is not set (run the tests through ctest)");
  return b;
}

RunResult run_program(const std::vector<std::string>& argv, const RunOptions& o) {
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe(out_pipe) || ::pipe(err_pipe) || ::pipe(in_pipe)) throw std::runtime_error("pipe failed");
  const auto env = hermetic_env(o);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (!o.stdin_data.empty()) {
    (void)!::write(in_pipe[1], o.stdin_data.data(), o.stdin_data.size());
  }
  ::close(in_pipe[1]);
  RunResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

int spawn_coral(const std::vector<std::string>& args, const RunOptions& o) {
  std::vector<std::string> argv{coral_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto env = hermetic_env(o);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> cargs, envp;
    for (const auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
    cargs.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(cargs[0], cargs.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int kill_after(int pid, long micros, int signal) {
  const auto deadline = micros;
  long waited = 0;
  int status = 0;
  while (waited < deadline) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const long step = std::min(200L, deadline - waited);
    ::usleep(static_cast<useconds_t>(step));
    waited += step;
  }
  ::kill(pid, signal);
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

RunResult run_coral(const std::vector<std::string>& args, const RunOptions& o) {
  std::vector<std::string> argv{coral_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, o);
}

}  // namespace coral::test
