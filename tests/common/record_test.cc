#include "common/record.h"

#include <gtest/gtest.h>

namespace vinculo {
namespace {

TEST(Record, TypeAndIdOfEveryKind) {
  v1::Record r;
  EXPECT_EQ(TypeOf(r), v1::RECORD_TYPE_UNSPECIFIED);
  EXPECT_EQ(RecordMessage(r), nullptr);
  EXPECT_EQ(RecordId(r), "");

  r.mutable_home_visit()->set_id("v1");
  EXPECT_EQ(TypeOf(r), v1::RECORD_TYPE_HOME_VISIT);
  EXPECT_EQ(RecordId(r), "v1");
  r.mutable_placement_change()->set_id("p1");
  EXPECT_EQ(TypeOf(r), v1::RECORD_TYPE_PLACEMENT_CHANGE);
  EXPECT_EQ(RecordId(r), "p1");
}

TEST(Record, MutableMessageSwitchesKind) {
  v1::Record r;
  r.mutable_child()->set_id("c");
  google::protobuf::Message* m = MutableRecordMessage(&r, v1::RECORD_TYPE_FAMILY);
  EXPECT_EQ(m->GetDescriptor(), v1::Family::descriptor());
  EXPECT_EQ(TypeOf(r), v1::RECORD_TYPE_FAMILY);
}

TEST(Record, EveryRecordTypeHasIdAndDeletedAtSharedNumbers) {
  for (int t = 1; t <= 5; ++t) {
    const auto* d = RecordDescriptor(static_cast<v1::RecordType>(t));
    ASSERT_NE(d, nullptr) << t;
    EXPECT_EQ(d->FindFieldByNumber(kIdField)->name(), "id") << d->name();
    EXPECT_EQ(d->FindFieldByNumber(kDeletedField)->name(), "deleted") << d->name();
  }
}

TEST(Record, TypeNamesRoundTrip) {
  for (int t = 1; t <= 5; ++t) {
    auto type = static_cast<v1::RecordType>(t);
    EXPECT_EQ(ParseRecordTypeName(RecordTypeName(type)), type);
  }
  EXPECT_EQ(ParseRecordTypeName("dog"), std::nullopt);
  v1::Record r;
  r.mutable_contact()->set_deleted(true);
  EXPECT_TRUE(IsDeleted(r));
}

}  // namespace
}  // namespace vinculo
