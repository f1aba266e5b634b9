#include "common/uuid.h"

#include <gtest/gtest.h>

#include <set>

#include "common/validate.h"

namespace vinculo {
namespace {

TEST(Uuid, V7LayoutCarriesTimeVersionAndVariant) {
  std::array<uint8_t, 10> random{};
  random.fill(0xFF);
  std::string id = UuidV7(0x0123456789AB, random);
  EXPECT_EQ(id, "01234567-89ab-7fff-bfff-ffffffffffff");
  EXPECT_TRUE(IsUuid(id));
}

TEST(Uuid, NewIdsAreUniqueAndSortByTime) {
  std::set<std::string> seen;
  std::string previous;
  for (uint64_t ms = 1'700'000'000'000; ms < 1'700'000'000'000 + 5000; ++ms) {
    Result<std::string> id = NewUuidV7(ms);
    ASSERT_TRUE(id.has_value());
    EXPECT_TRUE(IsUuid(*id)) << *id;
    EXPECT_LT(previous, *id);  // a later millisecond sorts later
    EXPECT_TRUE(seen.insert(*id).second);
    previous = *id;
  }
}

TEST(Uuid, IdsOfOneMillisecondSortInCreationOrder) {
  std::string previous;
  for (int i = 0; i < 10'000; ++i) {  // more than the 12-bit counter holds
    std::string id = *NewUuidV7(1'800'000'000'000);
    EXPECT_LT(previous, id) << i;
    previous = id;
  }
  // A clock that goes back does not make ids go back.
  EXPECT_LT(previous, *NewUuidV7(1'700'000'000'000));
}

}  // namespace
}  // namespace vinculo
