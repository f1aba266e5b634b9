#pragma once
// Text output for people: a record as "field: value" lines, and aligned tables. Enum values appear
// by their friendly names (enum_names.h), bools as yes/no. Text is UTF-8 and passes through byte
// for byte; columns are aligned by characters (code points), not bytes, so "Lucía" lines up.

#include <google/protobuf/message.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace vinculo::client::cli {

// The value of `field` of `message` as a person reads it: text as is, an enum's friendly name,
// yes/no, a number in its shortest exact form, a repeated field's values joined by ", ".
std::string FieldText(const google::protobuf::Message& message,
                      const google::protobuf::FieldDescriptor& field);

// FieldText of field `number` when it is set (not its default; a repeated field not empty), else
// "" — an unspecified enum shows as blank, not as "unspecified". REQUIRES: the field exists.
std::string SetFieldText(const google::protobuf::Message& message, int number);

// One "name: value" line per set field of `message`, in field-number order (id first), names as
// in the .proto (e.g. "given_name: Lucía").
void WriteFieldLines(std::ostream& out, const google::protobuf::Message& message);

// The number of characters (code points) of UTF-8 `text`.
size_t DisplayWidth(std::string_view text);

// A table with a header row; columns separated by two spaces and padded to the widest cell, the
// last column unpadded.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  // REQUIRES: `cells` has one entry per header.
  void AddRow(std::vector<std::string> cells);
  void Write(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // the header first
};

}  // namespace vinculo::client::cli
