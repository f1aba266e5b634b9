// init, status, caseload, export: the device and its store as a whole.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "client/cli/commands.h"
#include "client/cli/json.h"
#include "client/cli/text_output.h"
#include "common/civil_time.h"
#include "common/record.h"
#include "common/validate.h"

namespace vinculo::client::cli {
namespace {

namespace fs = std::filesystem;

// Makes the home directory when it is missing, readable by its owner only (it will hold children's
// data); an existing directory is left as it is.
Status MakeHome(const fs::path& home) {
  std::error_code ec;
  const bool created = fs::create_directories(home, ec);
  if (ec) return Error::FailedPrecondition("cannot create " + home.string() + ": " + ec.message());
  if (created) {
    fs::permissions(home, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) {
      return Error::FailedPrecondition("cannot restrict " + home.string() +
                                       " to its owner: " + ec.message());
    }
  }
  return Status::Ok();
}

void AddInitCommand(CLI::App& app, Context& context) {
  struct Args {
    std::string server;
    std::string ca;
    std::string device_id;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command =
      app.add_subcommand("init",
                         "Create this device's store in the home directory and print the device id "
                         "(works offline: the server is only remembered)");
  command
      ->add_option("--server", args->server,
                   "The Vínculo server's URL, e.g. https://vinculo.example.org:8443")
      ->required()
      ->type_name("URL")
      ->check(CLI::Validator(
          [](std::string& url) -> std::string {
            if (url.starts_with("https://") && url.size() > 8) return {};
            return "'" + url + "' is not an https:// URL";
          },
          ""));
  command
      ->add_option("--ca", args->ca, "The CA certificate (PEM) that signs the server's certificate")
      ->required()
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  command
      ->add_option("--device-id", args->device_id,
                   "This device's id, as given at enrolment (default: a new UUIDv7)")
      ->type_name("UUID")
      ->check(CLI::Validator(
          [](std::string& id) -> std::string {
            if (IsUuid(id)) return {};
            return "'" + id + "' is not a UUID (lowercase 8-4-4-4-12 hex)";
          },
          ""));

  command->callback([&context, args] {
    context.SetAction([&context, args]() -> Status {
      Result<int64_t> now = context.NowMs();
      if (!now) return now.error();
      Result<fs::path> home = context.Home();
      if (!home) return home.error();
      const fs::path path = *home / kStoreFileName;
      std::error_code ec;
      if (fs::symlink_status(path, ec).type() != fs::file_type::not_found) {
        return Error::AlreadyExists("a store already exists at " + path.string() +
                                    "; vinculo init never overwrites one");
      }
      VINCULO_RETURN_IF_ERROR(MakeHome(*home));
      // Absolute, so that the store still finds it from another working directory.
      const std::string ca = fs::absolute(args->ca, ec).string();
      Result<LocalStore> store = LocalStore::Create(path.string(),
                                                    {.server_url = args->server,
                                                     .ca_file = ca.empty() ? args->ca : ca,
                                                     .device_id = args->device_id},
                                                    *now);
      if (!store) return store.error();
      context.out() << store->device_id() << '\n';
      return Status::Ok();
    });
  });
}

// `vinculo status --json`: one object, keys in a fixed order.
std::string StatusJson(const DeviceStatus& s, const std::vector<RejectedMutation>& rejected) {
  std::string items;
  for (const RejectedMutation& r : rejected) {
    items += std::string(items.empty() ? "" : ",") +
             "{\"seq\":" + std::to_string(r.mutation.seq()) +
             ",\"kind\":" + JsonQuote(RecordTypeName(TypeOf(r.mutation.record()))) +
             ",\"recordId\":" + JsonQuote(RecordId(r.mutation.record())) +
             ",\"code\":" + JsonQuote(r.code) + ",\"field\":" + JsonQuote(r.field) +
             ",\"message\":" + JsonQuote(r.message) +
             ",\"rejectedAt\":" + JsonQuote(UtcTimestamp(r.rejected_ms)) + "}";
  }
  return "{\"deviceId\":" + JsonQuote(s.device_id) + ",\"server\":" + JsonQuote(s.server_url) +
         ",\"caFile\":" + JsonQuote(s.ca_file) + ",\"user\":" + JsonQuote(s.username) +
         ",\"pending\":" + std::to_string(s.pending) +
         ",\"ackedSeq\":" + std::to_string(s.acked_seq) +
         ",\"nextSeq\":" + std::to_string(s.next_seq) + ",\"cursor\":" + std::to_string(s.cursor) +
         ",\"lastSyncAt\":" + JsonQuote(s.last_sync_ms == 0 ? "" : UtcTimestamp(s.last_sync_ms)) +
         ",\"lastSyncResult\":" + JsonQuote(s.last_sync_result) +
         ",\"records\":" + std::to_string(s.records) + ",\"rejected\":[" + items + "]}\n";
}

// `vinculo status`: one "name: value" line each, then one line per rejected mutation.
void WriteStatusText(std::ostream& out, const DeviceStatus& s,
                     const std::vector<RejectedMutation>& rejected) {
  std::string last_sync = "never";
  if (s.last_sync_ms != 0) {
    last_sync = UtcTimestamp(s.last_sync_ms);
    if (!s.last_sync_result.empty()) last_sync += " (" + s.last_sync_result + ")";
  }
  out << "device:     " << s.device_id << '\n'
      << "server:     " << s.server_url << '\n'
      << "ca:         " << s.ca_file << '\n'
      << "user:       " << (s.username.empty() ? "not logged in" : s.username) << '\n'
      << "pending:    " << s.pending << (s.pending == 1 ? " change" : " changes")
      << " waiting to be pushed\n"
      << "last sync:  " << last_sync << '\n'
      << "records:    " << s.records << '\n'
      << "rejected:   " << (rejected.empty() ? "none" : std::to_string(rejected.size())) << '\n';
  for (const RejectedMutation& r : rejected) {
    out << "  seq " << r.mutation.seq() << "  " << RecordTypeName(TypeOf(r.mutation.record()))
        << ' ' << RecordId(r.mutation.record()) << "  " << r.code << "  "
        << (r.field.empty() ? r.message : r.field + ": " + r.message) << '\n';
  }
}

void AddStatusCommand(CLI::App& app, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "status", "Show this device: id, server, user, pending changes, last sync, rejected changes");
  command->add_flag("--json", *json, "Print one JSON object");
  command->callback([&context, json] {
    context.SetAction([&context, json]() -> Status {
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      Result<DeviceStatus> status = store->ReadStatus();
      if (!status) return status.error();
      Result<std::vector<RejectedMutation>> rejected = store->Rejected();
      if (!rejected) return rejected.error();
      if (*json) {
        context.out() << StatusJson(*status, *rejected);
      } else {
        WriteStatusText(context.out(), *status, *rejected);
      }
      return Status::Ok();
    });
  });
}

// The OVERDUE cell of a caseload line.
std::string OverdueText(const CaseloadEntry& e) {
  if (!e.overdue) return {};
  if (e.next_visit_due.empty()) return "OVERDUE (never visited)";
  return "OVERDUE " + std::to_string(e.days_overdue) + (e.days_overdue == 1 ? " day" : " days");
}

// `vinculo caseload --json`: an array, one case a line.
Result<std::string> CaseloadJson(const std::vector<CaseloadEntry>& caseload) {
  std::vector<std::string> elements;
  for (const CaseloadEntry& e : caseload) {
    Result<std::string> child = ToJson(e.child);
    if (!child) return child.error();
    elements.push_back("{\"child\":" + *child + ",\"lastVisitAt\":" + JsonQuote(e.last_visit_at) +
                       ",\"nextVisitDue\":" + JsonQuote(e.next_visit_due) +
                       ",\"overdue\":" + (e.overdue ? "true" : "false") +
                       ",\"daysOverdue\":" + std::to_string(e.days_overdue) + "}");
  }
  return JsonArrayLines(elements);
}

// `vinculo caseload`: a table in the store's order (overdue first). The last visit shows the date
// as written in visited_at (the worker's local date).
void WriteCaseloadTable(std::ostream& out, const std::vector<CaseloadEntry>& caseload) {
  Table table({"CHILD", "STATUS", "PLACEMENT", "LAST VISIT", "NEXT DUE", "OVERDUE", "ID"});
  for (const CaseloadEntry& e : caseload) {
    std::string name = e.child.given_name();
    if (!e.child.family_name().empty()) name += " " + e.child.family_name();
    table.AddRow({name, SetFieldText(e.child, v1::Child::kStatusFieldNumber),
                  SetFieldText(e.child, v1::Child::kPlacementFieldNumber),
                  e.last_visit_at.substr(0, 10), e.next_visit_due, OverdueText(e), e.child.id()});
  }
  table.Write(out);
}

void AddCaseloadCommand(CLI::App& app, Context& context) {
  auto today = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "caseload", "List the open cases, overdue visits first, with the last visit and next due");
  command
      ->add_option("--today", *today, "The date to count overdue days from (default: today, UTC)")
      ->type_name("YYYY-MM-DD")
      ->check(CLI::Validator(
          [](std::string& date) -> std::string {
            return IsDate(date) ? "" : "'" + date + "' is not a date YYYY-MM-DD";
          },
          ""));
  command->add_flag("--json", *json, "Print a JSON array, one case per line");
  command->callback([&context, today, json] {
    context.SetAction([&context, today, json]() -> Status {
      std::string day = *today;
      if (day.empty()) {
        Result<int64_t> now = context.NowMs();
        if (!now) return now.error();
        day = UtcDate(*now);
      }
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      Result<std::vector<CaseloadEntry>> caseload = store->Caseload(day);
      if (!caseload) return caseload.error();
      if (*json) {
        Result<std::string> text = CaseloadJson(*caseload);
        if (!text) return text.error();
        context.out() << *text;
      } else {
        WriteCaseloadTable(context.out(), *caseload);
      }
      return Status::Ok();
    });
  });
}

void AddExportCommand(CLI::App& app, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "export", "Print every record held here with its field stamps, deleted ones included");
  command->add_flag("--json", *json,
                    "JSON array of RecordState objects, one per line, in kind then id order "
                    "(required: the only format for now)");
  command->callback([&context, json] {
    if (!*json)
      ThrowUsageError("export", "--json is required: JSON is the only export format for now");
    context.SetAction([&context]() -> Status {
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      Result<std::vector<v1::RecordState>> all = store->ExportAll();
      if (!all) return all.error();
      std::vector<std::string> elements;
      elements.reserve(all->size());
      for (const v1::RecordState& state : *all) {
        Result<std::string> text = ToJson(state);
        if (!text) return text.error();
        elements.push_back(std::move(text).value());
      }
      context.out() << JsonArrayLines(elements);
      return Status::Ok();
    });
  });
}

}  // namespace

void AddDeviceCommands(CLI::App& app, Context& context) {
  AddInitCommand(app, context);
  AddStatusCommand(app, context);
  AddCaseloadCommand(app, context);
  AddExportCommand(app, context);
}

}  // namespace vinculo::client::cli
