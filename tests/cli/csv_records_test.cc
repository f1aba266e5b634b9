#include "client/cli/csv_records.h"

#include <gtest/gtest.h>

#include "common/validate.h"

namespace vinculo::client::cli {
namespace {

constexpr char kToday[] = "2026-06-10";
constexpr char kChild[] = "019e8388-e492-7621-bcd7-000000000c01";

CsvRow Row(size_t line, std::vector<std::string> fields) { return {line, std::move(fields)}; }

CsvRecordReader Reader(v1::RecordType type, std::vector<std::string> header) {
  Result<CsvRecordReader> r = CsvRecordReader::FromHeader(type, Row(1, std::move(header)));
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return std::move(r).value();
}

std::vector<std::string> Issues(const CsvRecordRow& row) {
  std::vector<std::string> out;
  for (const CsvIssue& i : row.issues) out.push_back(i.ToString());
  return out;
}

TEST(CsvRecords, HeaderTakesFieldNamesKebabCaseAndFlagNames) {
  CsvRecordReader reader = Reader(
      v1::RECORD_TYPE_HOME_VISIT,
      {"Child", "visited-at", "WORKER", "kind", "attendee", "next due", "risk", "lat", "lon"});
  CsvRecordRow row = reader.Read(
      Row(2, {kChild, "2026-06-03T10:15:00-05:00", "ana", "Follow up",
              " 019e8388-e492-7621-bcd7-000000000d01 ; 019e8388-e492-7621-bcd7-000000000d02;",
              "2026-06-17", "HIGH", "-13,5319", "-71.9675"}),
      kToday);
  ASSERT_TRUE(row.issues.empty()) << ::testing::PrintToString(Issues(row));
  const v1::HomeVisit& v = row.record.home_visit();
  EXPECT_EQ(v.child_id(), kChild);
  EXPECT_EQ(v.kind(), v1::VISIT_KIND_FOLLOW_UP);
  ASSERT_EQ(v.attendees_size(), 2);
  EXPECT_EQ(v.attendees(1), "019e8388-e492-7621-bcd7-000000000d02");
  EXPECT_EQ(v.next_visit_due(), "2026-06-17");
  EXPECT_EQ(v.risk_assessment(), v1::RISK_LEVEL_HIGH);
  EXPECT_DOUBLE_EQ(v.latitude(), -13.5319);
  EXPECT_FALSE(row.id_given);
  EXPECT_TRUE(IsUuid(v.id()));
}

TEST(CsvRecords, UnknownAndRepeatedColumnsAreRefusedTogether) {
  Result<CsvRecordReader> r = CsvRecordReader::FromHeader(
      v1::RECORD_TYPE_CHILD, Row(1, {"given_name", "edad", "given-name", "region"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("line 1: unknown column 'edad'"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("columns 'given_name' and 'given-name' both name given_name"),
            std::string::npos);
  EXPECT_NE(r.error().message.find("the columns of a child are: id, given_name"),
            std::string::npos);
}

TEST(CsvRecords, DeletedIsNotAColumn) {
  EXPECT_FALSE(
      CsvRecordReader::FromHeader(v1::RECORD_TYPE_CHILD, Row(1, {"given_name", "deleted"})));
}

TEST(CsvRecords, EveryIssueOfARowIsReportedInFieldOrder) {
  CsvRecordReader reader =
      Reader(v1::RECORD_TYPE_HOME_VISIT, {"child_id", "worker", "visited_at", "kind", "lat"});
  CsvRecordRow row = reader.Read(Row(7, {kChild, "", "ayer", "folow-up", "norte"}), kToday);
  EXPECT_EQ(Issues(row),
            (std::vector<std::string>{
                "line 7: home_visit.worker: is required (required)",
                "line 7: home_visit.visited_at: must be a date and time with seconds and an "
                "offset, e.g. 2026-06-03T10:15:00-05:00 (timestamp)",
                "line 7: home_visit.kind: 'folow-up' is not one of: assessment, follow-up, "
                "reintegration-preparation, post-reintegration-monitoring, other (enum)",
                "line 7: home_visit.latitude: 'norte' is not a number of degrees, e.g. -13.5319 "
                "(number)",
            }));
}

TEST(CsvRecords, WrongNumberOfFields) {
  CsvRecordReader reader = Reader(v1::RECORD_TYPE_CHILD, {"given_name", "region"});
  CsvRecordRow row = reader.Read(Row(4, {"Lucía", "Cusco", "extra"}), kToday);
  EXPECT_EQ(Issues(row),
            (std::vector<std::string>{"line 4: has 3 fields, the header has 2 (columns)"}));
}

TEST(CsvRecords, InvalidUtf8SaysHowToSaveTheFile) {
  CsvRecordReader reader = Reader(v1::RECORD_TYPE_CHILD, {"given_name", "region"});
  CsvRecordRow row = reader.Read(Row(2, {"Luc\xED"
                                         "a",
                                         "Cusco"}),
                                 kToday);  // Latin-1 í
  ASSERT_EQ(row.issues.size(), 1u);
  EXPECT_EQ(row.issues[0].field, "child.given_name");
  EXPECT_EQ(row.issues[0].rule, "utf8");
  EXPECT_NE(row.issues[0].message.find("CSV UTF-8"), std::string::npos);
}

TEST(CsvRecords, BooleansAndEnumsInSeveralSpellings) {
  CsvRecordReader reader =
      Reader(v1::RECORD_TYPE_CONTACT, {"child", "given_name", "relationship", "consent"});
  for (const char* yes : {"yes", "Sí", "si", "TRUE", "1"}) {
    CsvRecordRow row = reader.Read(Row(2, {kChild, "Rosa", "MOTHER", yes}), kToday);
    ASSERT_TRUE(row.issues.empty()) << yes << ::testing::PrintToString(Issues(row));
    EXPECT_TRUE(row.record.contact().consent_to_contact()) << yes;
    EXPECT_EQ(row.record.contact().relationship(), v1::RELATIONSHIP_MOTHER);
  }
  CsvRecordRow full =
      reader.Read(Row(2, {kChild, "Rosa", "RELATIONSHIP_AUNT_UNCLE", "no"}), kToday);
  ASSERT_TRUE(full.issues.empty());
  EXPECT_EQ(full.record.contact().relationship(), v1::RELATIONSHIP_AUNT_UNCLE);
  EXPECT_FALSE(full.record.contact().consent_to_contact());
}

TEST(CsvRecords, IdColumnIsHonoured) {
  CsvRecordReader reader = Reader(v1::RECORD_TYPE_CHILD, {"id", "given_name", "region"});
  EXPECT_TRUE(reader.has_id_column());
  CsvRecordRow row =
      reader.Read(Row(2, {"019e8388-e492-7621-bcd7-00000000abcd", "Lucía", "Cusco"}), kToday);
  ASSERT_TRUE(row.issues.empty());
  EXPECT_TRUE(row.id_given);
  EXPECT_EQ(row.record.child().id(), "019e8388-e492-7621-bcd7-00000000abcd");
  CsvRecordRow bad = reader.Read(Row(3, {"not-a-uuid", "Lucía", "Cusco"}), kToday);
  ASSERT_EQ(bad.issues.size(), 1u);
  EXPECT_EQ(bad.issues[0].field, "child.id");
  // An empty id cell falls back to the natural key.
  CsvRecordRow empty = reader.Read(Row(4, {"", "Lucía", "Cusco"}), kToday);
  ASSERT_TRUE(empty.issues.empty());
  EXPECT_FALSE(empty.id_given);
}

TEST(CsvRecords, NaturalKeyIdIsStableAndVersion8) {
  CsvRecordReader a =
      Reader(v1::RECORD_TYPE_CHILD, {"given_name", "family_name", "birth_date", "region", "notes"});
  CsvRecordReader b =
      Reader(v1::RECORD_TYPE_CHILD, {"region", "notes", "birth-date", "family-name", "given-name"});
  CsvRecordRow one = a.Read(Row(2, {"Lucía", "Quispe", "2015-03-02", "Cusco", "uno"}), kToday);
  CsvRecordRow two =
      b.Read(Row(9, {"Cusco", "otra nota", "2015-03-02", "Quispe", " Lucía "}), kToday);
  ASSERT_TRUE(one.issues.empty() && two.issues.empty());
  // Same key fields (notes are not part of the key; cells are trimmed): the same id.
  EXPECT_EQ(one.record.child().id(), two.record.child().id());
  const std::string& id = one.record.child().id();
  EXPECT_EQ(id[14], '8');                                          // version 8
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);  // variant 10
  EXPECT_EQ(id, NaturalKeyId(one.record));
  CsvRecordRow other = a.Read(Row(3, {"Lucía", "Quispe", "2015-03-02", "Puno", "uno"}), kToday);
  EXPECT_NE(other.record.child().id(), id);
}

TEST(CsvRecords, NaturalKeyIdIsPinned) {
  // STORED: a later build must derive the same id for the same row, or re-imports duplicate.
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_child_id(kChild);
  v->set_visited_at("2026-06-03T10:15:00-05:00");
  v->set_worker("ana");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  const std::string id = NaturalKeyId(r);
  v->set_observations("other text");
  v->set_kind(v1::VISIT_KIND_ASSESSMENT);
  EXPECT_EQ(NaturalKeyId(r), id);  // only child, instant and worker count
  EXPECT_EQ(id, "5b507154-ae0d-8d88-8a1f-bd87ef291210");
}

}  // namespace
}  // namespace vinculo::client::cli
