#pragma once
// The rows of a CSV file (client/csv.h) as records of one kind, for `vinculo import`: which column
// sets which field, how a cell's text becomes the field's value, every broken rule of a row with
// its line number, and the stable id a row gets when the file has no `id` column. Pure functions
// over descriptors, no I/O; docs/regional-office.md describes the format for people.
//
// Columns. A header cell names a field of the record message: its records.proto name
// (`given_name`), the kebab-case of it (`given-name`), or the name of the `vinculo KIND add` flag
// (`child`, `next-due`, `risk`, `attendee`); case, spaces, '-' and '_' do not matter. `id` is
// optional; `deleted` is not a column. Every column must be known, and named once.
//
// Cells. Surrounding spaces are trimmed; an empty cell leaves the field unset. Enums take the
// friendly names of the CLI (`follow-up`, `kinship-care`; case, '_' and spaces do not matter) or
// the records.proto names (`VISIT_KIND_FOLLOW_UP`); yes/no fields take yes, no, sí, si, true,
// false, 1, 0; degrees take a decimal point or a decimal comma; a repeated field (attendees) takes
// its values separated by ';'. Text is taken as it is (it must be UTF-8).

#include <cstddef>
#include <string>
#include <vector>

#include "client/csv.h"
#include "common/result.h"
#include "vinculo/v1/records.pb.h"

namespace google::protobuf {
class FieldDescriptor;
}

namespace vinculo::client::cli {

// One broken rule of one row.
struct CsvIssue {
  size_t line = 0;
  std::string field;    // e.g. "home_visit.visited_at"; empty for the row as a whole
  std::string rule;     // common/validate.h's rule names, plus "enum", "bool", "number", "columns"
  std::string message;  // for a person, e.g. "is required"

  // "line 7: home_visit.visited_at: must be a date and time with seconds and an offset, e.g.
  // 2026-06-03T10:15:00-05:00 (timestamp)".
  std::string ToString() const;
};

// One data row read into a record. The row is valid when `issues` is empty; `record` then holds
// every cell's value and the id (given, or derived by NaturalKeyId).
struct CsvRecordRow {
  size_t line = 0;
  v1::Record record;
  bool id_given = false;  // the row's `id` cell was not empty
  std::vector<CsvIssue> issues;
};

// The fields whose values identify a row of `type` when the file has no id — what makes two rows
// "the same paper form": visits (child_id, visited_at, worker); children (given_name, family_name,
// birth_date, region); contacts (child_id, given_name, family_name, relationship); families (name,
// region); placement changes (child_id, changed_on, to_placement). Field numbers.
std::vector<int> NaturalKeyFields(v1::RecordType type);

// The stable id of `record` derived from its kind and NaturalKeyFields, as written: a UUID of
// version 8 (RFC 9562 "custom") made of the first 16 bytes of SHA-256("vinculo-import-v1", kind,
// each key field's value as text, separated by NUL bytes), with the version and variant bits set.
// The same values give the same id on every machine and in every later import. STORED: changing
// the derivation would import old files again as new records.
std::string NaturalKeyId(const v1::Record& record);

class CsvRecordReader {
 public:
  // Maps the header row to fields. InvalidArgument "line 1: ..." naming every unknown or repeated
  // column and listing the known ones.
  static Result<CsvRecordReader> FromHeader(v1::RecordType type, const CsvRow& header);

  // Reads one data row: converts each cell, gives the record its id, and checks the whole record
  // with common/validate.h (`today` is YYYY-MM-DD, for the "not in the future" rules). Every issue
  // of the row is reported, not only the first.
  CsvRecordRow Read(const CsvRow& row, const std::string& today) const;

  v1::RecordType type() const { return type_; }
  bool has_id_column() const { return id_column_ >= 0; }

 private:
  CsvRecordReader(v1::RecordType type) : type_(type) {}
  v1::RecordType type_;
  int id_column_ = -1;
  size_t column_count_ = 0;
  std::vector<const google::protobuf::FieldDescriptor*> columns_;  // nullptr for `id`
};

}  // namespace vinculo::client::cli
