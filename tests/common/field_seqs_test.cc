#include "common/field_seqs.h"

#include <gtest/gtest.h>

#include <random>

#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/uniform_stamp.h"
#include "tests/common/seed.h"
#include "tests/common/states.h"

namespace vinculo {
namespace {

constexpr char kId[] = "01890a5d-ac96-774b-bcce-b302099a8057";
constexpr char kWorker[] = "019e8388-e492-7621-bcd7-000000000b0b";
constexpr char kOffice[] = "019e8388-e492-7621-bcd7-000000000c0c";
constexpr uint32_t kObservations = 8;  // HomeVisit.observations
constexpr uint32_t kNextDue = 11;      // HomeVisit.next_visit_due

v1::Record Visit() {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_id(kId);
  v->set_child_id("01890a5d-ac96-774b-bcce-b302099a8058");
  v->set_observations("la abuela cuida a los niños");
  v->add_attendees("01890a5d-ac96-774b-bcce-b302099a8059");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  v->set_next_visit_due("2026-07-01");
  return r;
}

TEST(FieldSeqs, RoundTripThroughTheStoreBytesAndAllAtOneSeqIsNoBytes) {
  EXPECT_EQ(EncodeFieldSeqs(AllAt(7), 7), "");
  EXPECT_EQ(DecodeFieldSeqs("", 7), AllAt(7));
  const FieldSeqs seqs{.base = 5, .others = {{6, 300}, {10, 70'000}}};
  const std::string bytes = EncodeFieldSeqs(seqs, 70'000);
  EXPECT_EQ(bytes.size(), 1u + 1 + 2 + 1 + 3);
  EXPECT_EQ(DecodeFieldSeqs(bytes, 70'000), seqs);
  EXPECT_EQ(seqs.SeqOf(6), 300u);
  EXPECT_EQ(seqs.SeqOf(10), 70'000u);
  EXPECT_EQ(seqs.SeqOf(2), 5u);
  // An old base with no exceptions is not AllAt: it is written.
  EXPECT_EQ(DecodeFieldSeqs(EncodeFieldSeqs(AllAt(5), 9), 9), AllAt(5));
}

TEST(FieldSeqs, DecodeRefusesBytesItDidNotWrite) {
  const std::string bytes = EncodeFieldSeqs({.base = 5, .others = {{6, 300}, {10, 9}}}, 300);
  EXPECT_FALSE(DecodeFieldSeqs(bytes.substr(0, bytes.size() - 1), 300).has_value());  // no seq
  EXPECT_FALSE(DecodeFieldSeqs(std::string("\x05\x06\x80", 3), 300).has_value());  // truncated
  EXPECT_FALSE(DecodeFieldSeqs(std::string(11, '\xff'), 300).has_value());         // too long
  EXPECT_FALSE(DecodeFieldSeqs(std::string("\x05\x0a\x01\x06\x01", 5), 300).has_value());  // order
  EXPECT_FALSE(DecodeFieldSeqs(std::string("\x05\x06\x01\x06\x02", 5), 300).has_value());  // twice
}

TEST(FieldSeqs, AnEditMovesOnlyTheFieldsItStampedAndTheBaseFollowsTheMajority) {
  const v1::Record visit = Visit();
  const v1::RecordState created = Written({}, visit, SetFields(visit), MakeHlc(1000, 0), kWorker);
  v1::Record edit = visit;
  edit.mutable_home_visit()->set_observations("volvió a la escuela");
  const v1::RecordState edited = Written(created, edit, {kObservations}, MakeHlc(2000, 0), kOffice);
  const FieldSeqs after_edit = NextFieldSeqs(created, AllAt(5), edited, 9);
  EXPECT_EQ(after_edit, (FieldSeqs{.base = 5, .others = {{kObservations, 9}}}));

  // Writing the same value again is a write: it has a new stamp, so it moved.
  const v1::RecordState again = Written(edited, edit, {kNextDue}, MakeHlc(3000, 0), kOffice);
  EXPECT_EQ(NextFieldSeqs(edited, after_edit, again, 12),
            (FieldSeqs{.base = 5, .others = {{kObservations, 9}, {kNextDue, 12}}}));
  // A save that stamps nothing new (the record moved nowhere) keeps every seq.
  EXPECT_EQ(NextFieldSeqs(edited, after_edit, edited, 13), after_edit);
  // Rewriting every field makes the new seq the base again.
  const v1::RecordState rewritten =
      Written(again, visit, SetFields(visit), MakeHlc(4000, 0), kWorker);
  EXPECT_EQ(NextFieldSeqs(again, {.base = 5, .others = {{kObservations, 9}, {kNextDue, 12}}},
                          rewritten, 20),
            AllAt(20));
}

TEST(FieldSeqs, APartialChangeKeepsOnlyTheFieldsChangedAfterTheDevicesSeq) {
  const v1::Record visit = Visit();
  const v1::RecordState created = Written({}, visit, SetFields(visit), MakeHlc(1000, 0), kWorker);
  v1::Record edit = visit;
  edit.mutable_home_visit()->set_observations("");  // cleared: a stamp with no value
  edit.mutable_home_visit()->set_next_visit_due("2026-08-01");
  const v1::RecordState edited =
      Written(created, edit, {kObservations, kNextDue}, MakeHlc(2000, 0), kOffice);
  const FieldSeqs seqs = NextFieldSeqs(created, AllAt(5), edited, 9);

  v1::RecordState partial = edited;
  ASSERT_TRUE(KeepChangesAfter(&partial, seqs, 5));
  EXPECT_EQ(partial.record().home_visit().id(), kId);
  EXPECT_EQ(partial.record().home_visit().next_visit_due(), "2026-08-01");
  EXPECT_TRUE(partial.record().home_visit().child_id().empty());
  EXPECT_EQ(partial.record().home_visit().attendees_size(), 0);
  ASSERT_EQ(partial.stamps_size(), 2);
  EXPECT_EQ(partial.stamps(0).field(), kObservations);
  EXPECT_EQ(partial.stamps(1).field(), kNextDue);

  // The device that held the record at seq 5 ends with the server's state, byte for byte.
  v1::RecordState held = created;
  ASSERT_TRUE(MergeState(&held, partial).value());
  EXPECT_EQ(DeterministicBytes(held), DeterministicBytes(edited));

  // A device that held nothing later than seq 4 is sent the record whole.
  v1::RecordState whole = edited;
  EXPECT_FALSE(KeepChangesAfter(&whole, seqs, 4));
  EXPECT_EQ(DeterministicBytes(whole), DeterministicBytes(edited));
}

// Over random histories of writes by two devices, each saved at the next seq: a device that held
// the record as of any earlier seq, merging the partial change (also through the base-stamp wire
// form), ends with exactly the server's state.
TEST(FieldSeqs, APartialChangeBringsADeviceFromAnyEarlierSeqToTheServersState) {
  const uint64_t seed = PropertySeed();
  std::mt19937_64 rng(seed);
  int partials = 0;
  for (int c = 0; c < PropertyCases(); ++c) {
    std::vector<v1::RecordState> states;  // states[s]: the server's state after seq s + 1
    std::vector<FieldSeqs> seqs;
    const int writes = 1 + static_cast<int>(rng() % 5);
    for (int w = 0; w < writes; ++w) {
      const RandomWrite write = RandomVisitWrite(rng, w, kId);
      const std::string& device = rng() % 2 ? kWorker : kOffice;
      const uint64_t seq = static_cast<uint64_t>(w) + 1;
      const v1::RecordState before = states.empty() ? v1::RecordState() : states.back();
      states.push_back(
          Written(before, write.values, write.fields, MakeHlc(1000 + static_cast<uint64_t>(w), 0),
                  device));
      seqs.push_back(w == 0 ? AllAt(seq)
                            : NextFieldSeqs(before, seqs.back(), states.back(), seq));
      // Through the store's bytes, as the feed reads them.
      ASSERT_EQ(DecodeFieldSeqs(EncodeFieldSeqs(seqs.back(), seq), seq), seqs.back())
          << "case " << c << ", seed " << seed;
    }
    const v1::RecordState& server = states.back();
    for (size_t held_at = 0; held_at + 1 < states.size(); ++held_at) {
      v1::RecordState partial = server;
      if (KeepChangesAfter(&partial, seqs.back(), held_at + 1)) ++partials;
      std::optional<v1::Stamp> base = TakeBaseStamp(&partial);
      if (base) {
        ASSERT_TRUE(PutBaseStamp(&partial, *base).ok());
      }
      v1::RecordState device = states[held_at];
      ASSERT_TRUE(MergeState(&device, partial).has_value());
      ASSERT_EQ(DeterministicBytes(device), DeterministicBytes(server))
          << "case " << c << ", held at seq " << held_at + 1 << ", seed " << seed;
    }
  }
  EXPECT_GT(partials, 0);
}

}  // namespace
}  // namespace vinculo
