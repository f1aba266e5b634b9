#include "common/hlc.h"

#include <algorithm>
#include <string>

namespace vinculo {

HlcValue HybridClock::Tick(uint64_t now_ms) {
  // Either the wall clock moved past our last value (start a new millisecond at counter 0), or it
  // did not (count on from the last value; a full counter carries into the milliseconds).
  last_ = std::max(last_ + 1, MakeHlc(now_ms, 0));
  return last_;
}

Status HybridClock::CheckNotTooFarAhead(HlcValue remote, uint64_t now_ms) const {
  if (HlcMillis(remote) > now_ms + options_.max_ahead_ms) {
    return Error::ClockAhead("remote clock is " +
                             std::to_string(HlcMillis(remote) - now_ms) +
                             " ms ahead of ours (limit " + std::to_string(options_.max_ahead_ms) +
                             " ms)");
  }
  return Status::Ok();
}

Status HybridClock::Observe(HlcValue remote, uint64_t now_ms) {
  if (Status s = CheckNotTooFarAhead(remote, now_ms); !s.ok()) return s;
  last_ = std::max(last_, remote);
  return Status::Ok();
}

}  // namespace vinculo
