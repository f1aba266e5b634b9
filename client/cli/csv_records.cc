#include "client/cli/csv_records.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "client/cli/enum_names.h"
#include "client/cli/record_flags.h"
#include "common/record.h"
#include "common/validate.h"

namespace vinculo::client::cli {
namespace {

namespace pb = google::protobuf;

constexpr char kIdDomain[] = "vinculo-import-v1";

std::string Trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return text.substr(begin, end - begin);
}

// Lowercase ASCII, with ' ' and '-' as '_': the form column names and enum names are compared in.
std::string Fold(const std::string& text) {
  std::string out = Trim(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == ' ' || c == '-') c = '_';
  }
  return out;
}

// "home_visit": the Record oneof member's name, which validation uses for field paths.
std::string KindPath(v1::RecordType type) {
  return v1::Record::descriptor()->FindFieldByNumber(static_cast<int>(type))->name();
}

std::string Join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i > 0 ? separator : "") + parts[i];
  return out;
}

std::optional<int> ParseEnum(const pb::EnumDescriptor& type, const std::string& text) {
  const std::string folded = Fold(text);
  for (int i = 0; i < type.value_count(); ++i) {
    const pb::EnumValueDescriptor* v = type.value(i);
    if (v->number() == 0) continue;
    if (Fold(EnumFriendlyName(*v)) == folded || Fold(v->name()) == folded) return v->number();
  }
  return std::nullopt;
}

std::optional<bool> ParseBool(const std::string& text) {
  const std::string folded = Fold(text);
  if (folded == "yes" || folded == "true" || folded == "1" || folded == "si" ||
      folded == "s\xc3\xad") {  // "sí"
    return true;
  }
  if (folded == "no" || folded == "false" || folded == "0") return false;
  return std::nullopt;
}

std::optional<double> ParseNumber(std::string text) {
  if (text.find('.') == std::string::npos && std::count(text.begin(), text.end(), ',') == 1) {
    std::replace(text.begin(), text.end(), ',', '.');  // a decimal comma (es-419 spreadsheets)
  }
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// The text of one field of `message` as it enters the natural key.
std::string KeyText(const pb::Message& message, const pb::FieldDescriptor& field) {
  const pb::Reflection* r = message.GetReflection();
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(message, &field);
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return r->GetEnum(message, &field)->name();
    default:
      return {};  // no key field has another type
  }
}

}  // namespace

std::string CsvIssue::ToString() const {
  std::string out = "line " + std::to_string(line) + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  if (!rule.empty()) out += " (" + rule + ")";
  return out;
}

std::vector<int> NaturalKeyFields(v1::RecordType type) {
  switch (type) {
    case v1::RECORD_TYPE_CHILD:
      return {2, 3, 4, 6};  // given, family, birth date, region
    case v1::RECORD_TYPE_FAMILY:
      return {2, 3};  // name, region
    case v1::RECORD_TYPE_CONTACT:
      return {3, 4, 5, 6};  // child, given, family, relationship
    case v1::RECORD_TYPE_HOME_VISIT:
      return {2, 5, 4};  // child, visited_at, worker
    case v1::RECORD_TYPE_PLACEMENT_CHANGE:
      return {2, 5, 4};  // child, changed_on, to
    default:
      return {};
  }
}

std::string NaturalKeyId(const v1::Record& record) {
  const v1::RecordType type = TypeOf(record);
  std::string input = kIdDomain;
  input += '\0';
  input += RecordTypeName(type);
  const pb::Message* message = RecordMessage(record);
  if (message != nullptr) {
    for (int number : NaturalKeyFields(type)) {
      input += '\0';
      input += KeyText(*message, *message->GetDescriptor()->FindFieldByNumber(number));
    }
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

Result<CsvRecordReader> CsvRecordReader::FromHeader(v1::RecordType type, const CsvRow& header) {
  const pb::Descriptor* descriptor = RecordDescriptor(type);
  if (descriptor == nullptr) return Error::InvalidArgument("no such record kind", "kind");
  // Every accepted spelling (folded) → the field (nullptr: id).
  std::map<std::string, const pb::FieldDescriptor*> names;
  names["id"] = nullptr;
  std::vector<std::string> known{"id"};
  for (const FlagSpec& spec : FlagSpecs(type)) {
    const pb::FieldDescriptor* field = descriptor->FindFieldByNumber(spec.field);
    known.push_back(field->name());
    names[Fold(field->name())] = field;
    names[Fold(FlagName(type, spec))] = field;
  }

  CsvRecordReader reader(type);
  reader.column_count_ = header.fields.size();
  std::vector<std::string> problems;
  std::map<std::string, std::string> seen;  // field name → the header cell that named it
  for (const std::string& cell : header.fields) {
    auto it = names.find(Fold(cell));
    if (it == names.end()) {
      problems.push_back(cell.empty() ? "an empty column name" : "unknown column '" + cell + "'");
      reader.columns_.push_back(nullptr);
      continue;
    }
    const std::string field_name = it->second == nullptr ? "id" : it->second->name();
    if (auto [prior, fresh] = seen.emplace(field_name, cell); !fresh) {
      problems.push_back("columns '" + prior->second + "' and '" + cell + "' both name " +
                         field_name);
    }
    if (it->second == nullptr) reader.id_column_ = static_cast<int>(reader.columns_.size());
    reader.columns_.push_back(it->second);
  }
  if (!problems.empty()) {
    return Error::InvalidArgument("line " + std::to_string(header.line) + ": " +
                                  Join(problems, "; ") + " (the columns of a " +
                                  std::string(RecordTypeName(type)) + " are: " + Join(known, ", ") +
                                  ")");
  }
  return reader;
}

CsvRecordRow CsvRecordReader::Read(const CsvRow& row, const std::string& today) const {
  CsvRecordRow out;
  out.line = row.line;
  const std::string kind = KindPath(type_);
  auto issue = [&](std::string field, std::string rule, std::string message) {
    out.issues.push_back({.line = row.line,
                          .field = std::move(field),
                          .rule = std::move(rule),
                          .message = std::move(message)});
  };
  if (row.fields.size() != column_count_) {
    issue("", "columns",
          "has " + std::to_string(row.fields.size()) + " fields, the header has " +
              std::to_string(column_count_));
    return out;
  }

  pb::Message* message = MutableRecordMessage(&out.record, type_);
  const pb::Reflection* reflection = message->GetReflection();
  for (size_t i = 0; i < columns_.size(); ++i) {
    const std::string& raw = row.fields[i];
    if (!IsValidUtf8(raw)) {
      const std::string name = columns_[i] == nullptr ? "id" : columns_[i]->name();
      issue(kind + "." + name, "utf8",
            "is not valid UTF-8 (save the spreadsheet as \"CSV UTF-8\")");
      continue;
    }
    const std::string value = Trim(raw);
    if (value.empty()) continue;
    const pb::FieldDescriptor* field = columns_[i];
    if (field == nullptr) {
      field = message->GetDescriptor()->FindFieldByNumber(kIdField);
      out.id_given = true;
    }
    const std::string path = kind + "." + field->name();
    if (field->is_repeated()) {
      size_t start = 0;
      for (;;) {
        const size_t semicolon = value.find(';', start);
        const std::string part = Trim(value.substr(start, semicolon - start));
        if (!part.empty()) reflection->AddString(message, field, part);
        if (semicolon == std::string::npos) break;
        start = semicolon + 1;
      }
      continue;
    }
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(message, field, value);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        if (std::optional<int> number = ParseEnum(*field->enum_type(), value)) {
          reflection->SetEnumValue(message, field, *number);
        } else {
          issue(path, "enum",
                "'" + value +
                    "' is not one of: " + Join(EnumFriendlyNames(*field->enum_type()), ", "));
        }
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        if (std::optional<bool> b = ParseBool(value)) {
          reflection->SetBool(message, field, *b);
        } else {
          issue(path, "bool", "'" + value + "' is not one of: yes, no");
        }
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        if (std::optional<double> d = ParseNumber(value)) {
          reflection->SetDouble(message, field, *d);
        } else {
          issue(path, "number", "'" + value + "' is not a number of degrees, e.g. -13.5319");
        }
        break;
      default:
        break;  // no record field has another type
    }
  }
  if (!out.id_given) {
    reflection->SetString(message, message->GetDescriptor()->FindFieldByNumber(kIdField),
                          NaturalKeyId(out.record));
  }
  // The record's own rules, for every field not already reported.
  for (ValidationIssue& v : ValidateRecord(out.record, {.today = today})) {
    const bool reported = std::any_of(out.issues.begin(), out.issues.end(),
                                      [&](const CsvIssue& i) { return i.field == v.field; });
    if (!reported) issue(std::move(v.field), std::move(v.rule), std::move(v.message));
  }
  // In field order, as a person reads the form.
  auto order = [&](const std::string& path) {
    std::string name = path.substr(path.find('.') + 1);
    name = name.substr(0, name.find('['));
    const pb::FieldDescriptor* f = message->GetDescriptor()->FindFieldByName(name);
    return f == nullptr ? 0 : f->number();
  };
  std::stable_sort(out.issues.begin(), out.issues.end(), [&](const CsvIssue& a, const CsvIssue& b) {
    return order(a.field) < order(b.field);
  });
  return out;
}

}  // namespace vinculo::client::cli
