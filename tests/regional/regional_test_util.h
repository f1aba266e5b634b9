#pragma once
// Helpers for the regional-office tests: the `vinculo` binary run against a real vinculo-server
// (tests/integration/server_process.h), in the background when a test must kill it mid-sync.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "client/local_store.h"
#include "tests/integration/server_process.h"

namespace vinculo::testing {

// Runs `argv`, reading its standard error line by line; `on_line` is called for each line and may
// return true to SIGKILL the process there. Standard output goes to `out_file`. Returns the wait
// status (WIFSIGNALED when killed).
inline int RunWatchingStderr(const std::vector<std::string>& argv, const std::string& out_file,
                             const std::function<bool(const std::string&)>& on_line) {
  int err_pipe[2];
  if (pipe(err_pipe) != 0) return -1;
  std::vector<char*> args = ExecArgs(argv);  // nothing allocated after fork (RunProcess)
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err_pipe[1], 2);
    close(err_pipe[0]);
    execv(args[0], args.data());
    _exit(127);
  }
  close(err_pipe[1]);
  FILE* err = fdopen(err_pipe[0], "r");
  char line[4096];
  bool killed = false;
  while (std::fgets(line, sizeof line, err) != nullptr) {
    if (!killed && on_line(line)) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  std::fclose(err);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// A device's home for the `vinculo` binary: init against `server`, login as `user`.
class CliDevice {
 public:
  CliDevice(const server::testing::TempDir& dir, const std::string& name, ServerProcess& server)
      : home_(dir / name), out_file_(dir / (name + ".out")) {
    EXPECT_EQ(Run({"init", "--server", server.url(), "--ca", server.ca()}), 0) << output_;
  }

  int Run(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv{VINCULO_CLI, "--home", home_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, input, &output_);
  }
  int Login(const std::string& user, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"login", "--username", user};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, ServerProcess::Password(user) + "\n");
  }

  // `vinculo sync ARGS...`, killed with SIGKILL after the progress line of page `kill_after_page`
  // (0: never). Returns the wait status; the pages seen are in pages().
  int SyncKilledAfter(int kill_after_page, std::vector<std::string> args = {}) {
    std::vector<std::string> argv{VINCULO_CLI, "--home", home_, "sync"};
    argv.insert(argv.end(), args.begin(), args.end());
    pages_ = 0;
    return RunWatchingStderr(argv, out_file_, [&](const std::string& line) {
      if (line.rfind("page ", 0) == 0) ++pages_;
      return kill_after_page > 0 && pages_ == kill_after_page;
    });
  }

  client::LocalStore Open() {
    Result<client::LocalStore> store = client::LocalStore::Open(home_ + "/store.db");
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return std::move(store).value();
  }

  const std::string& home() const { return home_; }
  const std::string& output() const { return output_; }
  int pages() const { return pages_; }

 private:
  std::string home_, out_file_, output_;
  int pages_ = 0;
};

}  // namespace vinculo::testing
