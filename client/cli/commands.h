#pragma once
// The command families of the `vinculo` program. Each Add…Commands function adds its subcommands
// to the app; main.cc calls each in turn. A new family (login, sync, query) is one more file
// defining one more Add…Commands function, declared here and called from main.cc.
//
// A command's callback runs once CLI11 has parsed and checked the whole command line. It turns its
// arguments into values (a bad value: ThrowUsageError, exit status 2) and leaves the work as the
// context's Action (an Error: exit status 1). `context` outlives the app.

#include "client/cli/context.h"

namespace CLI {
class App;
}

namespace vinculo::client::cli {

// init, status, caseload, export: the device and its store as a whole.
void AddDeviceCommands(CLI::App& app, Context& context);

// child|family|contact|visit|placement × add|update|delete|show|list.
void AddRecordCommands(CLI::App& app, Context& context);

// login, sync: the commands that talk to the server.
void AddSyncCommands(CLI::App& app, Context& context);

// import: records from a CSV file (paper forms typed into a spreadsheet), in one transaction.
void AddImportCommands(CLI::App& app, Context& context);

// bundle export: the pending changes in one encrypted, authenticated file, for a server that
// cannot be reached (carried on a USB stick; `vinculo-server bundle import` applies it).
void AddBundleCommands(CLI::App& app, Context& context);

// query visits|caseload|overdue|outcomes|conflicts, conflicts resolve: supervisors' questions.
void AddQueryCommands(CLI::App& app, Context& context);

}  // namespace vinculo::client::cli
