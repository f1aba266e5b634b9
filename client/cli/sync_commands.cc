// login, sync: the commands that talk to the server (client/sync_client.h over HTTPS).

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/commands.h"
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
  CLI::App* command = app.add_subcommand(
      "login",
      "Log this device in to the server (the password is read from standard input) and keep its "
      "device token for sync");
  command->add_option("--username", *username, "Your user name on the server")
      ->required()
      ->type_name("NAME");
  command->callback([&context, username] {
    context.SetAction([&context, username]() -> Status {
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
  command->callback([&context, args] {
    context.SetAction([&context, args]() -> Status {
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      Result<std::unique_ptr<Transport>> transport = TransportFor(*store);
      if (!transport) return transport.error();
      const bool tty = isatty(STDERR_FILENO) != 0;
      SyncOptions options{.push_batch = args->push_batch, .pull_limit = args->pull_limit};
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
