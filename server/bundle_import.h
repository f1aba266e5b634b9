#pragma once
// Applying an offline bundle (client/bundle.h) made by a device that cannot reach the server: the
// server opens it with its private key, checks that the device is enrolled, not revoked, its user
// not disabled, and that the bundle verifies with the device's token hash, then applies the
// mutations through SyncService::Sync — exactly the rules and idempotency of an online sync. A
// mutation at or below the device's last applied seq is acknowledged and skipped, so importing a
// bundle twice, or a bundle whose changes the device later pushes online, applies nothing twice;
// the device's next online sync receives acked_seq and drops them from its outbox.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/central_store.h"
#include "server/sync_service.h"

namespace vinculo::server {

struct BundleImportSummary {
  std::string device_id;
  std::string username;
  int64_t created_ms = 0;  // when the device sealed it, by the device's clock
  uint64_t mutations = 0;  // in the bundle
  uint64_t first_seq = 0, last_seq = 0;
  uint64_t applied = 0;    // new mutations applied now
  uint64_t already = 0;    // at or below what the server had from this device: skipped
  uint64_t rejected = 0;   // new mutations the rules refused (as in online sync)
  uint32_t conflicts = 0;  // conflicts the applied mutations revealed
  std::vector<v1::Rejection> rejections;
  bool token_expired = false;  // accepted all the same: see ImportBundle
};

// Verifies `bundle` (the file's bytes) with `private_key_pem` (the server's key, PEM) and applies
// it at wall time `now_ms`. Nothing is applied unless the whole bundle verifies. Errors:
//   DataLoss           — not a bundle, cut short, or altered (any byte changed); sealed for
//                        another key;
//   FailedPrecondition — an unknown format version; or the bundle starts after a gap (an earlier
//                        bundle or the device's pushes are missing; nothing applied);
//   NotFound           — no such device on this server;
//   PermissionDenied   — the device was revoked, or its user disabled;
//   Unauthenticated    — the device never logged in (no token to verify with);
//   InvalidArgument    — the private key is unusable;
//   the store's errors (mutations applied in earlier chunks of a large bundle stay applied, and a
//   second import goes on from there).
// A device's token may have expired since the bundle was made: devices in areas with no
// connection cannot renew it, and revocation — not expiry — is what stops a lost device. Such a
// bundle is accepted, and token_expired says so.
Result<BundleImportSummary> ImportBundle(CentralStore& store, const std::string& bundle,
                                         const std::string& private_key_pem, int64_t now_ms,
                                         const SyncLimits& limits = {});

}  // namespace vinculo::server
