#include "common/state_digest.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "common/hlc.h"
#include "common/merge.h"
#include "tests/common/states.h"

namespace vinculo {
namespace {

v1::RecordState Child(const std::string& given, HlcValue hlc) {
  v1::Record r;
  r.mutable_child()->set_id("01890a5d-ac96-774b-bcce-b302099a8057");
  r.mutable_child()->set_given_name(given);
  r.mutable_child()->set_region("Cusco");
  v1::RecordState state;
  const v1::Mutation m = MakeMutation(state, r, SetFields(r), hlc, 1);
  EXPECT_TRUE(ApplyMutation(&state, m, "019e8388-e492-7621-bcd7-000000000b0b").has_value());
  return state;
}

TEST(StateDigest, EqualStatesAgreeAndAnyValueOrStampTellsThemApart) {
  const v1::RecordState a = Child("Lucía", MakeHlc(1000, 0));
  EXPECT_EQ(StateDigest(a), StateDigest(Child("Lucía", MakeHlc(1000, 0))));
  // A parsed copy, as the other side holds it.
  v1::RecordState copy;
  ASSERT_TRUE(copy.ParseFromString(a.SerializeAsString()));
  EXPECT_EQ(StateDigest(copy), StateDigest(a));
  EXPECT_NE(StateDigest(Child("Lucia", MakeHlc(1000, 0))), StateDigest(a));   // a value
  EXPECT_NE(StateDigest(Child("Lucía", MakeHlc(1000, 1))), StateDigest(a));   // a stamp
  EXPECT_NE(StateDigest(v1::RecordState()), StateDigest(a));
}

// The stores digest a state from its stored bytes (StateDigestOfBytes), the same digest the other
// side computes from the decoded state, as long as no message in a RecordState has a map field.
TEST(StateDigest, NoMessageOfARecordStateHasAMapField) {
  std::set<const google::protobuf::Descriptor*> seen;
  std::vector<const google::protobuf::Descriptor*> todo = {v1::RecordState::descriptor()};
  while (!todo.empty()) {
    const google::protobuf::Descriptor* d = todo.back();
    todo.pop_back();
    if (!seen.insert(d).second) continue;
    for (int i = 0; i < d->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* f = d->field(i);
      EXPECT_FALSE(f->is_map()) << f->full_name()
                                << " is a map: StateDigestOfBytes no longer holds";
      if (f->message_type() != nullptr) todo.push_back(f->message_type());
    }
  }
  EXPECT_GT(seen.size(), 5u);  // the record kinds were walked
}

TEST(StateDigest, OfTheStoredBytesIsTheDigestOfTheState) {
  std::mt19937_64 rng(20261207);
  for (int history = 0; history < 50; ++history) {
    v1::RecordState state;
    for (int w = 0; w < 8; ++w) {
      const RandomWrite write = RandomVisitWrite(rng, w, "01890a5d-ac96-774b-bcce-b302099a8059");
      state = Written(state, write.values, write.fields, MakeHlc(1000 + w, 0),
                      w % 2 == 0 ? "019e8388-e492-7621-bcd7-000000000b0b"
                                 : "019e8388-e492-7621-bcd7-000000000c0c");
      ASSERT_EQ(StateDigestOfBytes(state.SerializeAsString()), StateDigest(state));
    }
  }
  const v1::RecordState child = Child("Lucía", MakeHlc(1000, 0));
  EXPECT_EQ(StateDigestOfBytes(child.SerializeAsString()), StateDigest(child));
}

}  // namespace
}  // namespace vinculo
