#pragma once
// A real vinculo-server process for integration tests: certificates made by deploy/make-certs.sh,
// users added with `vinculo-server user add`, `serve` on 127.0.0.1 with an ephemeral port, stopped
// with SIGTERM or killed with SIGKILL, restartable on the same data directory.
// VINCULO_SERVER and VINCULO_MAKE_CERTS are the paths of the binary and the script (set by CMake).

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/server_test_util.h"

namespace vinculo::testing {

// Runs `argv` to completion with `input` on standard input; returns the exit status and fills
// `output` with standard output and error.
// argv as execv takes it: pointers into `argv`, which must outlive them, and a null at the end.
inline std::vector<char*> ExecArgs(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

inline int RunProcess(const std::vector<std::string>& argv, const std::string& input,
                      std::string* output = nullptr) {
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return -1;
  // Everything the child needs is made before fork: in a parent with other threads, the child may
  // call only async-signal-safe functions until execv, and an allocation can wait forever for a
  // lock another thread held at the fork (it did, under ASan, in a backup test).
  std::vector<char*> args = ExecArgs(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    close(in_pipe[1]);
    close(out_pipe[0]);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (!input.empty()) (void)!write(in_pipe[1], input.data(), input.size());
  close(in_pipe[1]);
  std::string collected;
  char buffer[4096];
  for (ssize_t n; (n = read(out_pipe[0], buffer, sizeof buffer)) > 0;) collected.append(buffer, n);
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (output != nullptr) *output = collected;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ServerProcess {
 public:
  // `extra`: more `serve` flags. `names`: what the server certificate names.
  explicit ServerProcess(const server::testing::TempDir& dir, std::vector<std::string> extra = {},
                         std::vector<std::string> names = {"localhost", "127.0.0.1"})
      : data_(dir / "data"), certs_(dir / "certs"), log_(dir / "server.log"),
        port_file_(dir / "port"), extra_(std::move(extra)) {
    std::vector<std::string> argv{"/bin/bash", VINCULO_MAKE_CERTS, certs_};
    argv.insert(argv.end(), names.begin(), names.end());
    std::string out;
    EXPECT_EQ(RunProcess(argv, "", &out), 0) << out;
  }
  ~ServerProcess() { Stop(); }

  // `vinculo-server ARGS... --data DATA`; returns the exit status.
  int Admin(std::vector<std::string> args, const std::string& input = "",
            std::string* output = nullptr) {
    std::vector<std::string> argv{VINCULO_SERVER};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--data");
    argv.push_back(data_);
    return RunProcess(argv, input, output);
  }

  void AddUser(const std::string& name, const std::string& role, const std::string& region) {
    std::vector<std::string> args{"user", "add", "--username", name, "--role", role};
    if (!region.empty()) {
      args.push_back("--region");
      args.push_back(region);
    }
    std::string out;
    EXPECT_EQ(Admin(args, Password(name) + "\n", &out), 0) << out;
  }
  static std::string Password(const std::string& name) { return "secreto-" + name; }

  // Starts `serve` (on the previous port when restarting, so clients reach it again) and waits
  // until it listens.
  void Start() {
    std::remove(port_file_.c_str());
    std::vector<std::string> argv{VINCULO_SERVER, "serve", "--data", data_,
                                  "--listen", "127.0.0.1:" + std::to_string(port_),
                                  "--cert", certs_ + "/server.pem", "--key", certs_ + "/server.key",
                                  "--port-file", port_file_};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    // As in RunProcess, nothing is allocated between fork and execv.
    std::vector<char*> args = ExecArgs(argv);
    const int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(log, 1);  // dup2 clears O_CLOEXEC on the copies
      dup2(log, 2);
      execv(args[0], args.data());
      _exit(127);
    }
    if (log >= 0) close(log);
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(port_file_);
      int port = 0;
      if (in >> port && port > 0) {
        port_ = static_cast<uint16_t>(port);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "vinculo-server did not start; see " << log_;
  }

  // SIGTERM and wait: in-flight requests finish, the store closes.
  int Stop() { return Signal(SIGTERM); }
  // SIGKILL: the crash.
  int Kill() { return Signal(SIGKILL); }

  uint16_t port() const { return port_; }
  // The running server's process id (for /proc/PID/status), or -1 when it is not running.
  pid_t pid() const { return pid_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string ca() const { return certs_ + "/ca.pem"; }
  const std::string& data_dir() const { return data_; }
  const std::string& log_path() const { return log_; }

 private:
  int Signal(int sig) {
    if (pid_ <= 0) return 0;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  std::string data_, certs_, log_, port_file_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace vinculo::testing
