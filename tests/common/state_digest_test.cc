#include "common/state_digest.h"

#include <gtest/gtest.h>

#include "common/hlc.h"
#include "common/merge.h"

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

}  // namespace
}  // namespace vinculo
