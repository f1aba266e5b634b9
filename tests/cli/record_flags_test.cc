#include "client/cli/record_flags.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <set>

#include "common/record.h"

namespace vinculo::client::cli {
namespace {

namespace pb = google::protobuf;

constexpr v1::RecordType kTypes[] = {v1::RECORD_TYPE_CHILD, v1::RECORD_TYPE_FAMILY,
                                     v1::RECORD_TYPE_CONTACT, v1::RECORD_TYPE_HOME_VISIT,
                                     v1::RECORD_TYPE_PLACEMENT_CHANGE};

// A new field in records.proto must get a flag (or this test says which is missing).
TEST(CliRecordFlags, CoverEveryFieldButIdAndDeleted) {
  for (v1::RecordType type : kTypes) {
    const pb::Descriptor* d = RecordDescriptor(type);
    std::set<int> expected;
    for (int i = 0; i < d->field_count(); ++i) {
      const int n = d->field(i)->number();
      if (n != kIdField && n != kDeletedField) expected.insert(n);
    }
    std::set<int> flagged;
    std::set<std::string> names;
    for (const FlagSpec& spec : FlagSpecs(type)) {
      flagged.insert(spec.field);
      EXPECT_TRUE(names.insert(FlagName(type, spec)).second) << FlagName(type, spec);
      const pb::FieldDescriptor* f = d->FindFieldByNumber(spec.field);
      ASSERT_NE(f, nullptr) << d->name() << " " << spec.field;
      // The value kinds ApplyTo knows.
      const bool supported =
          f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING ||
          (!f->is_repeated() && (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM ||
                                 f->cpp_type() == pb::FieldDescriptor::CPPTYPE_BOOL ||
                                 f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE));
      EXPECT_TRUE(supported) << d->name() << "." << f->name();
    }
    EXPECT_EQ(flagged, expected) << d->name();
  }
}

TEST(CliRecordFlags, NamesAreKebabCaseUnlessShortened) {
  std::vector<std::string> names;
  for (const FlagSpec& spec : FlagSpecs(v1::RECORD_TYPE_HOME_VISIT)) {
    names.push_back(FlagName(v1::RECORD_TYPE_HOME_VISIT, spec));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"child", "family", "worker", "visited-at", "kind",
                                             "attendee", "observations", "risk", "agreed-actions",
                                             "next-due", "lat", "lon"}));
}

TEST(CliRecordFlags, ApplyToWritesOnlyTheGivenFlags) {
  CLI::App app;
  std::shared_ptr<RecordFlags> flags = RecordFlags::AddTo(app, v1::RECORD_TYPE_HOME_VISIT);
  std::vector<std::string> args = {"--kind",     "follow-up", "--attendee",     "a",
                                   "--attendee", "b",         "--observations", "",
                                   "--risk",     "high",      "--lat",          ""};
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector of arguments last first
  app.parse(args);
  v1::Record record;
  record.mutable_home_visit()->set_latitude(1.5);
  record.mutable_home_visit()->set_observations("old");
  record.mutable_home_visit()->set_worker("ana");
  EXPECT_EQ(flags->ApplyTo(&record), (std::vector<uint32_t>{6, 7, 8, 9, 12}));
  const v1::HomeVisit& v = record.home_visit();
  EXPECT_EQ(v.kind(), v1::VISIT_KIND_FOLLOW_UP);
  EXPECT_EQ(v.risk_assessment(), v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(v.observations(), "");  // "" clears
  EXPECT_FALSE(v.has_latitude());   // "" clears
  EXPECT_EQ(v.worker(), "ana");     // not given: left alone
  ASSERT_EQ(v.attendees_size(), 2);
  EXPECT_EQ(v.attendees(1), "b");
  EXPECT_TRUE(flags->given(12));
  EXPECT_FALSE(flags->given(13));
  EXPECT_EQ(flags->given_flags(), (std::vector<std::string>{"--kind", "--attendee",
                                                            "--observations", "--risk", "--lat"}));
}

}  // namespace
}  // namespace vinculo::client::cli
