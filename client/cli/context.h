#pragma once
// What every command of the `vinculo` program shares: where the store lives (--home), opening it,
// the current time, and where output goes. A command parses its arguments while CLI11 parses the
// command line, and leaves its work as an Action that main runs once the whole line parsed, so
// that a usage error never leaves half a command done.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "client/local_store.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace vinculo::client::cli {

// The process's surroundings, behind functions so that a test can stand in for them.
struct Environment {
  // The value of an environment variable; nullopt when unset.
  std::function<std::optional<std::string>(const char* name)> getenv;
  // Unix milliseconds of the system clock.
  std::function<int64_t()> system_clock_ms;

  // The real environment and clock of this process.
  static Environment Real();
};

// Exit statuses: a contract with scripts (the regional office's nightly sync acts on them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;               // the command failed ("error: ..." on stderr)
inline constexpr int kExitUsage = 2;                 // unknown command or flag, bad value
inline constexpr int kExitUnreachable = 3;           // the server could not be reached: try later
inline constexpr int kExitRefused = 4;               // the server refused: log in again, or ask
                                                     // the administrator (revoked, disabled)
inline constexpr int kExitSyncedWithRejections = 5;  // synced, but some changes were refused

// A command's work, run after the command line parsed. An Error is printed as "error: ..." and
// becomes exit status 1; nothing is printed for Ok.
using Action = std::function<Status()>;

// The name of the store file inside the home directory. STORED ON DISK.
inline constexpr char kStoreFileName[] = "store.db";

class Context {
 public:
  // `out` receives the commands' normal output; it must outlive the Context.
  Context(Environment env, std::ostream& out);

  // Adds the global --home option to `app`.
  void AddHomeOption(CLI::App& app);

  // The home directory: --home, else $VINCULO_HOME, else $HOME/.vinculo. FailedPrecondition when
  // none of them is set.
  Result<std::filesystem::path> Home() const;

  // Opens the store in Home(). NotFound "no Vínculo store in DIR: run vinculo init" when there is
  // none; the store's own error (DataLoss for a file that is not a store or is damaged,
  // FailedPrecondition for a newer one) otherwise. Never creates or modifies a file on failure.
  Result<LocalStore> OpenStore() const;

  // Now, in Unix milliseconds: $VINCULO_NOW (an RFC 3339 instant, for tests and demos) when set,
  // else the system clock. InvalidArgument naming VINCULO_NOW when it is set but not an instant.
  Result<int64_t> NowMs() const;

  std::ostream& out() const { return out_; }

  // Leaves `action` to run after parsing. One command line runs one action: a later call replaces
  // an earlier one.
  void SetAction(Action action) { action_ = std::move(action); }
  const Action& action() const { return action_; }

  // The exit status of an action that succeeded (kExitOk unless the action says otherwise).
  void SetExitStatus(int status) { exit_status_ = status; }
  int exit_status() const { return exit_status_; }

 private:
  Environment env_;
  std::ostream& out_;
  std::string home_flag_;  // bound to --home; empty when not given
  Action action_;
  int exit_status_ = kExitOk;
};

// Stops parsing with a usage error (exit status 2): `option` (e.g. "--json") and what is wrong.
// Call only while CLI11 parses (from a command's callback): CLI11 reports its errors as exceptions,
// and main turns them into a message and an exit status.
[[noreturn]] void ThrowUsageError(const std::string& option, const std::string& message);

}  // namespace vinculo::client::cli
