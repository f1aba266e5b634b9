#pragma once
// Helpers over the Record envelope (proto/vinculo/v1/records.proto): which kind a record is, its id,
// the message inside, and the two fields every record type shares. Pure functions, no I/O.

#include <optional>
#include <string>
#include <string_view>

#include "vinculo/v1/records.pb.h"

namespace vinculo {

// Field numbers shared by every record message. STORED AND ON THE WIRE.
inline constexpr int kIdField = 1;
inline constexpr int kDeletedField = 15;

// The record type of `record` (RECORD_TYPE_UNSPECIFIED when the oneof is unset).
v1::RecordType TypeOf(const v1::Record& record);

// The message inside `record` (a Child, a Family, ...), or nullptr when the oneof is unset.
const google::protobuf::Message* RecordMessage(const v1::Record& record);

// The message of `type` inside `record`, switching the oneof to `type` (and clearing another kind)
// if needed. REQUIRES: type is not RECORD_TYPE_UNSPECIFIED.
google::protobuf::Message* MutableRecordMessage(v1::Record* record, v1::RecordType type);

// The descriptor of the message for `type`, or nullptr for RECORD_TYPE_UNSPECIFIED.
const google::protobuf::Descriptor* RecordDescriptor(v1::RecordType type);

// The record's id, empty when unset.
const std::string& RecordId(const v1::Record& record);

// True when the record carries the tombstone.
bool IsDeleted(const v1::Record& record);

// The short name of a record type used in the CLI, logs and docs: "child", "family", "contact",
// "visit", "placement". "unspecified" for RECORD_TYPE_UNSPECIFIED.
std::string_view RecordTypeName(v1::RecordType type);

// The name of the record's field in the Record envelope, which starts every field path in errors:
// "child", "family", "contact", "home_visit", "placement_change" (validate.h uses the same).
std::string_view RecordFieldName(v1::RecordType type);

// The inverse of RecordTypeName; nullopt for an unknown name.
std::optional<v1::RecordType> ParseRecordTypeName(std::string_view name);

// What a record points at and when it happened, as stores index it (copied out of the record into
// columns so that queries need not decode every record).
struct RecordRefs {
  std::string child_id;           // contact, visit, placement change: the child; empty otherwise
  std::string family_id;          // child, contact, visit: the household, if set
  std::string worker;             // child: assigned_worker; visit: worker
  std::optional<int64_t> at_ms;   // visit: visited_at; placement change: changed_on (Unix ms)
  std::string at_text;            // the same as written in the record
  std::string due;                // visit: next_visit_due
  int visit_kind = 0;             // visit: kind (v1::VisitKind)
  int case_status = 0;            // child: status (v1::CaseStatus)
  int placement = 0;              // child: placement; placement change: to_placement
  int from_placement = 0;         // placement change: from_placement
  std::string programme;          // child: programme
};
RecordRefs RefsOf(const v1::Record& record);

}  // namespace vinculo
