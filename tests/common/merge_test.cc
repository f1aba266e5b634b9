#include "common/merge.h"

#include <gtest/gtest.h>

#include "common/record.h"

namespace vinculo {
namespace {

constexpr char kId[] = "01890a5d-ac96-774b-bcce-b302099a8057";
constexpr char kA[] = "device-a";
constexpr char kB[] = "device-b";

// Contact field numbers used below (records.proto).
constexpr uint32_t kGivenName = 4;
constexpr uint32_t kPhone = 7;
constexpr uint32_t kNotes = 10;

v1::Record Contact(std::string phone = "", std::string given_name = "") {
  v1::Record r;
  v1::Contact* c = r.mutable_contact();
  c->set_id(kId);
  c->set_phone(std::move(phone));
  c->set_given_name(std::move(given_name));
  return r;
}

v1::Record Deleted(bool deleted) {
  v1::Record r = Contact();
  r.mutable_contact()->set_deleted(deleted);
  return r;
}

// A device's edit of `fields` made from `state`, as the device would queue it.
v1::Mutation Edit(const v1::RecordState& state, const v1::Record& values,
                  std::vector<uint32_t> fields, HlcValue hlc) {
  return MakeMutation(state, values, fields, hlc, /*seq=*/1);
}

ApplyOutcome MustApply(v1::RecordState* state, const v1::Mutation& m, std::string_view device) {
  Result<ApplyOutcome> r = ApplyMutation(state, m, device);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return r.has_value() ? *r : ApplyOutcome{};
}

// The state both devices start from: a contact created by device A at hlc 100.
v1::RecordState Created() {
  v1::RecordState state;
  v1::Record values = Contact("+51 1 111", "Rosa");
  MustApply(&state, Edit(state, values, SetFields(values), 100), kA);
  return state;
}

TEST(Merge, NewRecordTakesEveryWrittenField) {
  v1::RecordState state = Created();
  EXPECT_EQ(state.record().contact().phone(), "+51 1 111");
  EXPECT_EQ(state.record().contact().given_name(), "Rosa");
  EXPECT_EQ(state.record().contact().id(), kId);
  ASSERT_EQ(state.stamps_size(), 2);
  EXPECT_EQ(state.stamps(0).field(), kGivenName);
  EXPECT_EQ(FieldStampOf(state, kPhone).hlc(), 100u);
  EXPECT_EQ(FieldStampOf(state, kPhone).device(), kA);
  EXPECT_TRUE(IsZeroStamp(FieldStampOf(state, kNotes)));
}

TEST(Merge, SequentialEditWinsWithoutConflict) {
  v1::RecordState server = Created();
  ApplyOutcome out = MustApply(&server, Edit(server, Contact("+51 1 222"), {kPhone}, 200), kB);
  EXPECT_TRUE(out.changed);
  EXPECT_TRUE(out.conflicts.empty());
  EXPECT_EQ(server.record().contact().phone(), "+51 1 222");
  EXPECT_EQ(server.record().contact().given_name(), "Rosa");  // untouched field stays
}

TEST(Merge, ConcurrentEditsHigherStampWinsAndLoserIsLogged) {
  const v1::RecordState base = Created();
  v1::Mutation from_a = Edit(base, Contact("+51 1 AAA"), {kPhone}, 300);
  v1::Mutation from_b = Edit(base, Contact("+51 1 BBB"), {kPhone}, 200);

  // Whatever the arrival order, A (hlc 300) wins and B's value is the one conflict.
  for (bool a_first : {true, false}) {
    v1::RecordState server = base;
    ApplyOutcome first = MustApply(&server, a_first ? from_a : from_b, a_first ? kA : kB);
    ApplyOutcome second = MustApply(&server, a_first ? from_b : from_a, a_first ? kB : kA);
    EXPECT_TRUE(first.conflicts.empty());
    ASSERT_EQ(second.conflicts.size(), 1u);
    const v1::Conflict& c = second.conflicts[0];
    EXPECT_EQ(c.kind(), v1::CONFLICT_KIND_CONCURRENT_WRITE);
    EXPECT_EQ(c.record_id(), kId);
    EXPECT_EQ(c.field(), kPhone);
    EXPECT_EQ(c.field_name(), "phone");
    EXPECT_EQ(c.losing().contact().phone(), "+51 1 BBB");
    EXPECT_EQ(c.losing_stamp().device(), kB);
    EXPECT_EQ(c.winning().contact().phone(), "+51 1 AAA");
    EXPECT_EQ(c.winning_stamp().hlc(), 300u);
    EXPECT_EQ(server.record().contact().phone(), "+51 1 AAA");
  }
}

TEST(Merge, ConcurrentEditsToSameValueAreNotAConflict) {
  const v1::RecordState base = Created();
  v1::RecordState server = base;
  MustApply(&server, Edit(base, Contact("+51 1 999"), {kPhone}, 300), kA);
  ApplyOutcome out = MustApply(&server, Edit(base, Contact("+51 1 999"), {kPhone}, 200), kB);
  EXPECT_TRUE(out.conflicts.empty());
}

TEST(Merge, ConcurrentEditsOfDifferentFieldsBothSurvive) {
  const v1::RecordState base = Created();
  v1::RecordState server = base;
  MustApply(&server, Edit(base, Contact("+51 1 999"), {kPhone}, 300), kA);
  ApplyOutcome out = MustApply(&server, Edit(base, Contact("", "Rosa María"), {kGivenName}, 200), kB);
  EXPECT_TRUE(out.conflicts.empty());
  EXPECT_EQ(server.record().contact().phone(), "+51 1 999");
  EXPECT_EQ(server.record().contact().given_name(), "Rosa María");
}

TEST(Merge, ReplayedMutationChangesNothingAndLogsNothingNew) {
  const v1::RecordState base = Created();
  v1::RecordState server = base;
  v1::Mutation from_a = Edit(base, Contact("+51 1 AAA"), {kPhone}, 300);
  v1::Mutation from_b = Edit(base, Contact("+51 1 BBB"), {kPhone}, 200);
  MustApply(&server, from_a, kA);
  EXPECT_EQ(MustApply(&server, from_b, kB).conflicts.size(), 1u);
  const std::string before = server.SerializeAsString();
  for (int i = 0; i < 3; ++i) {
    ApplyOutcome again_b = MustApply(&server, from_b, kB);
    ApplyOutcome again_a = MustApply(&server, from_a, kA);
    EXPECT_FALSE(again_a.changed);
    EXPECT_TRUE(again_a.conflicts.empty());
    // B's write lost; replaying it meets the same winner, and reports the same conflict key.
    for (const v1::Conflict& c : again_b.conflicts) EXPECT_EQ(c.losing_stamp().hlc(), 200u);
  }
  EXPECT_EQ(server.SerializeAsString(), before);
}

TEST(Merge, DeleteOverUnseenEditIsLogged) {
  const v1::RecordState base = Created();
  v1::RecordState server = base;
  MustApply(&server, Edit(base, Contact("+51 1 NEW"), {kPhone}, 200), kB);  // B edits
  // A deletes, having seen only the created record.
  ApplyOutcome out = MustApply(&server, Edit(base, Deleted(true), {kDeletedField}, 300), kA);
  EXPECT_TRUE(server.record().contact().deleted());
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].kind(), v1::CONFLICT_KIND_DELETE_OF_EDITED);
  EXPECT_EQ(out.conflicts[0].field_name(), "phone");
  EXPECT_EQ(out.conflicts[0].losing().contact().phone(), "+51 1 NEW");
  EXPECT_TRUE(out.conflicts[0].winning().contact().deleted());
}

TEST(Merge, EditOfUnseenDeleteIsLoggedAndRecordStaysDeleted) {
  const v1::RecordState base = Created();
  v1::RecordState server = base;
  MustApply(&server, Edit(base, Deleted(true), {kDeletedField}, 200), kA);
  ApplyOutcome out = MustApply(&server, Edit(base, Contact("+51 1 NEW"), {kPhone}, 300), kB);
  EXPECT_TRUE(server.record().contact().deleted());
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].kind(), v1::CONFLICT_KIND_EDIT_OF_DELETED);
  EXPECT_EQ(out.conflicts[0].losing().contact().phone(), "+51 1 NEW");
  EXPECT_EQ(out.conflicts[0].losing_stamp().device(), kB);
}

TEST(Merge, EditThenDeleteAndDeleteThenEditLogTheSameConflictKey) {
  const v1::RecordState base = Created();
  v1::Mutation edit = Edit(base, Contact("+51 1 NEW"), {kPhone}, 300);
  v1::Mutation del = Edit(base, Deleted(true), {kDeletedField}, 200);
  v1::RecordState s1 = base, s2 = base;
  MustApply(&s1, edit, kB);
  ApplyOutcome o1 = MustApply(&s1, del, kA);
  MustApply(&s2, del, kA);
  ApplyOutcome o2 = MustApply(&s2, edit, kB);
  ASSERT_EQ(o1.conflicts.size(), 1u);
  ASSERT_EQ(o2.conflicts.size(), 1u);
  EXPECT_EQ(o1.conflicts[0].field(), o2.conflicts[0].field());
  EXPECT_TRUE(StampEqual(o1.conflicts[0].losing_stamp(), o2.conflicts[0].losing_stamp()));
  EXPECT_EQ(s1.SerializeAsString(), s2.SerializeAsString());
}

TEST(Merge, DeleteAfterSeeingEditsIsNotAConflict) {
  v1::RecordState server = Created();
  MustApply(&server, Edit(server, Contact("+51 1 NEW"), {kPhone}, 200), kB);
  ApplyOutcome out = MustApply(&server, Edit(server, Deleted(true), {kDeletedField}, 300), kA);
  EXPECT_TRUE(out.conflicts.empty());
  EXPECT_TRUE(server.record().contact().deleted());
}

TEST(Merge, RestoreIsAWriteOfDeleted) {
  v1::RecordState server = Created();
  MustApply(&server, Edit(server, Deleted(true), {kDeletedField}, 200), kA);
  MustApply(&server, Edit(server, Deleted(false), {kDeletedField}, 300), kB);
  EXPECT_FALSE(server.record().contact().deleted());
  EXPECT_EQ(server.record().contact().phone(), "+51 1 111");  // the values were kept
}

TEST(Merge, MakeMutationCarriesBasesOfWrittenFieldsAndDeleted) {
  v1::RecordState state = Created();
  MustApply(&state, Edit(state, Deleted(false), {kDeletedField}, 150), kA);
  v1::Mutation edit = Edit(state, Contact("+51 1 222"), {kPhone}, 200);
  ASSERT_EQ(edit.bases_size(), 2);
  EXPECT_EQ(edit.bases(0).field(), kPhone);
  EXPECT_EQ(edit.bases(1).field(), static_cast<uint32_t>(kDeletedField));
  // A delete names every field the device holds.
  v1::Mutation del = Edit(state, Deleted(true), {kDeletedField}, 300);
  EXPECT_EQ(del.bases_size(), state.stamps_size());
}

TEST(Merge, WriteOfDefaultValueClearsField) {
  v1::RecordState server = Created();
  MustApply(&server, Edit(server, Contact(""), {kPhone}, 200), kA);
  EXPECT_EQ(server.record().contact().phone(), "");
  EXPECT_EQ(FieldStampOf(server, kPhone).hlc(), 200u);
}

TEST(Merge, OptionalAndRepeatedFieldsAreWholeRegisters) {
  v1::Record visit;
  v1::HomeVisit* v = visit.mutable_home_visit();
  v->set_id(kId);
  v->set_latitude(-12.05);
  v->set_longitude(-77.04);
  v->add_attendees("a");
  v->add_attendees("b");
  v1::RecordState state;
  MustApply(&state, Edit(state, visit, SetFields(visit), 100), kA);

  v1::Record change;
  change.mutable_home_visit()->set_id(kId);
  change.mutable_home_visit()->add_attendees("c");
  // latitude (12) and longitude (13) written as absent: the coordinates are cleared.
  MustApply(&state, Edit(state, change, {7, 12, 13}, 200), kA);
  EXPECT_FALSE(state.record().home_visit().has_latitude());
  EXPECT_FALSE(state.record().home_visit().has_longitude());
  ASSERT_EQ(state.record().home_visit().attendees_size(), 1);
  EXPECT_EQ(state.record().home_visit().attendees(0), "c");
}

TEST(Merge, MalformedMutationsAreRefusedAndChangeNothing) {
  const v1::RecordState base = Created();
  const v1::Mutation good = Edit(base, Contact("+51 1 222"), {kPhone}, 200);
  struct Case {
    const char* name;
    std::function<void(v1::Mutation*)> spoil;
    const char* field;
  };
  const Case cases[] = {
      {"no record", [](v1::Mutation* m) { m->clear_record(); }, "mutation.record"},
      {"bad id", [](v1::Mutation* m) { m->mutable_record()->mutable_contact()->set_id("x"); },
       "mutation.record.id"},
      {"zero hlc", [](v1::Mutation* m) { m->set_hlc(0); }, "mutation.hlc"},
      {"no fields", [](v1::Mutation* m) { m->clear_fields(); }, "mutation.fields"},
      {"unknown field", [](v1::Mutation* m) { m->add_fields(99); }, "mutation.fields"},
      {"id written", [](v1::Mutation* m) { m->mutable_fields()->Set(0, 1); }, "mutation.fields"},
      {"unsorted", [](v1::Mutation* m) { m->add_fields(2); }, "mutation.fields"},
      {"value not listed",
       [](v1::Mutation* m) { m->mutable_record()->mutable_contact()->set_notes("x"); },
       "mutation.record"},
      {"unknown base", [](v1::Mutation* m) { m->add_bases()->set_field(77); }, "mutation.bases"},
      {"other record",
       [](v1::Mutation* m) {
         m->mutable_record()->mutable_contact()->set_id("01890a5d-ac96-774b-bcce-b302099a8058");
       },
       "mutation.record.id"},
      {"other kind",
       [](v1::Mutation* m) {
         m->mutable_record()->mutable_family()->set_id(kId);
         m->clear_fields();
         m->clear_bases();
         m->add_fields(2);
       },
       "mutation.record"},
      {"delete with other fields",
       [](v1::Mutation* m) {
         m->add_fields(kDeletedField);
         m->mutable_record()->mutable_contact()->set_deleted(true);
       },
       "mutation.fields"},
      {"stamped below its base", [](v1::Mutation* m) { m->set_hlc(100); }, "mutation.hlc"},
  };
  for (const Case& c : cases) {
    v1::Mutation bad = good;
    c.spoil(&bad);
    v1::RecordState server = base;
    Result<ApplyOutcome> r = ApplyMutation(&server, bad, kB);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.name;
    EXPECT_EQ(r.error().field, c.field) << c.name << ": " << r.error().ToString();
    EXPECT_EQ(server.SerializeAsString(), base.SerializeAsString()) << c.name;
  }
  v1::RecordState server = base;
  EXPECT_FALSE(ApplyMutation(&server, good, "").has_value());
}

TEST(Merge, RevertFieldsUndoesARefusedWrite) {
  const v1::RecordState server = Created();
  v1::RecordState device = server;
  v1::Mutation refused = Edit(device, Contact("+51 1 BAD", "Rosa B"), {kGivenName, kPhone}, 200);
  MustApply(&device, refused, kB);
  // The phone was edited again locally after the refused write: that edit stays.
  MustApply(&device, Edit(device, Contact("+51 1 LATER"), {kPhone}, 300), kB);
  const std::vector<uint32_t> fields(refused.fields().begin(), refused.fields().end());
  RevertFields(&device, MakeStamp(200, kB), fields, &server);
  EXPECT_EQ(device.record().contact().given_name(), "Rosa");
  EXPECT_EQ(FieldStampOf(device, kGivenName).hlc(), 100u);
  EXPECT_EQ(device.record().contact().phone(), "+51 1 LATER");

  // Without the server's state (a refused create), the fields are cleared and unstamped.
  v1::RecordState created;
  v1::Mutation create = Edit(created, Contact("+51 1 NEW"), {kPhone}, 400);
  MustApply(&created, create, kB);
  RevertFields(&created, MakeStamp(400, kB), std::vector<uint32_t>{kPhone}, nullptr);
  EXPECT_EQ(created.stamps_size(), 0);
  EXPECT_EQ(created.record().contact().phone(), "");
}

TEST(Merge, MergeStateTakesHigherStampPerField) {
  const v1::RecordState base = Created();
  v1::RecordState a = base, b = base;
  MustApply(&a, Edit(base, Contact("+51 1 AAA"), {kPhone}, 300), kA);
  MustApply(&b, Edit(base, Contact("", "Rosa María"), {kGivenName}, 200), kB);
  Result<bool> changed = MergeState(&a, b);
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(a.record().contact().phone(), "+51 1 AAA");
  EXPECT_EQ(a.record().contact().given_name(), "Rosa María");
  EXPECT_FALSE(*MergeState(&a, b));  // nothing new the second time
}

TEST(Merge, MergeStateRefusesAnotherRecord) {
  v1::RecordState a = Created();
  v1::RecordState other;
  other.mutable_record()->mutable_contact()->set_id("01890a5d-ac96-774b-bcce-b302099a8058");
  const std::string before = a.SerializeAsString();
  EXPECT_FALSE(MergeState(&a, other).has_value());
  EXPECT_EQ(a.SerializeAsString(), before);
}

TEST(Merge, StampsOrderByHlcThenDevice) {
  EXPECT_TRUE(StampLess(MakeStamp(1, "z"), MakeStamp(2, "a")));
  EXPECT_TRUE(StampLess(MakeStamp(2, "a"), MakeStamp(2, "b")));
  EXPECT_TRUE(StampLess(v1::Stamp(), MakeStamp(1, "")));
  EXPECT_TRUE(IsZeroStamp(v1::Stamp()));
  EXPECT_EQ(MaxStamp(Created()).hlc(), 100u);
}

}  // namespace
}  // namespace vinculo
