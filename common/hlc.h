#pragma once
// The hybrid logical clock (HLC) that stamps every write. A value packs 48 bits of Unix milliseconds
// over a 16-bit counter into one uint64, so values compare as integers. STORED AND ON THE WIRE.
//
// The clock is pure: the caller passes the wall time in. It never goes backwards, even when the wall
// clock does (a phone whose owner changed the date): then it keeps counting from its last value.

#include <cstdint>

#include "common/result.h"

namespace vinculo {

using HlcValue = uint64_t;

inline constexpr HlcValue MakeHlc(uint64_t unix_ms, uint16_t counter) {
  return (unix_ms << 16) | counter;
}
inline constexpr uint64_t HlcMillis(HlcValue value) { return value >> 16; }
inline constexpr uint16_t HlcCounter(HlcValue value) { return static_cast<uint16_t>(value & 0xFFFF); }

struct ClockOptions {
  // A remote value whose milliseconds are more than this ahead of our wall clock is refused by
  // Observe. Default: 5 minutes, generous for phones whose clocks drift.
  uint64_t max_ahead_ms = 5 * 60 * 1000;
};

// Thread-compatible (not thread-safe): callers serialize access, as the store's transaction does.
class HybridClock {
 public:
  // `last` is the value persisted after the previous run (0 for a new device).
  explicit HybridClock(HlcValue last = 0, ClockOptions options = {})
      : last_(last), options_(options) {}

  // A value for a local write at wall time `now_ms`: greater than every value this clock returned or
  // observed before. Persist last() in the same transaction as the write it stamps.
  HlcValue Tick(uint64_t now_ms);

  // Folds in a value from an untrusted replica (the server folds in a device's clock this way), so
  // that later Ticks are above it. Returns ClockAhead and leaves the clock unchanged when `remote`
  // is more than max_ahead_ms ahead of `now_ms`. A device folds in what it pulls with Advance.
  Status Observe(HlcValue remote, uint64_t now_ms);

  // Folds in a value from a source that guards the clock itself (the server refuses far-future
  // writes), without the check: a device must never refuse the state it pulled, or its later
  // writes could stamp below values it has seen.
  void Advance(HlcValue remote) { last_ = remote > last_ ? remote : last_; }

  // The same check as Observe, without changing the clock: OK when `remote` is acceptable.
  Status CheckNotTooFarAhead(HlcValue remote, uint64_t now_ms) const;

  HlcValue last() const { return last_; }

 private:
  HlcValue last_;
  ClockOptions options_;
};

}  // namespace vinculo
