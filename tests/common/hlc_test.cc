#include "common/hlc.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/common/seed.h"

namespace vinculo {
namespace {

constexpr uint64_t kNow = 1'780'000'000'000;  // some day in 2026, in Unix milliseconds

TEST(Hlc, TickFollowsWallClockWhenItMovesForward) {
  HybridClock clock;
  EXPECT_EQ(clock.Tick(kNow), MakeHlc(kNow, 0));
  EXPECT_EQ(clock.Tick(kNow + 5), MakeHlc(kNow + 5, 0));
}

TEST(Hlc, TickCountsWithinOneMillisecond) {
  HybridClock clock;
  clock.Tick(kNow);
  EXPECT_EQ(clock.Tick(kNow), MakeHlc(kNow, 1));
  EXPECT_EQ(clock.Tick(kNow), MakeHlc(kNow, 2));
}

TEST(Hlc, FullCounterCarriesIntoMilliseconds) {
  HybridClock clock(MakeHlc(kNow, 0xFFFF));
  EXPECT_EQ(clock.Tick(kNow), MakeHlc(kNow + 1, 0));
}

TEST(Hlc, TickKeepsCountingWhenWallClockGoesBack) {
  HybridClock clock;
  HlcValue a = clock.Tick(kNow);
  HlcValue b = clock.Tick(kNow - 86'400'000);  // the phone's date was set a day back
  EXPECT_GT(b, a);
  EXPECT_EQ(HlcMillis(b), kNow);
}

TEST(Hlc, ObserveMovesClockPastRemote) {
  HybridClock clock;
  clock.Tick(kNow);
  ASSERT_TRUE(clock.Observe(MakeHlc(kNow + 1000, 7), kNow).ok());
  EXPECT_GT(clock.Tick(kNow), MakeHlc(kNow + 1000, 7));
}

TEST(Hlc, ObserveRejectsFarFutureRemote) {
  HybridClock clock(0, ClockOptions{.max_ahead_ms = 60'000});
  HlcValue before = clock.Tick(kNow);
  Status s = clock.Observe(MakeHlc(kNow + 60'001, 0), kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kClockAhead);
  EXPECT_EQ(clock.last(), before);  // unchanged
  EXPECT_TRUE(clock.Observe(MakeHlc(kNow + 60'000, 0), kNow).ok());
}

TEST(Hlc, AdvanceFoldsInWithoutCheck) {
  HybridClock clock;
  clock.Advance(MakeHlc(kNow + 86'400'000, 0));
  EXPECT_GT(clock.Tick(kNow), MakeHlc(kNow + 86'400'000, 0));
}

TEST(Hlc, PersistedValueResumes) {
  HybridClock first;
  HlcValue last = first.Tick(kNow);
  HybridClock reopened(first.last());
  EXPECT_GT(reopened.Tick(kNow - 10), last);
}

// Property: over random walks of the wall clock (forward, backward by up to days, standing still)
// mixed with remote observations, every Tick is strictly above everything returned or observed.
TEST(HlcProperty, NeverGoesBackwardsEvenWhenWallClockDoes) {
  const uint64_t seed = PropertySeed();
  const int cases = PropertyCases();
  SCOPED_TRACE(SeedTrace(seed));
  std::mt19937_64 rng(seed);
  for (int c = 0; c < cases; ++c) {
    HybridClock clock(0, ClockOptions{.max_ahead_ms = 300'000});
    uint64_t wall = kNow;
    HlcValue high = 0;  // the highest value returned or accepted so far
    for (int step = 0; step < 50; ++step) {
      switch (rng() % 4) {
        case 0: wall += rng() % 1000; break;
        case 1: wall -= rng() % (3 * 86'400'000ULL); break;  // the date was changed back
        case 2: {
          HlcValue remote = MakeHlc(wall + rng() % 600'000 - 300'000, static_cast<uint16_t>(rng()));
          if (clock.Observe(remote, wall).ok()) high = std::max(high, remote);
          break;
        }
        default: break;
      }
      HlcValue t = clock.Tick(wall);
      ASSERT_GT(t, high) << "case " << c << " step " << step;
      high = t;
    }
  }
}

}  // namespace
}  // namespace vinculo
