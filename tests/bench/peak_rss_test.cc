// bench/peak_rss: the peak RSS it reports is the measured program's own, not that of the large
// process that started it (the cause of sync_bench's 497 MiB "client RSS", docs/performance.md).

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace vinculo::bench {
namespace {

namespace fs = std::filesystem;

constexpr size_t kParentBytes = 256u << 20;  // what the starting process holds resident

struct ChildRun {
  int status = -1;
  long wait4_rss_kb = 0;  // ru_maxrss of the forked child, as wait4 gives it
};

// Forks and execs argv from this (large) process, as sync_bench does.
ChildRun ForkExec(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  ChildRun run;
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.wait4_rss_kb = usage.ru_maxrss;
  return run;
}

class PeakRss : public ::testing::Test {
 protected:
  void SetUp() override {
    ballast_.reset(new char[kParentBytes]);
    std::memset(ballast_.get(), 1, kParentBytes);  // resident, not just reserved
    rss_file_ = fs::temp_directory_path() / ("peak_rss_test." + std::to_string(getpid()));
  }
  void TearDown() override { fs::remove(rss_file_); }

  long Reported() {
    std::ifstream in(rss_file_);
    long kb = -1;
    in >> kb;
    return kb;
  }

  std::unique_ptr<char[]> ballast_;
  fs::path rss_file_;
};

TEST_F(PeakRss, ReportsTheProgramNotTheProcessThatStartedIt) {
  const ChildRun run = ForkExec({VINCULO_PEAK_RSS, rss_file_.string(), "/bin/true"});
  ASSERT_EQ(run.status, 0);
  // What wait4 alone would have said: the parent's 256 MiB.
  EXPECT_GE(run.wait4_rss_kb, static_cast<long>(kParentBytes / 1024));
  const long kb = Reported();
  ASSERT_GT(kb, 0);
  EXPECT_LT(kb, 64 * 1024) << "peak_rss reported " << kb << " KiB for /bin/true";
}

TEST_F(PeakRss, SeesWhatTheProgramUses) {
  // A shell holding a 48 MB string in a variable.
  const ChildRun run = ForkExec({VINCULO_PEAK_RSS, rss_file_.string(), "/bin/sh", "-c",
                                 "x=$(head -c 48000000 /dev/zero | tr '\\000' a); exit 3"});
  EXPECT_EQ(run.status, 3);  // the program's exit status passes through
  EXPECT_GE(Reported(), 48000000 / 1024);
}

TEST_F(PeakRss, ProgramThatCannotStartExits127) {
  const ChildRun run = ForkExec({VINCULO_PEAK_RSS, rss_file_.string(), "/nonexistent/program"});
  EXPECT_EQ(run.status, 127);
}

}  // namespace
}  // namespace vinculo::bench
