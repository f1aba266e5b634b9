#include "common/validate.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/record.h"

namespace vinculo {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr char kChildId[] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
constexpr char kFamilyId[] = "0190a1b2-c3d5-7a00-9b1c-2d3e4f5a6b7c";
constexpr char kContactId[] = "0190a1b2-c3d6-7b11-a2c3-d4e5f6a7b8c9";
constexpr char kOtherContactId[] = "0190a1b2-c3d7-7c22-b3d4-e5f6a7b8c9d0";
constexpr char kVisitId[] = "0190a1b2-c3d8-7d33-84e5-f6a7b8c9d0e1";
constexpr char kPlacementId[] = "0190a1b2-c3d9-7e44-95f6-a7b8c9d0e1f2";

// ---------------------------------------------------------------------------------------------
// Valid records: every field set, in Spanish and Portuguese.

v1::Record FullChild() {
  v1::Record record;
  v1::Child& child = *record.mutable_child();
  child.set_id(kChildId);
  child.set_given_name("María José");
  child.set_family_name("Quispe Ñahui");
  child.set_birth_date("2015-03-14");
  child.set_sex(v1::SEX_FEMALE);
  child.set_region("Cusco");
  child.set_programme("reintegración");
  child.set_assigned_worker("rquispe");
  child.set_placement(v1::PLACEMENT_KINSHIP_CARE);
  child.set_status(v1::CASE_STATUS_OPEN);
  child.set_risk_level(v1::RISK_LEVEL_MEDIUM);
  child.set_family_id(kFamilyId);
  child.set_notes("Vive con su abuela en Ccorca.\r\nAsiste a la escuela;\tle gusta el fútbol.");
  return record;
}

v1::Record FullFamily() {
  v1::Record record;
  v1::Family& family = *record.mutable_family();
  family.set_id(kFamilyId);
  family.set_name("Família Conceição");
  family.set_region("Bahia");
  family.set_address("Rua da Conceição, 45\nSalvador — BA");
  family.set_notes("Avó materna cuida das crianças.\nO pai trabalha em São Paulo.");
  return record;
}

v1::Record FullContact() {
  v1::Record record;
  v1::Contact& contact = *record.mutable_contact();
  contact.set_id(kContactId);
  contact.set_family_id(kFamilyId);
  contact.set_child_id(kChildId);
  contact.set_given_name("Inês");
  contact.set_family_name("Gonçalves");
  contact.set_relationship(v1::RELATIONSHIP_GRANDPARENT);
  contact.set_phone("+55 (71) 98765-4321");
  contact.set_address("Travessa São Brás, 12");
  contact.set_consent_to_contact(true);
  contact.set_notes("Prefere ligações à tarde.\n\tNão ligar aos domingos.");
  return record;
}

v1::Record FullVisit() {
  v1::Record record;
  v1::HomeVisit& visit = *record.mutable_home_visit();
  visit.set_id(kVisitId);
  visit.set_child_id(kChildId);
  visit.set_family_id(kFamilyId);
  visit.set_worker("mpena");
  visit.set_visited_at("2026-06-03T10:15:00-05:00");
  visit.set_kind(v1::VISIT_KIND_FOLLOW_UP);
  visit.add_attendees(kContactId);
  visit.add_attendees(kOtherContactId);
  visit.set_observations("El niño está tranquilo; la abuela señaló avances en la escuela.");
  visit.set_risk_assessment(v1::RISK_LEVEL_LOW);
  visit.set_agreed_actions("1. Acompañar la matrícula.\n2. Volver en un mes.");
  visit.set_next_visit_due("2026-07-01");
  visit.set_latitude(-13.5319);
  visit.set_longitude(-71.9675);
  return record;
}

v1::Record FullPlacement() {
  v1::Record record;
  v1::PlacementChange& change = *record.mutable_placement_change();
  change.set_id(kPlacementId);
  change.set_child_id(kChildId);
  change.set_from_placement(v1::PLACEMENT_RESIDENTIAL_INSTITUTION);
  change.set_to_placement(v1::PLACEMENT_FAMILY_OF_ORIGIN);
  change.set_changed_on("2026-06-01");
  change.set_reason("Reintegração familiar após seis meses de preparação");
  return record;
}

// The full record whose kind is the first part of `path` ("home_visit" of
// "home_visit.visited_at"), with `edit` applied to the field the rest of `path` names.
v1::Record With(std::string_view path,
                const std::function<void(Message*, const FieldDescriptor*)>& edit) {
  const size_t dot = path.find('.');
  const std::string kind(path.substr(0, dot));
  const std::string name(path.substr(dot + 1));
  const FieldDescriptor* kind_field = v1::Record::descriptor()->FindFieldByName(kind);
  if (kind_field == nullptr) throw std::invalid_argument("no record kind " + kind);
  v1::Record record;
  switch (static_cast<v1::RecordType>(kind_field->number())) {
    case v1::RECORD_TYPE_CHILD:
      record = FullChild();
      break;
    case v1::RECORD_TYPE_FAMILY:
      record = FullFamily();
      break;
    case v1::RECORD_TYPE_CONTACT:
      record = FullContact();
      break;
    case v1::RECORD_TYPE_HOME_VISIT:
      record = FullVisit();
      break;
    default:
      record = FullPlacement();
      break;
  }
  Message* message = MutableRecordMessage(&record, TypeOf(record));
  const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(name);
  if (field == nullptr) throw std::invalid_argument("no field " + std::string(path));
  edit(message, field);
  return record;
}

v1::Record WithText(std::string_view path, std::string value) {
  return With(path, [&](Message* m, const FieldDescriptor* f) {
    m->GetReflection()->SetString(m, f, std::move(value));
  });
}

v1::Record WithEnum(std::string_view path, int value) {
  return With(path, [&](Message* m, const FieldDescriptor* f) {
    m->GetReflection()->SetEnumValue(m, f, value);
  });
}

v1::Record WithDouble(std::string_view path, double value) {
  return With(path, [&](Message* m, const FieldDescriptor* f) {
    m->GetReflection()->SetDouble(m, f, value);
  });
}

v1::Record Without(std::string_view path) {
  return With(path,
              [](Message* m, const FieldDescriptor* f) { m->GetReflection()->ClearField(m, f); });
}

v1::Record WithAttendees(std::vector<std::string> attendees) {
  v1::Record record = FullVisit();
  record.mutable_home_visit()->clear_attendees();
  for (std::string& id : attendees) record.mutable_home_visit()->add_attendees(std::move(id));
  return record;
}

// `count` distinct valid ids.
std::vector<std::string> DistinctIds(int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    char id[37];
    std::snprintf(id, sizeof id, "0190a1b2-c3da-7f55-a6b7-%012x", i);
    ids.emplace_back(id);
  }
  return ids;
}

std::string Repeat(std::string_view piece, size_t times) {
  std::string text;
  for (size_t i = 0; i < times; ++i) text += piece;
  return text;
}

// ---------------------------------------------------------------------------------------------
// The table runner.

// One row: a record and the single issue it must produce, or none when `rule` is empty.
struct Case {
  std::string name;
  v1::Record record;
  std::string field;
  std::string rule;
};

Case Valid(std::string name, v1::Record record) {
  return {std::move(name), std::move(record), {}, {}};
}

Case Invalid(std::string name, v1::Record record, std::string field, std::string rule) {
  return {std::move(name), std::move(record), std::move(field), std::move(rule)};
}

// Text `value` in the field at `path`: valid, or exactly one issue of `rule` on that same path.
Case ValidText(std::string_view path, std::string value) {
  return Valid(std::string(path) + " = \"" + value + "\"", WithText(path, value));
}

Case InvalidText(std::string_view path, std::string value, std::string rule) {
  return Invalid(std::string(path) + " = \"" + value + "\"", WithText(path, value),
                 std::string(path), std::move(rule));
}

std::string Describe(const std::vector<ValidationIssue>& issues) {
  std::string text = "issues:";
  for (const ValidationIssue& issue : issues) {
    text += "\n  " + issue.field + " [" + issue.rule + "] " + issue.message;
  }
  return text;
}

void ExpectCases(const std::vector<Case>& cases, const ValidationContext& context = {}) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<ValidationIssue> issues = ValidateRecord(c.record, context);
    if (c.rule.empty()) {
      EXPECT_TRUE(issues.empty()) << Describe(issues);
    } else if (issues.size() != 1) {
      ADD_FAILURE() << "want exactly " << c.field << " [" << c.rule << "]; " << Describe(issues);
    } else {
      EXPECT_EQ(issues[0].field, c.field);
      EXPECT_EQ(issues[0].rule, c.rule);
      EXPECT_FALSE(issues[0].message.empty());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Whole records.

TEST(Validate, FullRecordOfEveryTypeHasNoIssues) {
  ExpectCases({
      Valid("child", FullChild()),
      Valid("family", FullFamily()),
      Valid("contact", FullContact()),
      Valid("home visit", FullVisit()),
      Valid("placement change", FullPlacement()),
  });
}

TEST(Validate, RecordWithOnlyRequiredFieldsHasNoIssues) {
  v1::Record child;
  child.mutable_child()->set_id(kChildId);
  child.mutable_child()->set_given_name("Joaquín");
  child.mutable_child()->set_region("Ayacucho");

  v1::Record family;
  family.mutable_family()->set_id(kFamilyId);
  family.mutable_family()->set_region("Pernambuco");

  v1::Record contact;
  contact.mutable_contact()->set_id(kContactId);
  contact.mutable_contact()->set_child_id(kChildId);
  contact.mutable_contact()->set_given_name("Conceição");
  contact.mutable_contact()->set_relationship(v1::RELATIONSHIP_MOTHER);

  v1::Record visit;
  visit.mutable_home_visit()->set_id(kVisitId);
  visit.mutable_home_visit()->set_child_id(kChildId);
  visit.mutable_home_visit()->set_worker("mpena");
  visit.mutable_home_visit()->set_visited_at("2026-06-03T15:15:00Z");
  visit.mutable_home_visit()->set_kind(v1::VISIT_KIND_ASSESSMENT);

  v1::Record placement;
  placement.mutable_placement_change()->set_id(kPlacementId);
  placement.mutable_placement_change()->set_child_id(kChildId);
  placement.mutable_placement_change()->set_to_placement(v1::PLACEMENT_FOSTER_FAMILY);
  placement.mutable_placement_change()->set_changed_on("2026-05-30");

  v1::Record tombstone = FullChild();
  tombstone.mutable_child()->set_deleted(true);

  ExpectCases({
      Valid("child", child),
      Valid("family", family),
      Valid("contact", contact),
      Valid("home visit", visit),
      Valid("placement change", placement),
      Valid("deleted child", tombstone),
  });
}

TEST(Validate, RecordWithNoKindIsOneRequiredIssue) {
  ExpectCases({Invalid("empty record", v1::Record(), "record", "required")});
}

TEST(Validate, IssuesComeInFieldOrder) {
  v1::Record record = FullVisit();
  v1::HomeVisit& visit = *record.mutable_home_visit();
  visit.set_longitude(200);                    // field 13
  visit.set_id("X");                           // field 1
  visit.clear_latitude();                      // field 12: paired, listed before longitude's range
  visit.set_kind(v1::VISIT_KIND_UNSPECIFIED);  // field 6
  visit.set_worker("");                        // field 4

  const std::vector<ValidationIssue> issues = ValidateRecord(record);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"home_visit.id", "uuid"},         {"home_visit.worker", "required"},
      {"home_visit.kind", "required"},   {"home_visit.latitude", "paired"},
      {"home_visit.longitude", "range"},
  };
  ASSERT_EQ(issues.size(), want.size()) << Describe(issues);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(issues[i].field, want[i].first) << i;
    EXPECT_EQ(issues[i].rule, want[i].second) << i;
  }
}

TEST(Validate, FieldReportsOnlyTheFirstRuleItBreaks) {
  ExpectCases({
      // Too long and not a UUID: the length is reported.
      InvalidText("child.id", std::string(kMaxShortText + 1, 'X'), "max_length"),
      // Not UTF-8 and not a UUID: the encoding is reported.
      InvalidText("child.family_id", "\xFF", "utf8"),
      // Blank with a tab in short text: the control character is reported.
      InvalidText("child.given_name", " \t ", "control_character"),
  });
}

TEST(Validate, CheckRecordReturnsFirstIssueAsInvalidArgument) {
  EXPECT_TRUE(CheckRecord(FullVisit()).ok());
  EXPECT_TRUE(CheckRecord(FullChild(), {.today = "2026-06-03"}).ok());

  v1::Record record = FullVisit();
  record.mutable_home_visit()->set_visited_at("ayer");
  record.mutable_home_visit()->set_next_visit_due("mañana");
  const Status status = CheckRecord(record);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.error().field, "home_visit.visited_at");
  EXPECT_EQ(status.error().message, ValidateRecord(record).front().message);

  const Status future =
      CheckRecord(WithText("child.birth_date", "2026-06-04"), {.today = "2026-06-03"});
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.error().field, "child.birth_date");
  EXPECT_EQ(future.error().ToString(), "child.birth_date: must not be in the future");

  const Status empty = CheckRecord(v1::Record());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().field, "record");
}

// ---------------------------------------------------------------------------------------------
// Ids.

TEST(Validate, IdMustBeCanonicalLowercaseUuid) {
  ExpectCases({
      ValidText("child.id", "00000000-0000-0000-0000-000000000000"),
      ValidText("family.id", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
      InvalidText("child.id", "", "required"),
      InvalidText("family.id", "", "required"),
      InvalidText("contact.id", "", "required"),
      InvalidText("home_visit.id", "", "required"),
      InvalidText("placement_change.id", "", "required"),
      InvalidText("child.id", "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", "uuid"),
      InvalidText("child.id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5B", "uuid"),
      InvalidText("family.id", "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", "uuid"),
      InvalidText("contact.id", "{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}", "uuid"),
      InvalidText("contact.id", "urn:uuid:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "uuid"),
      InvalidText("home_visit.id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", "uuid"),
      InvalidText("home_visit.id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0", "uuid"),
      InvalidText("home_visit.id", "0190a1b-2c3d4-7e5f-8a9b-0c1d2e3f4a5b", "uuid"),
      InvalidText("placement_change.id", "0190a1g2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "uuid"),
      InvalidText("placement_change.id", " 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", "uuid"),
  });
}

TEST(Validate, ReferencedIdsMustBeUuidsAndChildIdIsRequired) {
  ExpectCases({
      ValidText("child.family_id", ""),
      ValidText("contact.family_id", ""),
      ValidText("home_visit.family_id", ""),
      InvalidText("child.family_id", "familia-quispe", "uuid"),
      InvalidText("contact.family_id", "0190A1B2-C3D5-7A00-9B1C-2D3E4F5A6B7C", "uuid"),
      InvalidText("home_visit.family_id", "123", "uuid"),
      InvalidText("contact.child_id", "", "required"),
      InvalidText("home_visit.child_id", "", "required"),
      InvalidText("placement_change.child_id", "", "required"),
      InvalidText("contact.child_id", "niño-1", "uuid"),
      InvalidText("home_visit.child_id", "0190a1b2_c3d4_7e5f_8a9b_0c1d2e3f4a5b", "uuid"),
      InvalidText("placement_change.child_id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5z", "uuid"),
  });
}

TEST(Validate, AttendeesMustBeDistinctUuidsWithinTheLimit) {
  std::vector<std::string> at_limit = DistinctIds(static_cast<int>(kMaxAttendees));
  std::vector<std::string> over_limit = DistinctIds(static_cast<int>(kMaxAttendees) + 1);
  ExpectCases({
      Valid("no attendees", WithAttendees({})),
      Valid("one attendee", WithAttendees({kContactId})),
      Valid("at the limit", WithAttendees(at_limit)),
      Invalid("over the limit", WithAttendees(over_limit), "home_visit.attendees", "max_length"),
      Invalid("repeated id", WithAttendees({kContactId, kOtherContactId, kContactId}),
              "home_visit.attendees[2]", "duplicate"),
      Invalid("not a uuid", WithAttendees({kContactId, "Doña Rosa"}), "home_visit.attendees[1]",
              "uuid"),
      Invalid("empty entry", WithAttendees({"", kContactId}), "home_visit.attendees[0]", "uuid"),
      Invalid("uppercase entry", WithAttendees({"0190A1B2-C3D6-7B11-A2C3-D4E5F6A7B8C9"}),
              "home_visit.attendees[0]", "uuid"),
      Invalid("invalid utf-8 entry", WithAttendees({kContactId, kOtherContactId, "\xC3("}),
              "home_visit.attendees[2]", "utf8"),
  });
}

// ---------------------------------------------------------------------------------------------
// Required text.

TEST(Validate, RequiredTextMustNotBeBlank) {
  std::vector<Case> cases;
  for (const char* path :
       {"child.given_name", "child.region", "family.region", "contact.given_name",
        "home_visit.worker", "home_visit.visited_at", "placement_change.changed_on"}) {
    cases.push_back(InvalidText(path, "", "required"));
    cases.push_back(InvalidText(path, "   ", "required"));
  }
  cases.push_back(InvalidText("child.given_name", "\xC2\xA0", "required"));         // NBSP
  cases.push_back(InvalidText("child.region", "\xE3\x80\x80", "required"));         // ideographic
  cases.push_back(InvalidText("contact.given_name", "\xE2\x80\x8B ", "required"));  // zero width
  cases.push_back(ValidText("child.given_name", "Ñusta"));
  cases.push_back(ValidText("child.given_name", " Ana "));
  cases.push_back(ValidText("child.region", "Apurímac"));
  cases.push_back(ValidText("family.region", "São Paulo"));
  cases.push_back(ValidText("contact.given_name", "Çiçek"));
  cases.push_back(ValidText("home_visit.worker", "joão.conceição"));
  // Optional text may be empty.
  cases.push_back(ValidText("child.family_name", ""));
  cases.push_back(ValidText("family.name", ""));
  cases.push_back(ValidText("child.birth_date", ""));
  cases.push_back(ValidText("contact.phone", ""));
  ExpectCases(cases);
}

// ---------------------------------------------------------------------------------------------
// Dates and timestamps.

TEST(Validate, DatesMustBeRealCalendarDates) {
  std::vector<Case> cases;
  for (const char* path :
       {"child.birth_date", "home_visit.next_visit_due", "placement_change.changed_on"}) {
    cases.push_back(ValidText(path, "2024-02-29"));  // leap year
    cases.push_back(ValidText(path, "2000-02-29"));  // divisible by 400
    cases.push_back(ValidText(path, "2023-12-31"));
    cases.push_back(InvalidText(path, "2023-02-29", "date"));  // not a leap year
    cases.push_back(InvalidText(path, "1900-02-29", "date"));  // divisible by 100
    cases.push_back(InvalidText(path, "2023-04-31", "date"));
  }
  for (const char* bad : {"2023-13-01", "2023-00-10", "2023-01-00", "2023-01-32", "2023-1-05",
                          "2023/01/05", "20230105", "05-01-2023", "2023-01-05T00:00:00Z",
                          " 2023-01-05", "2023-01-05 ", "2023-01-5a", "+2023-01-05", "hoy"}) {
    cases.push_back(InvalidText("child.birth_date", bad, "date"));
  }
  // Fullwidth digits "２０２３".
  cases.push_back(InvalidText("placement_change.changed_on",
                              "\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x92\xEF\xBC\x93-01-05", "date"));
  cases.push_back(ValidText("home_visit.next_visit_due", ""));
  ExpectCases(cases);
}

TEST(Validate, BirthDateMustNotBeInTheFuture) {
  const ValidationContext today{.today = "2026-06-03"};
  ExpectCases(
      {
          ValidText("child.birth_date", "2026-06-03"),
          ValidText("child.birth_date", "2026-06-02"),
          InvalidText("child.birth_date", "2026-06-04", "not_future"),
          InvalidText("child.birth_date", "2027-01-01", "not_future"),
          // Other dates may be in the future.
          ValidText("home_visit.next_visit_due", "2026-07-01"),
          ValidText("placement_change.changed_on", "2026-06-10"),
      },
      today);
  // Without a date for today the check is skipped.
  ExpectCases({ValidText("child.birth_date", "2099-12-31")});
}

TEST(Validate, VisitedAtMustBeRfc3339) {
  std::vector<Case> cases;
  for (const char* good : {
           "2026-06-03T10:15:00Z",
           "2026-06-03T10:15:00-05:00",  // Lima, Bogotá
           "2026-06-03T10:15:00-03:00",  // São Paulo, Buenos Aires
           "2026-06-03T10:15:00+05:30",
           "2026-06-03T10:15:00-00:00",  // RFC 3339: offset unknown
           "2026-06-03T23:59:59+14:00", "2026-06-03T00:00:00-12:00", "2026-06-03T10:15:00.5Z",
           "2026-06-03T10:15:00.123-05:00", "2026-06-03T10:15:00.123456789+01:00",
           "2024-02-29T12:00:00Z",  // leap day
           "2016-12-31T23:59:60Z",  // leap second
       }) {
    cases.push_back(ValidText("home_visit.visited_at", good));
  }
  for (const char* bad : {
           "2026-06-03T10:15-05:00",      // no seconds
           "2026-06-03T10:15:00",         // no offset
           "2026-06-03",                  // a date only
           "1780499700",                  // seconds since the epoch
           "2026-06-03 10:15:00Z",        // space for T
           "2026-06-03t10:15:00Z",        // lowercase t
           "2026-06-03T10:15:00z",        // lowercase z
           "2026-06-03T24:00:00Z",        // hour 24
           "2026-06-03T10:60:00Z",        // minute 60
           "2026-06-03T10:15:61Z",        // second 61
           "2026-06-03T1:15:00Z",         // one-digit hour
           "2023-02-29T10:15:00Z",        // not a leap year
           "2026-06-03T10:15:00+24:00",   // offset hour 24
           "2026-06-03T10:15:00+05:60",   // offset minute 60
           "2026-06-03T10:15:00+0500",    // offset without colon
           "2026-06-03T10:15:00+05",      // offset without minutes
           "2026-06-03T10:15:00.Z",       // fraction without digits
           "2026-06-03T10:15:00,5Z",      // comma fraction
           "2026-06-03T10:15:00Z ",       // trailing space
           "2026-06-03T10:15:00-05:00 ",  // trailing space
           "2026-06-03T10:15:00 -05:00",  // space before offset
           "2026-06-03T10:15:00Z-05:00",  // two offsets
       }) {
    cases.push_back(InvalidText("home_visit.visited_at", bad, "timestamp"));
  }
  ExpectCases(cases);
}

// ---------------------------------------------------------------------------------------------
// Enums.

TEST(Validate, EnumsMustBeDefinedValues) {
  ExpectCases({
      Valid("sex other", WithEnum("child.sex", v1::SEX_OTHER)),
      Valid("optional enum unspecified", WithEnum("child.placement", 0)),
      Valid("from placement unspecified", WithEnum("placement_change.from_placement", 0)),
      Valid("risk assessment high", WithEnum("home_visit.risk_assessment", v1::RISK_LEVEL_HIGH)),
      Invalid("sex 99", WithEnum("child.sex", 99), "child.sex", "enum"),
      Invalid("placement -1", WithEnum("child.placement", -1), "child.placement", "enum"),
      Invalid("status 4", WithEnum("child.status", 4), "child.status", "enum"),
      Invalid("risk level 7", WithEnum("child.risk_level", 7), "child.risk_level", "enum"),
      Invalid("relationship 10", WithEnum("contact.relationship", 10), "contact.relationship",
              "enum"),
      Invalid("kind 6", WithEnum("home_visit.kind", 6), "home_visit.kind", "enum"),
      Invalid("risk assessment 4", WithEnum("home_visit.risk_assessment", 4),
              "home_visit.risk_assessment", "enum"),
      Invalid("from placement 7", WithEnum("placement_change.from_placement", 7),
              "placement_change.from_placement", "enum"),
      Invalid("to placement 1000", WithEnum("placement_change.to_placement", 1000),
              "placement_change.to_placement", "enum"),
  });
}

TEST(Validate, RequiredEnumsMustNotBeUnspecified) {
  ExpectCases({
      Invalid("relationship", WithEnum("contact.relationship", 0), "contact.relationship",
              "required"),
      Invalid("kind", WithEnum("home_visit.kind", 0), "home_visit.kind", "required"),
      Invalid("to placement", WithEnum("placement_change.to_placement", 0),
              "placement_change.to_placement", "required"),
      Valid("relationship other", WithEnum("contact.relationship", v1::RELATIONSHIP_OTHER)),
      Valid("kind other", WithEnum("home_visit.kind", v1::VISIT_KIND_OTHER)),
      Valid("to placement other", WithEnum("placement_change.to_placement", v1::PLACEMENT_OTHER)),
  });
}

// ---------------------------------------------------------------------------------------------
// Coordinates.

TEST(Validate, CoordinatesMustBeFiniteAndInRange) {
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ExpectCases({
      Valid("latitude 90", WithDouble("home_visit.latitude", 90)),
      Valid("latitude -90", WithDouble("home_visit.latitude", -90)),
      Valid("latitude 0", WithDouble("home_visit.latitude", 0)),
      Valid("longitude 180", WithDouble("home_visit.longitude", 180)),
      Valid("longitude -180", WithDouble("home_visit.longitude", -180)),
      Invalid("latitude 90.0001", WithDouble("home_visit.latitude", 90.0001), "home_visit.latitude",
              "range"),
      Invalid("latitude -91", WithDouble("home_visit.latitude", -91), "home_visit.latitude",
              "range"),
      Invalid("latitude NaN", WithDouble("home_visit.latitude", kNan), "home_visit.latitude",
              "range"),
      Invalid("latitude inf", WithDouble("home_visit.latitude", kInf), "home_visit.latitude",
              "range"),
      Invalid("longitude 180.5", WithDouble("home_visit.longitude", 180.5), "home_visit.longitude",
              "range"),
      Invalid("longitude -inf", WithDouble("home_visit.longitude", -kInf), "home_visit.longitude",
              "range"),
      Invalid("longitude NaN", WithDouble("home_visit.longitude", kNan), "home_visit.longitude",
              "range"),
  });
}

TEST(Validate, CoordinatesMustBeBothPresentOrBothAbsent) {
  v1::Record neither = FullVisit();
  neither.mutable_home_visit()->clear_latitude();
  neither.mutable_home_visit()->clear_longitude();
  v1::Record zeros = FullVisit();
  zeros.mutable_home_visit()->set_latitude(0);
  zeros.mutable_home_visit()->set_longitude(0);
  ExpectCases({
      Valid("neither", neither),
      Valid("both zero (present, not absent)", zeros),
      Invalid("longitude only", Without("home_visit.latitude"), "home_visit.latitude", "paired"),
      Invalid("latitude only", Without("home_visit.longitude"), "home_visit.longitude", "paired"),
  });
}

// ---------------------------------------------------------------------------------------------
// Text: encoding, control characters, length.

TEST(Validate, TextMustBeValidUtf8) {
  std::vector<Case> cases = {
      ValidText("child.given_name", "José Ñandú"),
      ValidText("child.family_name", "Peña Çelik"),
      ValidText("family.name", "Família Conceição Araújo"),
      ValidText("contact.given_name", "Ânderson"),
      ValidText("home_visit.observations", "A criança está bem. Niña alegre. 小明 👧🏽"),
      ValidText("child.programme", "\xED\x9F\xBF"),      // U+D7FF, just below the surrogates
      ValidText("child.programme", "\xEE\x80\x80"),      // U+E000, just above them
      ValidText("child.programme", "\xF4\x8F\xBF\xBF"),  // U+10FFFF, the last code point
      ValidText("child.programme", "\xEF\xBF\xBD"),      // U+FFFD
  };
  for (const char* bad : {
           "Jos\xE9",  // Latin-1 é
           "\xC3",     // cut short
           "ab\xE2\x82"
           "cd",                // cut short in the middle
           "\xF0\x9F\x91",      // 4-byte sequence cut short
           "\x80",              // stray continuation byte
           "\xC0\xAF",          // overlong '/'
           "\xC1\xBF",          // overlong
           "\xE0\x80\xAF",      // overlong 3-byte
           "\xF0\x80\x80\xAF",  // overlong 4-byte
           "\xED\xA0\x80",      // U+D800 surrogate
           "\xED\xBF\xBF",      // U+DFFF surrogate
           "\xF4\x90\x80\x80",  // U+110000
           "\xF5\x80\x80\x80",  // lead byte above F4
           "\xFF",
       }) {
    cases.push_back(InvalidText("child.given_name", bad, "utf8"));
  }
  cases.push_back(InvalidText("family.notes", "Avó \xED\xA0\x80", "utf8"));
  cases.push_back(InvalidText("home_visit.worker", "m\xC3pena", "utf8"));
  cases.push_back(InvalidText("placement_change.reason", "Reintegra\xE7\xE3o", "utf8"));
  ExpectCases(cases);
}

TEST(Validate, ShortTextMustNotContainControlCharacters) {
  ExpectCases({
      ValidText("child.given_name", "Ana María"),
      InvalidText("child.given_name", "Ana\nMaría", "control_character"),
      InvalidText("child.family_name", "Peña\t", "control_character"),
      InvalidText("family.name", "Familia\r", "control_character"),
      InvalidText("contact.phone",
                  "984\x7F"
                  "123456",
                  "control_character"),
      InvalidText("home_visit.worker", "\x1B[31mmpena", "control_character"),
      InvalidText("placement_change.reason", "C1 \xC2\x85 control", "control_character"),
      Invalid("NUL", WithText("child.region", std::string("Cusco\0", 6)), "child.region",
              "control_character"),
  });
}

TEST(Validate, LongTextAllowsOnlyTabAndLineBreaks) {
  ExpectCases({
      ValidText("home_visit.observations", "Línea uno\r\nLínea dos\n\tcon sangría"),
      ValidText("contact.address", "Rua A, 1\nBairro São José"),
      InvalidText("home_visit.agreed_actions", "Ação\x01", "control_character"),
      InvalidText("child.notes", "\x0Bvertical tab", "control_character"),
      InvalidText("family.address", "C1 \xC2\x9B control", "control_character"),
      Invalid("NUL", WithText("contact.notes", std::string("nota\0", 5)), "contact.notes",
              "control_character"),
  });
}

TEST(Validate, TextMustFitItsLengthLimitInBytes) {
  ExpectCases({
      ValidText("child.given_name", std::string(kMaxShortText, 'a')),
      ValidText("child.given_name", Repeat("ñ", kMaxShortText / 2)),
      InvalidText("child.given_name", std::string(kMaxShortText + 1, 'a'), "max_length"),
      InvalidText("child.given_name", Repeat("ñ", kMaxShortText / 2) + "a", "max_length"),
      InvalidText("child.programme", std::string(kMaxShortText + 1, 'p'), "max_length"),
      InvalidText("child.assigned_worker", std::string(kMaxShortText + 1, 'w'), "max_length"),
      InvalidText("family.name", std::string(kMaxShortText + 1, 'f'), "max_length"),
      InvalidText("contact.phone", std::string(kMaxShortText + 1, '9'), "max_length"),
      InvalidText("placement_change.reason", std::string(kMaxShortText + 1, 'r'), "max_length"),
      ValidText("family.notes", std::string(kMaxLongText, 'n')),
      ValidText("home_visit.observations", Repeat("ç", kMaxLongText / 2)),
      InvalidText("family.notes", std::string(kMaxLongText + 1, 'n'), "max_length"),
      InvalidText("home_visit.observations", Repeat("ç", kMaxLongText / 2) + ".", "max_length"),
      InvalidText("contact.address", std::string(kMaxLongText + 1, 'a'), "max_length"),
  });
}

// ---------------------------------------------------------------------------------------------
// Phone.

TEST(Validate, PhoneMustBeDigitsAndPunctuation) {
  std::vector<Case> cases;
  for (const char* good : {"+51 984 123 456", "(01) 234-5678", "123456", "+55 (71) 98765-4321"}) {
    cases.push_back(ValidText("contact.phone", good));
  }
  for (const char* bad : {"12345", "+51 (1) 2-3", "984.123.456", "984/123456", "tel 984123456",
                          "+51 984 123 456 ext 2", "+-() ",
                          "\xEF\xBC\x99"
                          "84123456"}) {
    cases.push_back(InvalidText("contact.phone", bad, "phone"));
  }
  ExpectCases(cases);
}

// ---------------------------------------------------------------------------------------------
// Building blocks.

TEST(Validate, IsUuidAcceptsOnlyCanonicalLowercase) {
  EXPECT_TRUE(IsUuid(kChildId));
  EXPECT_TRUE(IsUuid("00000000-0000-0000-0000-000000000000"));
  for (const char* bad :
       {"", "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", "0190a1b2-c3d4-7e5f-8a9b0-c1d2e3f4a5b"}) {
    EXPECT_FALSE(IsUuid(bad)) << bad;
  }
}

TEST(Validate, IsDateKnowsLeapYears) {
  for (const char* good : {"2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31"}) {
    EXPECT_TRUE(IsDate(good)) << good;
  }
  for (const char* bad : {"2023-02-29", "2100-02-29", "2024-02-30", "2024-06-31", ""}) {
    EXPECT_FALSE(IsDate(bad)) << bad;
  }
}

TEST(Validate, IsTimestampNeedsSecondsAndOffset) {
  for (const char* good : {"2026-06-03T10:15:00Z", "2026-06-03T10:15:00.25-05:00"}) {
    EXPECT_TRUE(IsTimestamp(good)) << good;
  }
  for (const char* bad : {"2026-06-03T10:15Z", "2026-06-03T10:15:00", "", "2026-06-03T"}) {
    EXPECT_FALSE(IsTimestamp(bad)) << bad;
  }
}

TEST(Validate, IsValidUtf8RejectsOverlongsSurrogatesAndTruncation) {
  for (const char* good : {"", "ascii", "ñ ç ã é", "\xF0\x9F\x91\xA7"}) {
    EXPECT_TRUE(IsValidUtf8(good)) << good;
  }
  for (const char* bad : {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xBF"}) {
    EXPECT_FALSE(IsValidUtf8(bad));
  }
}

}  // namespace
}  // namespace vinculo
