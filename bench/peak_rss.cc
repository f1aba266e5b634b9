// peak_rss RSS_FILE PROGRAM [ARGS...]
//
// Runs PROGRAM (with this process's standard input, output and error), waits for it, writes its
// peak resident set size in KiB (ru_maxrss) to RSS_FILE as one decimal line, and exits with its
// exit status (128 + the signal when it was killed; 127 when it could not be started).
//
// Why a separate process: Linux keeps ru_maxrss across execve, and a child made by fork() starts
// with its parent's whole resident set mapped. A benchmark that forks the program to be measured
// straight from its own process therefore reads its own peak (sync_bench holds ~500 MiB of
// records by the time it runs the pull), not the program's. This helper is a fresh, small
// process: what it forks carries only a few MiB, below anything the measured program reaches.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: peak_rss RSS_FILE PROGRAM [ARGS...]\n");
    return 2;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("peak_rss: fork");
    return 127;
  }
  if (pid == 0) {
    execv(argv[2], argv + 2);
    std::perror("peak_rss: exec");
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) {
    std::perror("peak_rss: wait4");
    return 127;
  }
  if (std::FILE* out = std::fopen(argv[1], "w"); out != nullptr) {
    std::fprintf(out, "%ld\n", usage.ru_maxrss);
    std::fclose(out);
  } else {
    std::perror("peak_rss: cannot write the RSS file");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127;
}
