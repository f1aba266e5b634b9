#include "common/civil_time.h"

#include <gtest/gtest.h>

namespace vinculo {
namespace {

TEST(CivilTime, DatesRoundTripThroughDayCounts) {
  EXPECT_EQ(ParseDate("1970-01-01"), 0);
  EXPECT_EQ(ParseDate("2000-03-01"), 11017);
  EXPECT_EQ(ParseDate("2024-02-29"), 19782);
  EXPECT_EQ(ParseDate("2023-02-29"), std::nullopt);
  EXPECT_EQ(ParseDate("2026-13-01"), std::nullopt);
  EXPECT_EQ(ParseDate("2026-1-01"), std::nullopt);
  for (int64_t d = -719'000; d < 2'900'000; d += 997) EXPECT_EQ(ParseDate(FormatDate(d)), d) << d;
}

TEST(CivilTime, TimestampsHonourOffsetsAndFractions) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseTimestamp("1969-12-31T19:00:00-05:00"), 0);
  EXPECT_EQ(ParseTimestamp("2026-06-03T10:15:00-05:00"), ParseTimestamp("2026-06-03T15:15:00Z"));
  EXPECT_EQ(ParseTimestamp("2026-06-03T10:15:00"), std::nullopt);  // no offset
  EXPECT_EQ(ParseTimestamp("2026-06-03T24:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseTimestamp("2026-06-03T10:15:00+05"), std::nullopt);
  EXPECT_EQ(UtcTimestamp(*ParseTimestamp("2026-06-03T10:15:00-05:00")), "2026-06-03T15:15:00Z");
  EXPECT_EQ(UtcDate(-1), "1969-12-31");
}

}  // namespace
}  // namespace vinculo
