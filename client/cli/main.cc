// The `vinculo` program on a field worker's device: builds the command line from the command
// families (commands.h), parses it, runs the chosen command's action, and maps the outcome to an
// exit status. docs/cli.md describes every command.
//
// Exit statuses: see kExit* in context.h (a contract with scripts, e.g. the regional office's
// nightly job): 0 success, 1 failed, 2 usage, 3 server unreachable, 4 refused by the server,
// 5 synced but some changes were refused.
#include <CLI/CLI.hpp>
#include <iostream>

#include "client/cli/commands.h"
#include "client/cli/context.h"

namespace {

using vinculo::Error;


// The exit status of a command that failed with `error`. One place, so that a later command (sync)
// can give "try again later" its own status.
int ExitStatusFor(const Error& error) {
  using vinculo::ErrorCode;
  using namespace vinculo::client::cli;
  switch (error.code) {
    case ErrorCode::kUnavailable: return kExitUnreachable;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied: return kExitRefused;
    default: return kExitFailure;
  }
}

// How CLI11 reports a usage error: our prefix, then where to find help.
std::string UsageMessage(const CLI::App* /*app*/, const CLI::Error& e) {
  return std::string("error: ") + e.what() + "\nRun with --help for more information.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vinculo::client::cli;
  Context context(Environment::Real(), std::cout);

  CLI::App app(
      "Vínculo on a field worker's device: record children, families, contacts, home "
      "visits and placement changes offline; sync when there is signal.",
      "vinculo");
  app.failure_message(UsageMessage);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--home) may also follow a subcommand
  context.AddHomeOption(app);
  // Every subcommand inherits the footer set when it is added: add command families between the
  // two footers.
  app.footer("Global option: --home DIR (default: $VINCULO_HOME, else ~/.vinculo)");
  AddDeviceCommands(app, context);
  AddRecordCommands(app, context);
  AddSyncCommands(app, context);
  AddImportCommands(app, context);
  AddBundleCommands(app, context);
  AddQueryCommands(app, context);
  // The program's own help says more.
  app.footer(
      "Environment:\n"
      "  VINCULO_HOME  the store's directory when --home is not given (default ~/.vinculo)\n"
      "  VINCULO_NOW   an RFC 3339 instant to use as the current time (tests, demos)\n"
      "Exit status: 0 success, 1 the command failed, 2 usage error, 3 server unreachable,\n"
      "  4 refused by the server, 5 synced but some changes were refused.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e, std::cout, std::cerr);  // help and version exit 0
    return status == 0 ? 0 : kExitUsage;
  }
  if (!context.action()) return 0;  // every leaf command sets one; nothing to do otherwise
  vinculo::Status status = context.action()();
  if (!status.ok()) {
    std::cout.flush();
    std::cerr << "error: " << status.error().ToString() << '\n';
    return ExitStatusFor(status.error());
  }
  return context.exit_status();
}
