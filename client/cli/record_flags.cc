#include "client/cli/record_flags.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>

#include "client/cli/enum_names.h"
#include "common/record.h"

namespace vinculo::client::cli {
namespace {

namespace pb = google::protobuf;

// The tables. Field numbers are those of records.proto; a record type's fields are all here except
// `id` (1) and `deleted` (15).
constexpr FlagSpec kChildFlags[] = {
    {2, "", "Given name(s); required"},
    {3, "", "Family name(s)"},
    {4, "", "Date of birth", "YYYY-MM-DD"},
    {5, "", "Sex"},
    {6, "", "Region; required (decides who may see the case)"},
    {7, "", "Programme, e.g. \"acogimiento familiar\""},
    {8, "", "Username of the responsible field worker", "USER"},
    {9, "", "Where the child lives now"},
    {10, "", "State of the case"},
    {11, "risk", "Risk level"},
    {12, "family", "Id of the child's household (a family record)", "ID"},
    {13, "", "Free-text notes"},
};

constexpr FlagSpec kFamilyFlags[] = {
    {2, "", "How the team refers to the household, e.g. \"Familia Quispe Mamani\""},
    {3, "", "Region; required"},
    {4, "", "Address"},
    {5, "", "Free-text notes"},
};

constexpr FlagSpec kContactFlags[] = {
    {2, "family", "Id of the household the person belongs to", "ID"},
    {3, "child", "Id of the child the relationship is to; required", "ID"},
    {4, "", "Given name(s); required"},
    {5, "", "Family name(s)"},
    {6, "", "Relationship to the child; required"},
    {7, "", "Phone: digits, spaces and + ( ) - only"},
    {8, "", "Address"},
    {9, "consent", "Whether the person agreed to be contacted by the programme"},
    {10, "", "Free-text notes"},
};

constexpr FlagSpec kVisitFlags[] = {
    {2, "child", "Id of the visited child; required", "ID"},
    {3, "family", "Id of the household visited", "ID"},
    {4, "", "Username of the visiting worker; required", "USER"},
    {5, "", "When the visit happened (add: default now)", "RFC3339", true},
    {6, "", "Kind of visit; required"},
    {7, "attendee", "Id of a contact present; repeat for each (\"\" clears the list)", "ID"},
    {8, "", "Observations: the child's situation"},
    {9, "risk", "Risk assessed at this visit"},
    {10, "", "What the family and the worker agreed"},
    {11, "next-due", "Date the next visit is due", "YYYY-MM-DD"},
    {12, "lat", "Latitude, WGS 84 degrees (\"\" clears)", "DEGREES"},
    {13, "lon", "Longitude, WGS 84 degrees (\"\" clears)", "DEGREES"},
};

constexpr FlagSpec kPlacementFlags[] = {
    {2, "child", "Id of the child who moved; required", "ID"},
    {3, "from", "Placement before the move"},
    {4, "to", "Placement after the move; required"},
    {5, "date", "Date of the move; required", "YYYY-MM-DD"},
    {6, "", "Why the child moved"},
};

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// A decimal number of degrees, or nullopt.
std::optional<double> ParseDegrees(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// The CLI11 check of one flag's value, by the field's type (a validator returns "" when the value
// is allowed); nullopt for text, which the store's validation checks.
std::optional<CLI::Validator> ValueCheck(const pb::FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* type = field.enum_type();
      return CLI::Validator(
          [type](std::string& value) -> std::string {
            if (value.empty() || ParseEnumFriendlyName(*type, value)) return {};
            return "'" + value + "' is not one of: " + Join(EnumFriendlyNames(*type), ", ");
          },
          "");
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "yes" || value == "no") return {};
            return "'" + value + "' is not one of: yes, no";
          },
          "");
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return CLI::Validator(
          [](std::string& value) -> std::string {
            if (value.empty() || ParseDegrees(value)) return {};
            return "'" + value + "' is not a number of degrees, e.g. -13.5319";
          },
          "");
    default:
      return std::nullopt;
  }
}

// What --help shows as the flag's value.
std::string ValueName(const FlagSpec& spec, const pb::FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return Join(EnumFriendlyNames(*field.enum_type()), "|");
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return "yes|no";
    default:
      return spec.value_name.empty() ? "TEXT" : std::string(spec.value_name);
  }
}

}  // namespace

struct RecordFlags::Binding {
  const FlagSpec* spec = nullptr;
  const pb::FieldDescriptor* field = nullptr;
  CLI::Option* option = nullptr;
  std::string value;                // singular fields
  std::vector<std::string> values;  // repeated fields

  bool given() const { return option->count() > 0; }
};

std::span<const FlagSpec> FlagSpecs(v1::RecordType type) {
  switch (type) {
    case v1::RECORD_TYPE_CHILD:
      return kChildFlags;
    case v1::RECORD_TYPE_FAMILY:
      return kFamilyFlags;
    case v1::RECORD_TYPE_CONTACT:
      return kContactFlags;
    case v1::RECORD_TYPE_HOME_VISIT:
      return kVisitFlags;
    case v1::RECORD_TYPE_PLACEMENT_CHANGE:
      return kPlacementFlags;
    default:
      return {};
  }
}

std::string FlagName(v1::RecordType type, const FlagSpec& spec) {
  if (!spec.name.empty()) return std::string(spec.name);
  const pb::FieldDescriptor* field = RecordDescriptor(type)->FindFieldByNumber(spec.field);
  return KebabCase(field->name());
}

RecordFlags::RecordFlags(v1::RecordType type) : type_(type) {}
RecordFlags::~RecordFlags() = default;

std::shared_ptr<RecordFlags> RecordFlags::AddTo(CLI::App& command, v1::RecordType type) {
  std::shared_ptr<RecordFlags> flags(new RecordFlags(type));
  const pb::Descriptor* descriptor = RecordDescriptor(type);
  for (const FlagSpec& spec : FlagSpecs(type)) {
    auto b = std::make_unique<Binding>();
    b->spec = &spec;
    b->field = descriptor->FindFieldByNumber(spec.field);
    const std::string name = "--" + FlagName(type, spec);
    if (b->field->is_repeated()) {
      b->option = command.add_option(name, b->values, std::string(spec.help))
                      ->allow_extra_args(false);  // one value per occurrence
    } else {
      b->option = command.add_option(name, b->value, std::string(spec.help));
    }
    b->option->type_name(ValueName(spec, *b->field));
    if (std::optional<CLI::Validator> check = ValueCheck(*b->field)) b->option->check(*check);
    flags->bindings_.push_back(std::move(b));
  }
  return flags;
}

std::vector<std::string> RecordFlags::given_flags() const {
  std::vector<std::string> out;
  for (const auto& b : bindings_) {
    if (b->given()) out.push_back(b->option->get_name());
  }
  return out;
}

bool RecordFlags::given(int field) const {
  for (const auto& b : bindings_) {
    if (b->spec->field == field) return b->given();
  }
  return false;
}

std::vector<uint32_t> RecordFlags::ApplyTo(v1::Record* record) const {
  pb::Message* message = MutableRecordMessage(record, type_);
  const pb::Reflection* reflection = message->GetReflection();
  std::vector<uint32_t> fields;
  for (const auto& b : bindings_) {
    if (!b->given()) continue;
    const pb::FieldDescriptor* field = b->field;
    fields.push_back(static_cast<uint32_t>(field->number()));
    if (field->is_repeated()) {
      reflection->ClearField(message, field);
      for (const std::string& v : b->values) {
        if (!v.empty()) reflection->AddString(message, field, v);
      }
      continue;
    }
    if (b->value.empty() && field->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) {
      reflection->ClearField(message, field);
      continue;
    }
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(message, field, b->value);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        // The check accepted the name while parsing.
        reflection->SetEnumValue(message, field,
                                 ParseEnumFriendlyName(*field->enum_type(), b->value).value_or(0));
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(message, field, b->value == "yes");
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(message, field, ParseDegrees(b->value).value_or(0));
        break;
      default:
        break;  // no record field has another type; FlagSpecsCoverEveryField tests that
    }
  }
  std::sort(fields.begin(), fields.end());
  return fields;
}

}  // namespace vinculo::client::cli
