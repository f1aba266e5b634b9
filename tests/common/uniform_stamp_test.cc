#include "common/uniform_stamp.h"

#include <gtest/gtest.h>

#include <random>

#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "tests/common/seed.h"
#include "tests/common/states.h"

namespace vinculo {
namespace {

constexpr char kId[] = "01890a5d-ac96-774b-bcce-b302099a8057";
constexpr char kDevice[] = "019e8388-e492-7621-bcd7-000000000b0b";

v1::Record Visit() {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_id(kId);
  v->set_child_id("01890a5d-ac96-774b-bcce-b302099a8058");
  v->set_observations("la abuela cuida a los niños");
  v->add_attendees("01890a5d-ac96-774b-bcce-b302099a8059");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  return r;
}

TEST(UniformStamp, ACreatedRecordTravelsWithOneStampAndComesBackExactly) {
  const v1::Record visit = Visit();
  const v1::RecordState created = Written({}, visit, SetFields(visit), MakeHlc(1000, 0), kDevice);
  v1::RecordState wire = created;
  std::optional<v1::Stamp> stamp = TakeUniformStamp(&wire);
  ASSERT_TRUE(stamp.has_value());
  EXPECT_TRUE(wire.stamps().empty());
  EXPECT_EQ(stamp->device(), kDevice);
  ASSERT_TRUE(PutBaseStamp(&wire, *stamp).ok());
  EXPECT_EQ(DeterministicBytes(wire), DeterministicBytes(created));
}

TEST(UniformStamp, IsNotTakenFromMixedStampsOrAStampedDefault) {
  const v1::Record visit = Visit();
  const v1::RecordState created = Written({}, visit, SetFields(visit), MakeHlc(1000, 0), kDevice);

  // One field edited later: two stamps.
  v1::Record edit = visit;
  edit.mutable_home_visit()->set_observations("mejor en la escuela");
  v1::RecordState edited = Written(created, edit, {8}, MakeHlc(2000, 0), kDevice);
  v1::RecordState untouched = edited;
  EXPECT_FALSE(TakeUniformStamp(&untouched).has_value());
  EXPECT_EQ(DeterministicBytes(untouched), DeterministicBytes(edited));

  // A field cleared by its one write: stamped, but holding the default, so the set fields would
  // not bring its stamp back.
  v1::Record cleared = visit;
  cleared.mutable_home_visit()->clear_observations();
  v1::RecordState with_cleared =
      Written({}, cleared, {2, 6, 7, 8}, MakeHlc(1000, 0), kDevice);
  untouched = with_cleared;
  EXPECT_FALSE(TakeUniformStamp(&untouched).has_value());
  EXPECT_EQ(DeterministicBytes(untouched), DeterministicBytes(with_cleared));

  v1::RecordState empty;
  EXPECT_FALSE(TakeUniformStamp(&empty).has_value());
}

TEST(UniformStamp, AnEditedRecordTravelsWithItsCreationStampOnceAndTheEditsStamps) {
  const v1::Record visit = Visit();
  const v1::RecordState created = Written({}, visit, SetFields(visit), MakeHlc(1000, 0), kDevice);
  v1::Record edit = visit;
  edit.mutable_home_visit()->set_observations("mejor en la escuela");
  const v1::RecordState edited =
      Written(created, edit, {8}, MakeHlc(2000, 0), "019e8388-e492-7621-bcd7-000000000c0c");
  v1::RecordState wire = edited;
  std::optional<v1::Stamp> base = TakeBaseStamp(&wire);
  ASSERT_TRUE(base.has_value());
  EXPECT_TRUE(StampEqual(*base, MakeStamp(MakeHlc(1000, 0), kDevice)));
  ASSERT_EQ(wire.stamps_size(), 1);  // only the edit's
  EXPECT_EQ(wire.stamps(0).field(), 8u);
  ASSERT_TRUE(PutBaseStamp(&wire, *base).ok());
  EXPECT_EQ(DeterministicBytes(wire), DeterministicBytes(edited));

  // A created record: the base form is the uniform form.
  wire = created;
  ASSERT_TRUE(TakeBaseStamp(&wire).has_value());
  EXPECT_TRUE(wire.stamps().empty());

  // A set field without a stamp (not a state a replica holds): left whole.
  v1::RecordState unstamped;
  *unstamped.mutable_record() = visit;
  EXPECT_FALSE(TakeBaseStamp(&unstamped).has_value());
  v1::RecordState empty;
  EXPECT_FALSE(TakeBaseStamp(&empty).has_value());
}

TEST(UniformStamp, PutRefusesUnsortedStampsAZeroStampAndNoKind) {
  const v1::Record visit = Visit();
  v1::RecordState created = Written({}, visit, SetFields(visit), MakeHlc(1000, 0), kDevice);
  created.mutable_stamps()->SwapElements(0, 1);
  const std::string before = DeterministicBytes(created);
  EXPECT_EQ(PutBaseStamp(&created, MakeStamp(MakeHlc(5, 0), kDevice)).error().field,
            "change.state.stamps");
  EXPECT_EQ(DeterministicBytes(created), before);

  v1::RecordState bare;
  *bare.mutable_record() = visit;
  EXPECT_EQ(PutBaseStamp(&bare, v1::Stamp()).error().field, "change.uniform_stamp");
  EXPECT_TRUE(bare.stamps().empty());
  v1::RecordState no_kind;
  EXPECT_EQ(PutBaseStamp(&no_kind, MakeStamp(MakeHlc(5, 0), kDevice)).error().field,
            "change.state.record");
}

// Over random histories of writes by two devices (creates, edits, clears, deletes, restores): the
// uniform stamp is taken exactly when the state has one stamp on exactly its set fields, a base
// stamp exactly when every set field is stamped, and putting either back gives the same bytes.
TEST(UniformStamp, RoundTripsEveryStateItTakesAndLeavesTheOthers) {
  const uint64_t seed = PropertySeed();
  std::mt19937_64 rng(seed);
  int taken = 0;
  for (int c = 0; c < PropertyCases(); ++c) {
    v1::RecordState state;
    const int writes = 1 + static_cast<int>(rng() % 3);
    for (int w = 0; w < writes; ++w) {
      const RandomWrite write = RandomVisitWrite(rng, w, kId);
      const std::string device = rng() % 2 ? kDevice : "019e8388-e492-7621-bcd7-000000000c0c";
      const HlcValue hlc = MakeHlc(1000 + static_cast<uint64_t>(w), 0);
      state = Written(state, write.values, write.fields, hlc, device);
    }
    const std::string before = DeterministicBytes(state);
    v1::RecordState wire = state;
    std::optional<v1::Stamp> stamp = TakeUniformStamp(&wire);
    bool uniform = !state.stamps().empty();
    const std::vector<uint32_t> set = SetFields(state.record());
    uniform = uniform && set.size() == static_cast<size_t>(state.stamps_size());
    for (int i = 0; uniform && i < state.stamps_size(); ++i) {
      uniform = state.stamps(i).field() == set[static_cast<size_t>(i)] &&
                StampEqual(state.stamps(i).stamp(), state.stamps(0).stamp());
    }
    ASSERT_EQ(stamp.has_value(), uniform) << "case " << c << ", seed " << seed;
    if (stamp) {
      ++taken;
      ASSERT_TRUE(PutBaseStamp(&wire, *stamp).ok());
    }
    ASSERT_EQ(DeterministicBytes(wire), before) << "case " << c << ", seed " << seed;

    wire = state;
    std::optional<v1::Stamp> base = TakeBaseStamp(&wire);
    bool all_stamped = !set.empty();
    for (uint32_t f : set) all_stamped = all_stamped && !IsZeroStamp(FieldStampOf(state, f));
    ASSERT_EQ(base.has_value(), all_stamped) << "case " << c << ", seed " << seed;
    if (base) {
      if (stamp) {
        EXPECT_TRUE(wire.stamps().empty()) << "case " << c << ", seed " << seed;
      }
      for (uint32_t f : set) {
        ASSERT_FALSE(StampEqual(FieldStampOf(wire, f), *base)) << "case " << c << ", seed " << seed;
      }
      ASSERT_TRUE(PutBaseStamp(&wire, *base).ok());
    }
    ASSERT_EQ(DeterministicBytes(wire), before) << "case " << c << ", seed " << seed;
  }
  EXPECT_GT(taken, 0);
  EXPECT_LT(taken, PropertyCases());
}

}  // namespace
}  // namespace vinculo
