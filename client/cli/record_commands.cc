// child|family|contact|visit|placement × add|update|delete|restore|show|list: one record at a time, on the
// device's own store. Every write goes through LocalStore, which validates the whole resulting
// record and commits it with its outbox entry, or writes nothing.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "client/cli/commands.h"
#include "client/cli/json.h"
#include "client/cli/record_flags.h"
#include "client/cli/text_output.h"
#include "common/civil_time.h"
#include "common/record.h"

namespace vinculo::client::cli {
namespace {

namespace pb = google::protobuf;

struct Kind {
  v1::RecordType type;
  const char* description;
};

constexpr Kind kKinds[] = {
    {v1::RECORD_TYPE_CHILD, "Children: the cases you follow"},
    {v1::RECORD_TYPE_FAMILY, "Families: the households in a child's network"},
    {v1::RECORD_TYPE_CONTACT,
     "Contacts: people in a child's network (mother, grandmother, foster carer, ...)"},
    {v1::RECORD_TYPE_HOME_VISIT,
     "Home visits: who was there, the child's situation, risk, next visit due"},
    {v1::RECORD_TYPE_PLACEMENT_CHANGE, "Placement changes: a child's moves between placements"},
};

// A column of `list`'s table: one field, or two joined by a space (given and family name).
struct Column {
  const char* header;
  int field;
  int second_field = 0;
};

std::vector<Column> ListColumns(v1::RecordType type) {
  switch (type) {
    case v1::RECORD_TYPE_CHILD:
      return {{"ID", 1},      {"NAME", 2, 3},   {"REGION", 6},
              {"STATUS", 10}, {"PLACEMENT", 9}, {"RISK", 11}};
    case v1::RECORD_TYPE_FAMILY:
      return {{"ID", 1}, {"NAME", 2}, {"REGION", 3}, {"ADDRESS", 4}};
    case v1::RECORD_TYPE_CONTACT:
      return {{"ID", 1}, {"NAME", 4, 5}, {"RELATIONSHIP", 6}, {"CHILD", 3}, {"PHONE", 7}};
    case v1::RECORD_TYPE_HOME_VISIT:
      return {{"ID", 1},   {"VISITED AT", 5}, {"CHILD", 2},
              {"KIND", 6}, {"RISK", 9},       {"NEXT DUE", 11}};
    case v1::RECORD_TYPE_PLACEMENT_CHANGE:
      return {{"ID", 1}, {"DATE", 5}, {"CHILD", 2}, {"FROM", 3}, {"TO", 4}};
    default:
      return {{"ID", 1}};
  }
}

// Parses --json into `record` as a record of `type`; a usage error when it does not parse.
// Returns the fields it names.
std::vector<uint32_t> ParseRecordJson(v1::RecordType type, const std::string& json,
                                      v1::Record* record) {
  Result<std::vector<uint32_t>> fields = ParseJsonObject(json, MutableRecordMessage(record, type));
  if (!fields) ThrowUsageError(fields.error().field, fields.error().message);
  return std::move(fields).value();
}

// Sets string field `number` of `record`'s message.
void SetText(v1::Record* record, v1::RecordType type, int number, const std::string& text) {
  pb::Message* m = MutableRecordMessage(record, type);
  m->GetReflection()->SetString(m, m->GetDescriptor()->FindFieldByNumber(number), text);
}

// The --json option shared by add and update.
CLI::Option* AddJsonInput(CLI::App& command, v1::RecordType type, std::string* json) {
  const std::string help = "The " + std::string(RecordTypeName(type)) +
                           " as one object in the proto3 JSON mapping of vinculo.v1." +
                           RecordDescriptor(type)->name() + ", instead of the flags";
  return command.add_option("--json", *json, help)->type_name("OBJECT");
}

// True when --json was given; a usage error when the friendly flags were given with it.
bool JsonGiven(const CLI::Option& json_option, const RecordFlags& flags) {
  if (json_option.count() == 0) return false;
  const std::vector<std::string> given = flags.given_flags();
  if (!given.empty()) {
    std::string names;
    for (const std::string& n : given) names += (names.empty() ? "" : ", ") + n;
    ThrowUsageError("--json",
                    "cannot be combined with flags (" + names + "): give one or the other");
  }
  return true;
}

constexpr int kVisitWorkerField = 4;  // HomeVisit.worker

void AddAddCommand(CLI::App& kind, v1::RecordType type, Context& context) {
  const std::string name(RecordTypeName(type));
  CLI::App* command =
      kind.add_subcommand("add", "Add a " + name + " and print its new id (nothing else)");
  std::shared_ptr<RecordFlags> flags = RecordFlags::AddTo(*command, type);
  auto json = std::make_shared<std::string>();
  CLI::Option* json_option = AddJsonInput(*command, type, json.get());

  command->callback([&context, type, flags, json, json_option] {
    v1::Record record;
    const bool from_flags = !JsonGiven(*json_option, *flags);
    if (from_flags) {
      MutableRecordMessage(&record, type);
      flags->ApplyTo(&record);
    } else {
      ParseRecordJson(type, *json, &record);
    }
    context.SetAction([&context, type, flags, from_flags, record]() mutable -> Status {
      Result<int64_t> now = context.NowMs();
      if (!now) return now.error();
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      if (from_flags) {
        // Defaults that only the flags have: --json is the record exactly as given.
        for (const FlagSpec& spec : FlagSpecs(type)) {
          if (spec.now_on_add && !flags->given(spec.field)) {
            SetText(&record, type, spec.field, UtcTimestamp(*now));
          }
        }
        if (type == v1::RECORD_TYPE_HOME_VISIT && !flags->given(kVisitWorkerField)) {
          Result<DeviceStatus> status = store->ReadStatus();
          if (!status) return status.error();
          if (!status->username.empty()) {
            SetText(&record, type, kVisitWorkerField, status->username);
          }
        }
      }
      Result<std::string> id = store->Add(record, *now);
      if (!id) return id.error();
      context.out() << *id << '\n';
      return Status::Ok();
    });
  });
}

void AddUpdateCommand(CLI::App& kind, v1::RecordType type, Context& context) {
  const std::string name(RecordTypeName(type));
  CLI::App* command = kind.add_subcommand(
      "update", "Change the given fields of a " + name + "; the others keep their values");
  auto id = std::make_shared<std::string>();
  command->add_option("id", *id, "The " + name + "'s id")->required()->type_name("ID");
  std::shared_ptr<RecordFlags> flags = RecordFlags::AddTo(*command, type);
  auto json = std::make_shared<std::string>();
  CLI::Option* json_option = AddJsonInput(*command, type, json.get());

  command->callback([&context, type, name, id, flags, json, json_option] {
    v1::Record record;
    std::vector<uint32_t> fields;
    if (!JsonGiven(*json_option, *flags)) {
      fields = flags->ApplyTo(&record);
    } else {
      fields = ParseRecordJson(type, *json, &record);
      if (std::erase(fields, static_cast<uint32_t>(kIdField)) > 0 && !RecordId(record).empty() &&
          RecordId(record) != *id) {
        ThrowUsageError("--json",
                        "its id " + RecordId(record) + " is not the id to update, " + *id);
      }
      if (std::find(fields.begin(), fields.end(), static_cast<uint32_t>(kDeletedField)) !=
          fields.end()) {
        ThrowUsageError("--json", "\"deleted\" cannot be updated: use vinculo " + name + " delete");
      }
    }
    if (fields.empty()) {
      ThrowUsageError("update", "nothing to change: give the fields to change as flags or --json");
    }
    context.SetAction([&context, type, id, record, fields]() -> Status {
      Result<int64_t> now = context.NowMs();
      if (!now) return now.error();
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      return store->Update(type, *id, record, fields, *now);
    });
  });
}

// delete and restore: a write of the tombstone, one way or the other.
void AddTombstoneCommand(CLI::App& kind, v1::RecordType type, Context& context, bool restore) {
  const std::string name(RecordTypeName(type));
  CLI::App* command =
      restore ? kind.add_subcommand("restore", "Undo the delete of a " + name +
                                                   ": it and its values come back (syncs like any "
                                                   "change)")
              : kind.add_subcommand(
                    "delete", "Delete a " + name + " (a tombstone that syncs like any change)");
  auto id = std::make_shared<std::string>();
  command->add_option("id", *id, "The " + name + "'s id")->required()->type_name("ID");
  command->callback([&context, type, id, restore] {
    context.SetAction([&context, type, id, restore]() -> Status {
      Result<int64_t> now = context.NowMs();
      if (!now) return now.error();
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      return restore ? store->Restore(type, *id, *now) : store->Delete(type, *id, *now);
    });
  });
}

void AddShowCommand(CLI::App& kind, v1::RecordType type, Context& context) {
  const std::string name(RecordTypeName(type));
  CLI::App* command =
      kind.add_subcommand("show", "Print a " + name + ": one \"field: value\" line per set field");
  auto id = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  command->add_option("id", *id, "The " + name + "'s id")->required()->type_name("ID");
  command->add_flag("--json", *json, "Print the " + name + " as one proto3 JSON object");
  command->callback([&context, type, id, json] {
    context.SetAction([&context, type, id, json]() -> Status {
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      Result<v1::RecordState> state = store->Get(type, *id);
      if (!state) return state.error();
      const pb::Message& message = *RecordMessage(state->record());
      if (*json) {
        Result<std::string> text = ToJson(message);
        if (!text) return text.error();
        context.out() << *text << '\n';
      } else {
        WriteFieldLines(context.out(), message);
      }
      return Status::Ok();
    });
  });
}

void AddListCommand(CLI::App& kind, v1::RecordType type, Context& context) {
  const std::string name(RecordTypeName(type));
  CLI::App* command = kind.add_subcommand("list", "List the " + name + " records, in id order");
  auto json = std::make_shared<bool>(false);
  auto deleted = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "Print a JSON array of " + name + " objects, one per line");
  command->add_flag("--deleted", *deleted, "Include deleted records");
  command->callback([&context, type, json, deleted] {
    context.SetAction([&context, type, json, deleted]() -> Status {
      Result<LocalStore> store = context.OpenStore();
      if (!store) return store.error();
      Result<std::vector<v1::RecordState>> states = store->List(type, *deleted);
      if (!states) return states.error();
      if (*json) {
        std::vector<std::string> elements;
        for (const v1::RecordState& state : *states) {
          Result<std::string> text = ToJson(*RecordMessage(state.record()));
          if (!text) return text.error();
          elements.push_back(std::move(text).value());
        }
        context.out() << JsonArrayLines(elements);
        return Status::Ok();
      }
      const std::vector<Column> columns = ListColumns(type);
      std::vector<std::string> headers;
      for (const Column& c : columns) headers.emplace_back(c.header);
      if (*deleted) headers.emplace_back("DELETED");
      Table table(std::move(headers));
      for (const v1::RecordState& state : *states) {
        const pb::Message& message = *RecordMessage(state.record());
        std::vector<std::string> cells;
        for (const Column& c : columns) {
          std::string cell = SetFieldText(message, c.field);
          if (c.second_field != 0) {
            const std::string second = SetFieldText(message, c.second_field);
            if (!cell.empty() && !second.empty()) cell += ' ';
            cell += second;
          }
          cells.push_back(std::move(cell));
        }
        if (*deleted) cells.emplace_back(IsDeleted(state.record()) ? "yes" : "");
        table.AddRow(std::move(cells));
      }
      table.Write(context.out());
      return Status::Ok();
    });
  });
}

}  // namespace

void AddRecordCommands(CLI::App& app, Context& context) {
  for (const Kind& kind : kKinds) {
    CLI::App* command =
        app.add_subcommand(std::string(RecordTypeName(kind.type)), kind.description);
    command->require_subcommand(1);
    AddAddCommand(*command, kind.type, context);
    AddUpdateCommand(*command, kind.type, context);
    AddTombstoneCommand(*command, kind.type, context, /*restore=*/false);
    AddTombstoneCommand(*command, kind.type, context, /*restore=*/true);
    AddShowCommand(*command, kind.type, context);
    AddListCommand(*command, kind.type, context);
  }
}

}  // namespace vinculo::client::cli
