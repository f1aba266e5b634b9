#pragma once
// The sync rules on the server (docs/protocol.md): one round trip pushes a device's mutations and
// pulls a page of changes in its scope, in one store transaction.
//
// - Mutations are applied in seq order, at most once: at or below the device's last applied seq →
//   acknowledged and skipped (a rejected one is told again); the next seq → applied or rejected;
//   a gap → nothing after it is applied, and acked_seq tells the device where to resend from.
// - A rejected mutation (malformed, invalid, forbidden, clock too far ahead) still advances the
//   device's seq, so one bad entry never blocks the queue.
// - Merge and conflict detection are the core's (common/merge.h); conflicts are stored once.
// - Every change gets a dense, monotonic server seq inside the transaction that commits it.
// - Role and region are checked on every mutation and on every change sent; a record that leaves
//   a region is evicted from that region's devices, never deleted.

#include <cstdint>
#include <string>

#include "common/result.h"
#include "server/auth.h"
#include "server/central_store.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::server {

// Who is calling: resolved from the bearer token before the service is called.
struct Principal {
  std::string username;
  Role role = Role::kFieldWorker;
  std::string region;     // empty for admin
  std::string device_id;
  std::string remote;     // the client's address, for the audit log
};

struct SyncLimits {
  uint64_t max_clock_ahead_ms = 5 * 60 * 1000;  // a write stamped further ahead is refused
  uint32_t default_page = 1000;                 // changes per reply when the device names none
  uint32_t max_page = 5000;                     // the most changes per reply
  uint32_t max_mutations = 5000;                // the most mutations per request
};

class SyncService {
 public:
  // `store` must outlive the service.
  SyncService(CentralStore& store, SyncLimits limits) : store_(store), limits_(limits) {}

  // One sync round trip at wall time `now_ms`. Fails — with nothing committed — when the request
  // is not this principal's device (PermissionDenied), carries too many mutations
  // (ResourceExhausted), or the store fails. A cursor beyond anything this server handed out (the
  // server was restored from an older backup) commits the pushes and answers reset_required.
  Result<v1::SyncResponse> Sync(const Principal& who, const v1::SyncRequest& request,
                                int64_t now_ms);

  const SyncLimits& limits() const { return limits_; }

 private:
  CentralStore& store_;
  SyncLimits limits_;
};

// The region that scopes a record: a child's or family's own `region`; for a contact, visit or
// placement change, the region of its child as stored. NotFound naming the field when the child is
// unknown.
Result<std::string> RegionOf(StoreTransaction& txn, const v1::Record& record);

// The scope of records `who` may read.
Scope ReadScope(const Principal& who);

}  // namespace vinculo::server
