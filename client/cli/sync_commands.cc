// login, sync: the commands that talk to the server (client/sync_client.h over HTTPS).

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "client/cli/token_file.h"
#include "client/https_transport.h"
#include "client/sync_client.h"

namespace vinculo::client::cli {
namespace {

// The password: the first line of standard input. On a terminal it is asked for without echo.
std::string ReadPassword() {
  const bool tty = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::cerr << "Password: " << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << '\n';
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::unique_ptr<Transport>> TransportFor(LocalStore& store) {
  Result<DeviceStatus> status = store.ReadStatus();
  if (!status) return status.error();
  return HttpsTransport::Create(status->server_url, status->ca_file);
}

void AddLoginCommand(CLI::App& app, Context& context) {
  auto username = std::make_shared<std::string>();
  auto token_file = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand(
      "login",
      "Log this device in to the server (the password is read from standard input) and keep its "
      "device token for sync");
  command->add_option("--username", *username, "Your user name on the server")
      ->required()
      ->type_name("NAME");
  command
      ->add_option("--token-file", *token_file,
                   "Also write the device token to FILE (mode 0600), for a sync service that "
                   "reads it from there (vinculo sync --token-file)")
      ->type_name("FILE");
  command->callback([&context, username, token_file] {
    context.SetAction([&context, username, token_file]() -> Status {
      Result<int64_t> now = context.NowMs();
      if (!now) return now.error();
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      const std::string password = ReadPassword();
      if (password.empty()) {
        return Error::InvalidArgument("is empty (read from standard input)", "password");
      }
      Result<std::unique_ptr<Transport>> transport = TransportFor(*store);
      if (!transport) return transport.error();
      Result<LoginResult> login = Login(**transport, *store, *username, password, *now);
      if (!login) return login.error();
      if (!token_file->empty()) {
        Result<std::string> token = store->Token();
        if (!token) return token.error();
        VINCULO_RETURN_IF_ERROR(WriteTokenFile(*token_file, *token));
      }
      context.out() << "logged in as " << login->username << " (" << login->role
                    << (login->region.empty() ? "" : ", region " + login->region) << ")\n";
      const int64_t minutes = login->clock_offset_ms / 60'000;
      if (minutes > 2 || minutes < -2) {
        std::cerr << "warning: this device's clock is " << (minutes > 0 ? minutes : -minutes)
                  << " minutes " << (minutes > 0 ? "behind" : "ahead of")
                  << " the server's; set the date and time, or writes may be refused\n";
      }
      return Status::Ok();
    });
  });
}

void AddSyncCommand(CLI::App& app, Context& context) {
  struct Args {
    size_t push_batch = 500;
    uint32_t pull_limit = 1000;
    bool quiet = false;
    int retries = 5;
    double max_backoff_s = 60;
    std::string token_file;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command = app.add_subcommand(
      "sync",
      "Push every pending change to the server and pull every change waiting, in pages; print "
      "one line: pushed, pulled, rejected, conflicts");
  command->add_option("--batch", args->push_batch, "Changes pushed per request")
      ->check(CLI::Range(1, 5000))
      ->capture_default_str();
  command->add_option("--page", args->pull_limit, "Changes pulled per request")
      ->check(CLI::Range(1, 5000))
      ->capture_default_str();
  command->add_flag("--quiet", args->quiet, "No progress lines, only the summary");
  command
      ->add_option("--retries", args->retries,
                   "Times one request is sent again after a transient failure (server "
                   "unreachable, 5xx, 429 with Retry-After), with exponential backoff and jitter")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  command
      ->add_option("--max-backoff", args->max_backoff_s,
                   "The longest wait between retries, in seconds (also caps a Retry-After)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str()
      ->type_name("SECONDS");
  command
      ->add_option("--token-file", args->token_file,
                   "Read the device token from FILE (mode 0600 or stricter) instead of the store")
      ->type_name("FILE");
  command->callback([&context, args] {
    context.SetAction([&context, args]() -> Status {
      std::string token;
      if (!args->token_file.empty()) {
        Result<std::string> read = ReadTokenFile(args->token_file);
        if (!read) return read.error();
        token = *read;
      }
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      Result<std::unique_ptr<Transport>> transport = TransportFor(*store);
      if (!transport) return transport.error();
      const bool tty = isatty(STDERR_FILENO) != 0;
      SyncOptions options{.push_batch = args->push_batch, .pull_limit = args->pull_limit};
      options.token = token;
      options.retry.max_retries = args->retries;
      options.retry.max_backoff_ms = static_cast<int64_t>(args->max_backoff_s * 1000);
      options.retry.initial_backoff_ms = std::min<int64_t>(1000, options.retry.max_backoff_ms);
      options.retry.on_retry = [tty](int retry, int64_t wait_ms, const Error& error) {
        // Always said, also with --quiet: a log must show why a night's sync took long.
        std::fprintf(stderr, "%sretry %d in %.1f s: %s\n", tty ? "\n" : "", retry,
                     static_cast<double>(wait_ms) / 1000, error.ToString().c_str());
      };
      if (!args->quiet) {
        options.on_progress = [tty](const SyncProgress& p) {
          // On a terminal one line updated in place; in a log, one line a page.
          std::fprintf(stderr, "%spage %u: pushed %llu, pulled %llu, rejected %llu%s",
                       tty ? "\r" : "", p.round, static_cast<unsigned long long>(p.pushed),
                       static_cast<unsigned long long>(p.pulled),
                       static_cast<unsigned long long>(p.rejected), tty ? "" : "\n");
        };
      }
      Result<SyncSummary> summary = Sync(**transport, *store, options, [&context] {
        Result<int64_t> now = context.NowMs();
        return now ? *now : 0;
      });
      if (tty && !args->quiet) std::fprintf(stderr, "\n");
      if (!summary) return summary.error();
      context.out() << SyncSummaryLine(*summary) << '\n';
      if (summary->rejected > 0) {
        std::cerr << "warning: " << summary->rejected
                  << " change(s) were refused by the server; see vinculo status\n";
        context.SetExitStatus(kExitSyncedWithRejections);
      }
      return Status::Ok();
    });
  });
}

}  // namespace

void AddSyncCommands(CLI::App& app, Context& context) {
  AddLoginCommand(app, context);
  AddSyncCommand(app, context);
}

}  // namespace vinculo::client::cli
