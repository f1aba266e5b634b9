#include "client/cli/context.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>

#include "common/civil_time.h"

namespace vinculo::client::cli {

namespace fs = std::filesystem;

Environment Environment::Real() {
  return {
      .getenv = [](const char* name) -> std::optional<std::string> {
        const char* value = std::getenv(name);
        if (value == nullptr) return std::nullopt;
        return std::string(value);
      },
      .system_clock_ms =
          [] {
            return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
          },
  };
}

Context::Context(Environment env, std::ostream& out) : env_(std::move(env)), out_(out) {}

void Context::AddHomeOption(CLI::App& app) {
  app.add_option("--home", home_flag_,
                 "Directory of this device's Vínculo store (default: $VINCULO_HOME, else "
                 "~/.vinculo)")
      ->type_name("DIR");
}

Result<fs::path> Context::Home() const {
  if (!home_flag_.empty()) return fs::path(home_flag_);
  if (std::optional<std::string> home = env_.getenv("VINCULO_HOME"); home && !home->empty()) {
    return fs::path(*home);
  }
  if (std::optional<std::string> home = env_.getenv("HOME"); home && !home->empty()) {
    return fs::path(*home) / ".vinculo";
  }
  return Error::FailedPrecondition(
      "no home directory for the store: pass --home DIR or set VINCULO_HOME");
}

Result<LocalStore> Context::OpenStore() const {
  Result<fs::path> home = Home();
  if (!home) return home.error();
  Result<LocalStore> store = LocalStore::Open((*home / kStoreFileName).string());
  if (!store && store.error().code == ErrorCode::kNotFound) {
    return Error::NotFound("no Vínculo store in " + home->string() + ": run vinculo init");
  }
  return store;
}

Result<int64_t> Context::NowMs() const {
  std::optional<std::string> fixed = env_.getenv("VINCULO_NOW");
  if (!fixed || fixed->empty()) return env_.system_clock_ms();
  std::optional<int64_t> ms = ParseTimestamp(*fixed);
  if (!ms) {
    return Error::InvalidArgument("must be an RFC 3339 instant, e.g. 2026-06-03T10:15:00-05:00",
                                  "VINCULO_NOW");
  }
  return *ms;
}

void ThrowUsageError(const std::string& option, const std::string& message) {
  throw CLI::ValidationError(option, message);
}

}  // namespace vinculo::client::cli
