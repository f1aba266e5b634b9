// query visits|caseload|overdue|outcomes|conflicts, conflicts resolve: a supervisor's questions to
// the server (GET /v1/..., docs/protocol.md "Supervisor queries"), from a logged-in device.

#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <string>
#include <vector>

#include "client/cli/commands.h"
#include "client/cli/text_output.h"
#include "client/csv.h"
#include "client/https_transport.h"
#include "client/sync_client.h"
#include "vinculo/v1/query.pb.h"

namespace vinculo::client::cli {
namespace {

// '%'-escapes a query parameter value.
std::string UrlEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Sends `method path` with this device's token; a 200 reply, or the server's error.
Result<HttpResponse> Send(Context& context, const std::string& method, const std::string& path,
                          const std::string& body = {}) {
  Result<LocalStore> store = context.OpenStore();
  if (!store) return store.error();
  Result<DeviceStatus> status = store->ReadStatus();
  if (!status) return status.error();
  Result<std::string> token = store->Token();
  if (!token) return token.error();
  Result<std::unique_ptr<Transport>> transport =
      HttpsTransport::Create(status->server_url, status->ca_file);
  if (!transport) return transport.error();
  HttpRequest request{.method = method,
                      .path = path,
                      .content_type = body.empty() ? "" : "application/json",
                      .body = body,
                      .headers = {{"Authorization", "Bearer " + *token}}};
  Result<HttpResponse> response = (*transport)->Send(request);
  if (!response) return response.error();
  if (response->status != 200) return ErrorFromHttpResponse(*response, "query");
  return response;
}

// The body of Send's reply.
Result<std::string> Call(Context& context, const std::string& method, const std::string& path,
                         const std::string& body = {}) {
  Result<HttpResponse> response = Send(context, method, path, body);
  if (!response) return response.error();
  return std::move(response->body);
}

// Every page of /v1/overdue (`target` without limit and after), 5,000 cases a request, as one
// reply: a CSV under one header, or one JSON OverdueResponse with every case. The total the
// server counted goes to `total`.
Result<std::string> AllOverduePages(Context& context, const std::string& target, bool json,
                                    std::string* total) {
  std::string out;
  v1::OverdueResponse merged;
  std::string after;
  do {
    std::string page_target = target + "&limit=5000";
    if (!after.empty()) page_target += "&after=" + UrlEncode(after);
    Result<HttpResponse> page = Send(context, "GET", page_target);
    if (!page) return page.error();
    if (json) {
      v1::OverdueResponse reply;
      if (!google::protobuf::util::JsonStringToMessage(page->body, &reply).ok()) {
        return Error::DataLoss("the server's overdue reply is not an OverdueResponse");
      }
      after = reply.next_page();
      for (v1::OverdueCase& c : *reply.mutable_cases()) *merged.add_cases() = std::move(c);
      reply.clear_cases();
      reply.clear_next_page();
      merged.MergeFrom(reply);  // as_of, days, total
      *total = std::to_string(merged.total());
    } else {
      after = std::string(page->Header("X-Next-Page"));
      *total = std::string(page->Header("X-Total-Count"));
      if (out.empty()) {
        out = std::move(page->body);
      } else {
        // A later page's rows only: its byte order mark and header line go.
        const size_t rows = page->body.find("\r\n");
        if (rows != std::string::npos) out.append(page->body, rows + 2);
      }
    }
  } while (!after.empty());
  if (json) {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    if (!google::protobuf::util::MessageToJsonString(merged, &out, options).ok()) {
      return Error::Internal("cannot print the overdue cases as JSON");
    }
  }
  return out;
}

// Prints a CSV reply as an aligned table.
Status WriteCsvAsTable(std::ostream& out, const std::string& csv) {
  Result<std::vector<CsvRow>> rows = ParseCsv(csv);
  if (!rows) return rows.error();
  if (rows->empty()) return Status::Ok();
  Table table((*rows)[0].fields);
  for (size_t i = 1; i < rows->size(); ++i) table.AddRow((*rows)[i].fields);
  table.Write(out);
  return Status::Ok();
}

struct QueryArgs {
  std::string format = "table";
  std::vector<std::pair<std::string, std::string>> params;  // name, value (empty: not given)
};

// `all_pages`: without --limit, the command follows the endpoint's pages (/v1/overdue) and prints
// every row, then (as a table) the count.
void AddQuery(CLI::App& query, Context& context, const std::string& name,
              const std::string& description, const std::string& path,
              const std::vector<std::pair<std::string, std::string>>& options,
              bool all_pages = false) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* command = query.add_subcommand(name, description);
  command->add_option("--format", args->format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
  args->params.reserve(options.size());
  for (const auto& [param, help] : options) {
    args->params.emplace_back(param, "");
    std::string flag = "--" + param;
    for (char& c : flag) c = c == '_' ? '-' : c;
    command->add_option(flag, args->params.back().second, help);
  }
  command->callback([&context, args, path, all_pages] {
    context.SetAction([&context, args, path, all_pages]() -> Status {
      std::string target = path + "?format=" + (args->format == "json" ? "json" : "csv");
      bool paged = all_pages;
      for (const auto& [param, value] : args->params) {
        if (!value.empty()) target += "&" + param + "=" + UrlEncode(value);
        if (!value.empty() && (param == "limit" || param == "after")) paged = false;
      }
      std::string total;
      Result<std::string> body =
          paged ? AllOverduePages(context, target, args->format == "json", &total)
                : Call(context, "GET", target);
      if (!body) return body.error();
      if (args->format == "table") {
        VINCULO_RETURN_IF_ERROR(WriteCsvAsTable(context.out(), *body));
        if (paged) context.out() << total << " overdue\n";
        return Status::Ok();
      }
      context.out() << *body;
      if (args->format == "json") context.out() << '\n';
      return Status::Ok();
    });
  });
}

}  // namespace

void AddQueryCommands(CLI::App& app, Context& context) {
  CLI::App* query = app.add_subcommand(
      "query", "Supervisors: ask the server about visits, caseloads, overdue cases, outcomes and "
               "conflicts (needs signal and a supervisor or admin login)");
  query->require_subcommand(1);
  AddQuery(*query, context, "visits", "Visits, oldest first, a page at a time", "/v1/visits",
           {{"region", "Region (admin: any; supervisor: their own)"},
            {"worker", "Only this worker's visits"},
            {"child", "Only this child's visits (an id)"},
            {"from", "From this date, YYYY-MM-DD"},
            {"to", "To this date, YYYY-MM-DD (inclusive)"},
            {"kind", "Only this kind of visit, e.g. follow-up"},
            {"limit", "At most this many (default 500, most 5000)"},
            {"after", "The next page after this token (from a JSON reply's nextPage)"}});
  AddQuery(*query, context, "caseload",
           "Per worker: open cases, visits in the period, overdue cases", "/v1/caseload",
           {{"region", "Region (admin only)"},
            {"from", "Period start, YYYY-MM-DD (default: the 1st of this month)"},
            {"to", "Period end, YYYY-MM-DD (default: today)"}});
  AddQuery(*query, context, "overdue",
           "Open cases past their next visit, or with no visit for --days days: all of them, "
           "or a page with --limit",
           "/v1/overdue",
           {{"region", "Region (admin only)"},
            {"as_of", "As of this date, YYYY-MM-DD (default: today)"},
            {"days", "No visit for this many days counts as overdue (default 30)"},
            {"limit", "Only a page of this many (at most 5000; JSON has the total and nextPage)"},
            {"after", "The page after this token (a reply's nextPage; pass the same --as-of)"}},
           /*all_pages=*/true);
  AddQuery(*query, context, "outcomes",
           "Children reintegrated, placed in family care, entering and leaving institutions, "
           "and the institutional population",
           "/v1/outcomes",
           {{"region", "Region (admin only)"},
            {"from", "Period start, YYYY-MM-DD (required)"},
            {"to", "Period end, YYYY-MM-DD (required)"},
            {"by", "month (default), programme or region"}});
  AddQuery(*query, context, "conflicts", "Concurrent edits waiting for review", "/v1/conflicts",
           {{"status", "open (default), resolved or all"}});

  CLI::App* conflicts = app.add_subcommand("conflicts", "Supervisors: settle a conflict");
  conflicts->require_subcommand(1);
  struct ResolveArgs {
    int64_t id = 0;
    std::string keep;
  };
  auto args = std::make_shared<ResolveArgs>();
  CLI::App* resolve = conflicts->add_subcommand(
      "resolve", "Keep the winning value, or reinstate the lost one (a new change that syncs)");
  resolve->add_option("id", args->id, "The conflict's id (from vinculo query conflicts)")
      ->required();
  resolve->add_option("--keep", args->keep, "winner or loser")
      ->required()
      ->check(CLI::IsMember({"winner", "loser"}));
  resolve->callback([&context, args] {
    context.SetAction([&context, args]() -> Status {
      Result<std::string> body =
          Call(context, "POST", "/v1/conflicts/" + std::to_string(args->id) + "/resolve?format=json",
               R"({"keep":")" + args->keep + R"("})");
      if (!body) return body.error();
      context.out() << "conflict " << args->id << " resolved: "
                    << (args->keep == "winner" ? "kept the winning value"
                                               : "reinstated the lost value")
                    << '\n';
      return Status::Ok();
    });
  });
}

}  // namespace vinculo::client::cli
