// import: paper forms typed into a spreadsheet, saved as CSV, written to the store in one
// transaction (client/csv.h reads the file, csv_records.h turns rows into records).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "client/cli/commands.h"
#include "client/cli/csv_records.h"
#include "client/csv.h"
#include "common/civil_time.h"
#include "common/record.h"

namespace vinculo::client::cli {
namespace {

// The kinds `vinculo import` takes, plural as a person says them, with the singular accepted too.
std::optional<v1::RecordType> ParseImportKind(const std::string& name) {
  static const std::map<std::string, v1::RecordType> kKinds = {
      {"children", v1::RECORD_TYPE_CHILD},
      {"child", v1::RECORD_TYPE_CHILD},
      {"families", v1::RECORD_TYPE_FAMILY},
      {"family", v1::RECORD_TYPE_FAMILY},
      {"contacts", v1::RECORD_TYPE_CONTACT},
      {"contact", v1::RECORD_TYPE_CONTACT},
      {"visits", v1::RECORD_TYPE_HOME_VISIT},
      {"visit", v1::RECORD_TYPE_HOME_VISIT},
      {"placements", v1::RECORD_TYPE_PLACEMENT_CHANGE},
      {"placement", v1::RECORD_TYPE_PLACEMENT_CHANGE},
  };
  auto it = kKinds.find(name);
  if (it == kKinds.end()) return std::nullopt;
  return it->second;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error::Internal("cannot read " + path);
  return text.str();
}

// "1 row" / "2 rows".
std::string Rows(size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

struct ImportArgs {
  std::string kind;
  std::string csv;
  bool dry_run = false;
  bool skip_invalid = false;
  std::string delimiter_text = ",";
  char delimiter = ',';
};

Status RunImport(Context& context, const ImportArgs& args) {
  const v1::RecordType type = *ParseImportKind(args.kind);
  Result<std::string> text = ReadFile(args.csv);
  if (!text) return text.error();
  Result<std::vector<CsvRow>> rows = ParseCsv(*text, args.delimiter);
  if (!rows) return Error::InvalidArgument(args.csv + ": " + rows.error().message);
  if (rows->empty()) {
    return Error::InvalidArgument(args.csv + " is empty: it needs a header row naming the columns");
  }
  Result<CsvRecordReader> reader = CsvRecordReader::FromHeader(type, rows->front());
  if (!reader) return Error::InvalidArgument(args.csv + ": " + reader.error().message);
  Result<int64_t> now = context.NowMs();
  if (!now) return now.error();
  Result<LocalStore> store = context.OpenStore();
  if (!store) return store.error();
  const std::string today = UtcDate(*now);

  std::vector<v1::Record> to_add;
  std::vector<size_t> to_add_lines;
  std::vector<CsvIssue> issues;
  size_t invalid = 0, already = 0, repeated = 0;
  std::map<std::string, size_t> line_of_id;  // ids of the valid rows so far → their line
  std::map<std::string, bool> child_known;   // child ids looked up in the store
  for (size_t i = 1; i < rows->size(); ++i) {
    CsvRecordRow row = reader->Read((*rows)[i], today);
    // A visit, contact or placement change must be about a child this device holds: a mistyped
    // child id is the likeliest slip in typing a paper form, and the server would refuse it.
    const std::string child_id = RefsOf(row.record).child_id;
    if (row.issues.empty() && !child_id.empty()) {
      auto [it, fresh] = child_known.emplace(child_id, false);
      if (fresh) {
        Result<v1::RecordState> child = store->Get(v1::RECORD_TYPE_CHILD, child_id);
        if (!child && child.error().code != ErrorCode::kNotFound) return child.error();
        it->second = child.has_value();
      }
      if (!it->second) {
        row.issues.push_back(
            {.line = row.line,
             .field = std::string(v1::Record::descriptor()->FindFieldByNumber(type)->name()) +
                      ".child_id",
             .rule = "not_found",
             .message =
                 "no child " + child_id + " on this device (import or sync the child first)"});
      }
    }
    if (!row.issues.empty()) {
      ++invalid;
      issues.insert(issues.end(), row.issues.begin(), row.issues.end());
      continue;
    }
    const std::string id = RecordId(row.record);
    if (auto [it, fresh] = line_of_id.emplace(id, row.line); !fresh) {
      ++repeated;
      std::cerr << "line " << row.line << ": the same " << RecordTypeName(type) << " as line "
                << it->second << " (" << id << "): skipped\n";
      continue;
    }
    Result<v1::RecordState> existing = store->Get(type, id, /*include_deleted=*/true);
    if (existing) {
      ++already;
      continue;
    }
    if (existing.error().code != ErrorCode::kNotFound) return existing.error();
    to_add.push_back(std::move(row.record));
    to_add_lines.push_back(row.line);
  }
  for (const CsvIssue& issue : issues) std::cerr << issue.ToString() << '\n';

  const size_t total = rows->size() - 1;
  std::string summary = args.csv + ": " + Rows(total) + ": ";
  auto counts = [&](const char* verb) {
    std::string s = std::to_string(to_add.size()) + " " + verb + ", " + std::to_string(already) +
                    " already imported";
    if (repeated > 0) s += ", " + std::to_string(repeated) + " repeated in the file";
    s += ", " + std::to_string(invalid) + " invalid";
    return s;
  };
  if (invalid > 0 && !args.skip_invalid) {
    return Error::InvalidArgument(
        args.csv + ": " + std::to_string(invalid) + " of " + Rows(total) +
        (invalid == 1 ? " is" : " are") + " invalid (listed above): nothing " +
        (args.dry_run ? "would be" : "was") + " imported. Correct " +
        (invalid == 1 ? "it" : "them") + ", or use --skip-invalid to import the " +
        std::to_string(to_add.size()) + " valid new " + (to_add.size() == 1 ? "row" : "rows"));
  }
  if (args.dry_run) {
    context.out() << summary << counts("would be imported") << (invalid > 0 ? " (skipped)" : "")
                  << "; nothing written (--dry-run)\n";
  } else {
    if (!to_add.empty()) {
      Result<std::vector<std::string>> added = store->AddAll(to_add, *now);
      if (!added) {
        Error error = added.error();
        // AddAll names the record by its position: name the line instead.
        if (error.message.rfind("record ", 0) == 0) {
          const size_t colon = error.message.find(": ");
          const size_t k = std::strtoul(error.message.c_str() + 7, nullptr, 10);
          if (colon != std::string::npos && k >= 1 && k <= to_add_lines.size()) {
            error.message = "line " + std::to_string(to_add_lines[k - 1]) +
                            error.message.substr(colon) + " (nothing was imported)";
          }
        }
        return error;
      }
    }
    context.out() << summary << counts("imported") << (invalid > 0 ? " (skipped)" : "") << '\n';
  }
  if (invalid > 0) context.SetExitStatus(kExitSyncedWithRejections);
  return Status::Ok();
}

}  // namespace

void AddImportCommands(CLI::App& app, Context& context) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* command = app.add_subcommand(
      "import",
      "Import records from a CSV file (paper forms typed into a spreadsheet) in one transaction: "
      "every row is checked first; nothing is written unless all are valid (or --skip-invalid); "
      "rows imported before are skipped");
  command
      ->add_option("kind", args->kind,
                   "What the rows are: children, families, contacts, visits or placements")
      ->required()
      ->type_name("KIND")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (ParseImportKind(value)) return {};
            return "'" + value +
                   "' is not one of: children, families, contacts, visits, placements";
          },
          ""));
  command
      ->add_option("--csv", args->csv,
                   "The CSV file (RFC 4180, UTF-8): a header row naming the columns, then one "
                   "row per record")
      ->required()
      ->type_name("FILE");
  command->add_flag("--dry-run", args->dry_run,
                    "Check every row and say what would be imported; write nothing");
  command->add_flag("--skip-invalid", args->skip_invalid,
                    "Import the valid rows even when some are invalid (listed on stderr; exit "
                    "status 5)");
  command
      ->add_option("--delimiter", args->delimiter_text,
                   "The field separator, one character (e.g. ';' for spreadsheets in Spanish)")
      ->capture_default_str()
      ->type_name("CHAR");
  command->callback([&context, args] {
    const std::string& d = args->delimiter_text;
    if (d == "\\t" || d == "tab") {
      args->delimiter = '\t';
    } else if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r") {
      ThrowUsageError("--delimiter", "must be one character other than a quote or a line break");
    } else {
      args->delimiter = d[0];
    }
    context.SetAction([&context, args]() -> Status { return RunImport(context, *args); });
  });
}

}  // namespace vinculo::client::cli
