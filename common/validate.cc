#include "common/validate.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cassert>
#include <cmath>
#include <optional>
#include <span>
#include <unordered_set>

#include "common/record.h"

// How a record is checked. Every field of the record message is visited in declaration order. Each
// field gets the generic rules of its type (text: encoding, control characters, length; enums:
// a defined value) and then the rules its entry in the record type's FieldSpec table adds
// (required, a format, a partner field, a limit on entries). A field, or an element of a
// repeated field, reports at most one issue: the first rule it breaks, in the order
// utf8 → control_character → max_length → required → format.

namespace vinculo {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// ---------------------------------------------------------------------------------------------
// Per-type rules.

// The format a text field must have when set, or the kind of a numeric field.
enum class Format {
  kNone,
  kUuid,           // IsUuid
  kDate,           // IsDate
  kNotFutureDate,  // IsDate, and not after ValidationContext::today
  kTimestamp,      // IsTimestamp
  kPhone,          // digits, spaces and + ( ) -, with at least kMinPhoneDigits digits
  kLatitude,       // a finite double in [-90, 90]
  kLongitude,      // a finite double in [-180, 180]
};

// Short text is one line (names, ids, usernames): no control characters at all, kMaxShortText
// bytes. Long text is free prose: tab and line breaks allowed, kMaxLongText bytes.
enum class TextKind { kShort, kLong };

// What a record type asks of one of its fields beyond the generic rules. A field with no entry is
// optional short text, or an optional enum, with no format.
struct FieldSpec {
  std::string_view field;
  bool required = false;  // text: not empty or blank; enum: not *_UNSPECIFIED (0)
  Format format = Format::kNone;
  TextKind text = TextKind::kShort;
  std::string_view paired_with = {};  // a field that must be present exactly when this one is
  size_t max_entries = 0;             // repeated fields: most elements allowed; 0 for no limit
};

constexpr FieldSpec kChildSpecs[] = {
    {.field = "id", .required = true, .format = Format::kUuid},
    {.field = "given_name", .required = true},
    {.field = "birth_date", .format = Format::kNotFutureDate},
    {.field = "region", .required = true},
    {.field = "family_id", .format = Format::kUuid},
    {.field = "notes", .text = TextKind::kLong},
};

constexpr FieldSpec kFamilySpecs[] = {
    {.field = "id", .required = true, .format = Format::kUuid},
    {.field = "region", .required = true},
    {.field = "address", .text = TextKind::kLong},
    {.field = "notes", .text = TextKind::kLong},
};

constexpr FieldSpec kContactSpecs[] = {
    {.field = "id", .required = true, .format = Format::kUuid},
    {.field = "family_id", .format = Format::kUuid},
    {.field = "child_id", .required = true, .format = Format::kUuid},
    {.field = "given_name", .required = true},
    {.field = "relationship", .required = true},
    {.field = "phone", .format = Format::kPhone},
    {.field = "address", .text = TextKind::kLong},
    {.field = "notes", .text = TextKind::kLong},
};

constexpr FieldSpec kHomeVisitSpecs[] = {
    {.field = "id", .required = true, .format = Format::kUuid},
    {.field = "child_id", .required = true, .format = Format::kUuid},
    {.field = "family_id", .format = Format::kUuid},
    {.field = "worker", .required = true},
    {.field = "visited_at", .required = true, .format = Format::kTimestamp},
    {.field = "kind", .required = true},
    {.field = "attendees", .format = Format::kUuid, .max_entries = kMaxAttendees},
    {.field = "observations", .text = TextKind::kLong},
    {.field = "agreed_actions", .text = TextKind::kLong},
    {.field = "next_visit_due", .format = Format::kDate},
    {.field = "latitude", .format = Format::kLatitude, .paired_with = "longitude"},
    {.field = "longitude", .format = Format::kLongitude, .paired_with = "latitude"},
};

constexpr FieldSpec kPlacementChangeSpecs[] = {
    {.field = "id", .required = true, .format = Format::kUuid},
    {.field = "child_id", .required = true, .format = Format::kUuid},
    {.field = "to_placement", .required = true},
    {.field = "changed_on", .required = true, .format = Format::kDate},
};

constexpr size_t kMinPhoneDigits = 6;

std::span<const FieldSpec> SpecsOf(v1::RecordType type) {
  switch (type) {
    case v1::RECORD_TYPE_CHILD:
      return kChildSpecs;
    case v1::RECORD_TYPE_FAMILY:
      return kFamilySpecs;
    case v1::RECORD_TYPE_CONTACT:
      return kContactSpecs;
    case v1::RECORD_TYPE_HOME_VISIT:
      return kHomeVisitSpecs;
    case v1::RECORD_TYPE_PLACEMENT_CHANGE:
      return kPlacementChangeSpecs;
    default:
      return {};
  }
}

// The entry for `field` in `specs`, or the default (optional, no format, short text).
FieldSpec SpecFor(std::span<const FieldSpec> specs, const FieldDescriptor& field) {
  for (const FieldSpec& spec : specs) {
    if (spec.field == field.name()) return spec;
  }
  return FieldSpec{.field = field.name()};
}

// True when every entry of `specs` names a field of `descriptor`: a misspelt entry would silently
// check nothing. Asserted on every validation in debug builds; the tests exercise every entry.
[[maybe_unused]] bool SpecsNameFieldsOf(std::span<const FieldSpec> specs,
                                        const Descriptor& descriptor) {
  for (const FieldSpec& spec : specs) {
    if (descriptor.FindFieldByName(std::string(spec.field)) == nullptr) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Text primitives.

constexpr char32_t kBadCodePoint = 0xFFFFFFFF;

// Decodes the code point at text[*pos] and moves *pos past it. Returns kBadCodePoint (leaving *pos)
// for an ill-formed sequence: a stray continuation byte, an overlong form, a surrogate, a value
// above U+10FFFF or a sequence cut short. The well-formed sequences are those of Unicode 15,
// table 3-7.
char32_t NextCodePoint(std::string_view text, size_t* pos) {
  const auto lead = static_cast<unsigned char>(text[*pos]);
  if (lead < 0x80) {
    ++*pos;
    return lead;
  }
  size_t length = 0;
  char32_t code_point = 0;
  unsigned char low = 0x80;  // the range of the second byte; later bytes are always 80..BF
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0Fu;
    if (lead == 0xE0) low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) high = 0x9F;  // surrogates U+D800..DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07u;
    if (lead == 0xF0) low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return kBadCodePoint;  // continuation byte, C0/C1 (overlong ASCII) or F5..FF
  }
  if (text.size() - *pos < length) return kBadCodePoint;
  for (size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[*pos + i]);
    if (byte < low || byte > high) return kBadCodePoint;
    low = 0x80;
    high = 0xBF;
    code_point = (code_point << 6) | (byte & 0x3Fu);
  }
  *pos += length;
  return code_point;
}

// Calls `visit(code_point)` for each code point of `text` until it returns true; returns whether
// one did. REQUIRES: IsValidUtf8(text).
template <typename Visit>
bool AnyCodePoint(std::string_view text, Visit visit) {
  for (size_t pos = 0; pos < text.size();) {
    if (visit(NextCodePoint(text, &pos))) return true;
  }
  return false;
}

// Unicode general category Cc: C0 controls, DEL and C1 controls.
bool IsControl(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

// Unicode White_Space, plus the invisible ZERO WIDTH SPACE and BYTE ORDER MARK: a name made only of
// these is as empty as "".
bool IsBlankCodePoint(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

// REQUIRES: IsValidUtf8(text).
bool IsBlank(std::string_view text) {
  return !AnyCodePoint(text, [](char32_t c) { return !IsBlankCodePoint(c); });
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

// The number written by the `count` decimal digits at text[pos], or nullopt when any is not a digit
// or the text is too short.
std::optional<int> Digits(std::string_view text, size_t pos, size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!IsDigit(text[i])) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// True when text[pos] exists and is `c`.
bool CharAt(std::string_view text, size_t pos, char c) {
  return pos < text.size() && text[pos] == c;
}

// "HH:MM" at text[pos] with HH < 24 and MM < 60 (a time of day without seconds, or an offset).
bool IsHourMinute(std::string_view text, size_t pos) {
  const std::optional<int> hour = Digits(text, pos, 2);
  const std::optional<int> minute = Digits(text, pos + 3, 2);
  return hour && minute && CharAt(text, pos + 2, ':') && *hour < 24 && *minute < 60;
}

bool IsPhone(std::string_view text) {
  size_t digits = 0;
  for (char c : text) {
    if (IsDigit(c)) {
      ++digits;
    } else if (c != ' ' && c != '+' && c != '(' && c != ')' && c != '-') {
      return false;
    }
  }
  return digits >= kMinPhoneDigits;
}

// ---------------------------------------------------------------------------------------------
// Checks of one value. Each returns the first rule the value breaks, or nullopt; the caller adds
// the field path.

struct BrokenRule {
  std::string_view rule;
  std::string message;
};

// The generic rules for any text: encoding, control characters and length.
std::optional<BrokenRule> CheckText(std::string_view text, TextKind kind) {
  if (!IsValidUtf8(text)) return BrokenRule{"utf8", "must be valid UTF-8 text"};
  if (kind == TextKind::kShort) {
    if (AnyCodePoint(text, IsControl)) {
      return BrokenRule{"control_character", "must be one line without control characters"};
    }
  } else if (AnyCodePoint(text, [](char32_t c) {
               return IsControl(c) && c != '\n' && c != '\r' && c != '\t';
             })) {
    return BrokenRule{"control_character",
                      "must not contain control characters other than tab and line breaks"};
  }
  const size_t limit = kind == TextKind::kShort ? kMaxShortText : kMaxLongText;
  if (text.size() > limit) {
    return BrokenRule{"max_length", "must be at most " + std::to_string(limit) + " bytes long"};
  }
  return std::nullopt;
}

// The format rule of a text value that is present. REQUIRES: CheckText passed.
std::optional<BrokenRule> CheckFormat(std::string_view text, Format format,
                                      const ValidationContext& context) {
  switch (format) {
    case Format::kUuid:
      if (!IsUuid(text)) return BrokenRule{"uuid", "must be a UUID (lowercase 8-4-4-4-12 hex)"};
      break;
    case Format::kDate:
    case Format::kNotFutureDate:
      if (!IsDate(text)) return BrokenRule{"date", "must be a date YYYY-MM-DD"};
      // Dates in the same form compare as strings. A malformed `today` is a caller bug.
      assert(context.today.empty() || IsDate(context.today));
      if (format == Format::kNotFutureDate && IsDate(context.today) && text > context.today) {
        return BrokenRule{"not_future", "must not be in the future"};
      }
      break;
    case Format::kTimestamp:
      if (!IsTimestamp(text)) {
        return BrokenRule{"timestamp",
                          "must be a date and time with seconds and an offset, e.g. "
                          "2026-06-03T10:15:00-05:00"};
      }
      break;
    case Format::kPhone:
      if (!IsPhone(text)) {
        return BrokenRule{"phone", "must be a phone number: digits, spaces and + ( ) - only"};
      }
      break;
    case Format::kNone:
    case Format::kLatitude:
    case Format::kLongitude:
      break;
  }
  return std::nullopt;
}

// A singular text field: empty means unset, which only a required field refuses.
std::optional<BrokenRule> CheckSingularText(std::string_view text, const FieldSpec& spec,
                                            const ValidationContext& context) {
  if (std::optional<BrokenRule> broken = CheckText(text, spec.text)) return broken;
  if (spec.required && IsBlank(text)) return BrokenRule{"required", "is required"};
  if (text.empty()) return std::nullopt;
  return CheckFormat(text, spec.format, context);
}

// An element of a repeated text field: always present, so always in the field's format.
std::optional<BrokenRule> CheckTextElement(std::string_view text, const FieldSpec& spec,
                                           const ValidationContext& context) {
  if (std::optional<BrokenRule> broken = CheckText(text, spec.text)) return broken;
  return CheckFormat(text, spec.format, context);
}

// Proto3 enums keep unknown numbers, so an out-of-range value can arrive from a bad client.
std::optional<BrokenRule> CheckEnum(int value, const FieldDescriptor& field,
                                    const FieldSpec& spec) {
  if (field.enum_type()->FindValueByNumber(value) == nullptr) {
    return BrokenRule{"enum", "is not a known value"};
  }
  if (spec.required && value == 0) return BrokenRule{"required", "is required"};
  return std::nullopt;
}

std::optional<BrokenRule> CheckCoordinate(double value, Format format) {
  if (format == Format::kLatitude && !(std::isfinite(value) && std::abs(value) <= 90.0)) {
    return BrokenRule{"range", "must be a latitude between -90 and 90 degrees"};
  }
  if (format == Format::kLongitude && !(std::isfinite(value) && std::abs(value) <= 180.0)) {
    return BrokenRule{"range", "must be a longitude between -180 and 180 degrees"};
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Checks of one field of a record message, adding issues under `path` ("home_visit.visited_at").

using Issues = std::vector<ValidationIssue>;

void Add(Issues* issues, std::string path, std::optional<BrokenRule> broken) {
  if (broken) {
    issues->push_back({std::move(path), std::string(broken->rule), std::move(broken->message)});
  }
}

// Absent while its partner is present: the issue goes on the absent field.
std::optional<BrokenRule> CheckPaired(const Message& message, const FieldDescriptor& field,
                                      const FieldSpec& spec) {
  if (spec.paired_with.empty() || field.is_repeated()) return std::nullopt;
  const Reflection& reflection = *message.GetReflection();
  const FieldDescriptor* partner =
      message.GetDescriptor()->FindFieldByName(std::string(spec.paired_with));
  if (!reflection.HasField(message, &field) && reflection.HasField(message, partner)) {
    return BrokenRule{"paired", "is required when " + partner->name() + " is set"};
  }
  return std::nullopt;
}

// A repeated text field: the number of entries, then each entry, then that entries are distinct
// (every repeated text field in the schema is a set of ids). Past max_entries only the count is
// reported, so an oversized list cannot produce an oversized answer.
void CheckRepeatedText(const Message& message, const FieldDescriptor& field, const FieldSpec& spec,
                       const std::string& path, const ValidationContext& context, Issues* issues) {
  const Reflection& reflection = *message.GetReflection();
  const auto size = static_cast<size_t>(reflection.FieldSize(message, &field));
  if (spec.max_entries != 0 && size > spec.max_entries) {
    Add(issues, path,
        BrokenRule{"max_length",
                   "must have at most " + std::to_string(spec.max_entries) + " entries"});
    return;
  }
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < size; ++i) {
    std::string value = reflection.GetRepeatedString(message, &field, static_cast<int>(i));
    std::optional<BrokenRule> broken = CheckTextElement(value, spec, context);
    if (!broken && !seen.insert(std::move(value)).second) {
      broken = BrokenRule{"duplicate", "repeats an earlier entry"};
    }
    Add(issues, path + "[" + std::to_string(i) + "]", std::move(broken));
  }
}

void CheckField(const Message& message, const FieldDescriptor& field, const FieldSpec& spec,
                const std::string& path, const ValidationContext& context, Issues* issues) {
  if (std::optional<BrokenRule> broken = CheckPaired(message, field, spec)) {
    Add(issues, path, std::move(broken));
    return;
  }
  const Reflection& reflection = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (field.is_repeated()) {
        CheckRepeatedText(message, field, spec, path, context, issues);
      } else {
        std::string scratch;
        const std::string& text = reflection.GetStringReference(message, &field, &scratch);
        Add(issues, path, CheckSingularText(text, spec, context));
      }
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      if (field.is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, &field); ++i) {
          Add(issues, path + "[" + std::to_string(i) + "]",
              CheckEnum(reflection.GetRepeatedEnumValue(message, &field, i), field, spec));
        }
      } else {
        Add(issues, path, CheckEnum(reflection.GetEnumValue(message, &field), field, spec));
      }
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      if (!field.is_repeated() && reflection.HasField(message, &field)) {
        Add(issues, path, CheckCoordinate(reflection.GetDouble(message, &field), spec.format));
      }
      break;
    default:
      break;  // bools (the tombstone, consent) carry no rule
  }
}

}  // namespace

std::vector<ValidationIssue> ValidateRecord(const v1::Record& record,
                                            const ValidationContext& context) {
  const Message* message = RecordMessage(record);
  if (message == nullptr) {
    return {{"record", "required",
             "must hold a child, family, contact, home visit or placement change"}};
  }
  const v1::RecordType type = TypeOf(record);
  const std::span<const FieldSpec> specs = SpecsOf(type);
  const Descriptor& descriptor = *message->GetDescriptor();
  assert(SpecsNameFieldsOf(specs, descriptor));
  // The oneof member's name ("home_visit"), not RecordTypeName ("visit"): paths name proto fields.
  const std::string prefix =
      v1::Record::descriptor()->FindFieldByNumber(static_cast<int>(type))->name() + ".";

  Issues issues;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    CheckField(*message, field, SpecFor(specs, field), prefix + field.name(), context, &issues);
  }
  return issues;
}

Status CheckRecord(const v1::Record& record, const ValidationContext& context) {
  std::vector<ValidationIssue> issues = ValidateRecord(record, context);
  if (issues.empty()) return Status::Ok();
  return Error::InvalidArgument(std::move(issues.front().message), std::move(issues.front().field));
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !IsLowerHex(text[i])) return false;
  }
  return true;
}

bool IsDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  const std::optional<int> year = Digits(text, 0, 4);
  const std::optional<int> month = Digits(text, 5, 2);
  const std::optional<int> day = Digits(text, 8, 2);
  return year && month && day && *month >= 1 && *month <= 12 && *day >= 1 &&
         *day <= DaysInMonth(*year, *month);
}

// date "T" HH:MM:SS [ "." 1*DIGIT ] ( "Z" / ("+" / "-") HH:MM ). Uppercase T and Z only, the form
// every Vínculo component writes. Seconds may be 60 (a leap second).
bool IsTimestamp(std::string_view text) {
  if (!IsDate(text.substr(0, 10)) || !CharAt(text, 10, 'T') || !IsHourMinute(text, 11) ||
      !CharAt(text, 16, ':')) {
    return false;
  }
  const std::optional<int> second = Digits(text, 17, 2);
  if (!second || *second > 60) return false;
  size_t pos = 19;
  if (CharAt(text, pos, '.')) {
    const size_t fraction = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == fraction) return false;
  }
  if (CharAt(text, pos, 'Z')) return pos + 1 == text.size();
  if (!CharAt(text, pos, '+') && !CharAt(text, pos, '-')) return false;
  return IsHourMinute(text, pos + 1) && pos + 6 == text.size();
}

bool IsValidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (NextCodePoint(text, &pos) == kBadCodePoint) return false;
  }
  return true;
}

}  // namespace vinculo
