#include "client/cli/text_output.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <cassert>
#include <charconv>

#include "client/cli/enum_names.h"

namespace vinculo::client::cli {
namespace {

namespace pb = google::protobuf;

std::string DoubleText(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return "?";
  return std::string(buffer, end);
}

// One value of `field`: the element at `index` of a repeated field, else the singular value.
std::string ValueText(const pb::Message& message, const pb::FieldDescriptor& field, int index) {
  const pb::Reflection& r = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return repeated ? r.GetRepeatedString(message, &field, index) : r.GetString(message, &field);
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* v =
          repeated ? r.GetRepeatedEnum(message, &field, index) : r.GetEnum(message, &field);
      return EnumFriendlyName(*v);
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? r.GetRepeatedBool(message, &field, index) : r.GetBool(message, &field))
                 ? "yes"
                 : "no";
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return DoubleText(repeated ? r.GetRepeatedDouble(message, &field, index)
                                 : r.GetDouble(message, &field));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return DoubleText(repeated ? r.GetRepeatedFloat(message, &field, index)
                                 : r.GetFloat(message, &field));
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(repeated ? r.GetRepeatedInt32(message, &field, index)
                                     : r.GetInt32(message, &field));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(repeated ? r.GetRepeatedInt64(message, &field, index)
                                     : r.GetInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(repeated ? r.GetRepeatedUInt32(message, &field, index)
                                     : r.GetUInt32(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(repeated ? r.GetRepeatedUInt64(message, &field, index)
                                     : r.GetUInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return (repeated ? r.GetRepeatedMessage(message, &field, index)
                       : r.GetMessage(message, &field))
          .ShortDebugString();
  }
  return {};
}

}  // namespace

std::string FieldText(const pb::Message& message, const pb::FieldDescriptor& field) {
  if (!field.is_repeated()) return ValueText(message, field, 0);
  std::string out;
  const int n = message.GetReflection()->FieldSize(message, &field);
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += ValueText(message, field, i);
  }
  return out;
}

std::string SetFieldText(const pb::Message& message, int number) {
  const pb::FieldDescriptor* field = message.GetDescriptor()->FindFieldByNumber(number);
  const pb::Reflection* r = message.GetReflection();
  const bool set =
      field->is_repeated() ? r->FieldSize(message, field) > 0 : r->HasField(message, field);
  return set ? FieldText(message, *field) : std::string();
}

void WriteFieldLines(std::ostream& out, const pb::Message& message) {
  std::vector<const pb::FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);  // set fields, by number
  for (const pb::FieldDescriptor* field : fields) {
    out << field->name() << ": " << FieldText(message, *field) << '\n';
  }
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;  // not a continuation byte
  }
  return width;
}

Table::Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }

void Table::AddRow(std::vector<std::string> cells) {
  assert(cells.size() == rows_.front().size());
  rows_.push_back(std::move(cells));
}

void Table::Write(std::ostream& out) const {
  const size_t columns = rows_.front().size();
  std::vector<size_t> widths(columns, 0);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < columns; ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < columns; ++i) {
      line += row[i];
      if (i + 1 < columns) line.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

}  // namespace vinculo::client::cli
