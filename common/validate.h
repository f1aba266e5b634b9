#pragma once
// Validation of domain records: the rules a record must meet before any replica stores it.
// Pure functions over whole records (after a partial update is merged), no I/O. The device checks
// before it writes; the server checks again, since a bad client must not corrupt the store.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "vinculo/v1/records.pb.h"

namespace vinculo {

// One broken rule. `field` is the path of the offending field, e.g. "home_visit.visited_at" or
// "home_visit.attendees[2]"; `rule` a stable short name ("required", "uuid", "date", "timestamp",
// "enum", "range", "utf8", "control_character", "max_length", "duplicate", "phone", "paired",
// "not_future"); `message` says it for a person, e.g. "must be a date YYYY-MM-DD".
struct ValidationIssue {
  std::string field;
  std::string rule;
  std::string message;
};

// Limits on text, in bytes of UTF-8. On the wire contract: a device must not accept what the server
// would refuse.
inline constexpr size_t kMaxShortText = 200;    // names, region, programme, phone, usernames
inline constexpr size_t kMaxLongText = 20000;   // observations, agreed actions, notes, addresses
inline constexpr size_t kMaxAttendees = 100;

// Context a rule may need. `today` is the caller's date "YYYY-MM-DD" (the core reads no clock); empty
// skips the "not in the future" checks.
struct ValidationContext {
  std::string today;
};

// Every issue of `record`, in field order, at most one a field (or a repeated element): the first
// rule it breaks. Empty when the record is valid. A record whose oneof is
// unset yields one issue for field "record".
std::vector<ValidationIssue> ValidateRecord(const v1::Record& record,
                                            const ValidationContext& context = {});

// The first issue of ValidateRecord as an InvalidArgument error naming the field, or Ok.
Status CheckRecord(const v1::Record& record, const ValidationContext& context = {});

// Building blocks, exposed for other inputs (CLI flags, CSV import, query parameters).
bool IsUuid(std::string_view text);            // canonical 8-4-4-4-12 lowercase hex form
bool IsDate(std::string_view text);            // YYYY-MM-DD, a real calendar date
bool IsTimestamp(std::string_view text);       // RFC 3339 with seconds and an offset or Z
bool IsValidUtf8(std::string_view text);       // well-formed UTF-8, no overlongs or surrogates

}  // namespace vinculo
