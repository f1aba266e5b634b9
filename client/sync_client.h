#pragma once
// The device side of the sync protocol (POST /v1/login, POST /v1/sync), as plain blocking functions
// over a Transport and a LocalStore. No sockets here: tests hand in a fake Transport.
//
// Resumability: every sync reply is applied to the store in its own transaction (outbox acks,
// merged changes and the new cursor together), so a sync that fails half-way keeps the pages it
// applied and the next sync goes on from there. A reply lost in transit costs nothing: the
// mutations stay in the outbox and are sent again, and the server acknowledges a repeat without
// applying it twice.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "client/local_store.h"
#include "client/transport.h"
#include "common/hlc.h"
#include "common/result.h"

namespace vinculo::client {

// The media type of every request and reply body of the protobuf endpoints. ON THE WIRE.
inline constexpr char kProtobufContentType[] = "application/x-protobuf";
inline constexpr char kLoginPath[] = "/v1/login";
inline constexpr char kSyncPath[] = "/v1/sync";

// ---- HTTP status → error: the one place where the client interprets a status.

// 400, 405, 413, 415 → InvalidArgument; 401 → Unauthenticated; 403 → PermissionDenied;
// 404 → NotFound; 409 → AlreadyExists; 412 → FailedPrecondition; 429 → ResourceExhausted;
// 408 and 5xx → Unavailable; anything else that is not 200 → Internal.
ErrorCode ErrorCodeForHttpStatus(int status);

// The Error for a reply to `what` ("login", "sync") whose status is not 200: the code from
// ErrorCodeForHttpStatus; a message naming the status and carrying the server's ErrorResponse
// message (and a Retry-After, when given); `field` from the ErrorResponse.
Error ErrorFromHttpResponse(const HttpResponse& response, std::string_view what);

// ---- Login.

struct LoginResult {
  std::string username;  // as the server spells it
  std::string role;      // field_worker, regional_office, supervisor or admin
  std::string region;    // empty for admin
  HlcValue server_clock = 0;
  // The server's wall clock minus this device's, in ms, as far as one reply can tell (it includes
  // the reply's travel time). A device whose clock is minutes off will see writes refused as
  // CLOCK_AHEAD or stamped oddly: callers should warn when this is large.
  int64_t clock_offset_ms = 0;
};

// POST /v1/login with this device's id. On success stores the token with store.SetCredentials
// (never returned or logged) and returns who the server says the user is. Errors: the Transport's
// (Unavailable when the server cannot be reached); ErrorFromHttpResponse for a non-200 reply (a
// wrong password is Unauthenticated, too many attempts ResourceExhausted); DataLoss for a reply
// that is not a LoginResponse with a token. On any error the stored credentials are unchanged.
Result<LoginResult> Login(Transport& transport, LocalStore& store, const std::string& username,
                          const std::string& password, int64_t now_ms);

// ---- Sync.

// Reported after each applied page.
struct SyncProgress {
  uint32_t round = 0;   // 1 for the first request
  uint64_t pushed = 0;  // totals so far, as in SyncSummary
  uint64_t pulled = 0;
  uint64_t rejected = 0;
  uint64_t conflicts = 0;
  uint64_t cursor = 0;    // the cursor now committed to the store
  bool has_more = false;  // the server has more changes waiting
};

// What Sync does when a request fails in a way that may pass: the transport could not reach the
// server or the exchange broke off (Unavailable), or the server answered 408, 5xx, or 429 with a
// Retry-After. Each failed request is sent again (a resend is harmless: the server acknowledges
// repeated mutations without applying them twice, and the cursor only moves when a reply is
// applied), after a wait: the server's Retry-After when it gives one, else an exponential backoff
// with jitter — a random time between half and all of min(max_backoff, initial_backoff * 2^(n-1))
// before the n-th retry. The count is per request: a reply applied resets it.
struct RetryPolicy {
  // Retries of one request before Sync gives up with the last error. Default: 0 (no retries).
  int max_retries = 0;
  // The backoff before the first retry, in ms. Default: 1 s.
  int64_t initial_backoff_ms = 1000;
  // The longest wait, in ms, also for a Retry-After. Default: 60 s.
  int64_t max_backoff_ms = 60'000;
  // Waits `ms` milliseconds. Default (empty): std::this_thread::sleep_for. Tests pass a fake.
  std::function<void(int64_t ms)> sleep;
  // A random number in [0, 1) for the jitter. Default (empty): OpenSSL's CSPRNG.
  std::function<double()> random;
  // Called before each wait with the retry's number (1 for the first), the wait and the error that
  // caused it. May be empty. Default: none.
  std::function<void(int retry, int64_t wait_ms, const Error& error)> on_retry;
};

struct SyncOptions {
  // The most outbox mutations sent in one request. Default: 500.
  size_t push_batch = 500;
  // The most changes asked for in one reply (SyncRequest.limit; 0 lets the server choose).
  // Default: 1000.
  uint32_t pull_limit = 1000;
  // Called after each page is committed, on the calling thread. May be empty. Default: none.
  std::function<void(const SyncProgress&)> on_progress;
  // Retrying failed requests. Default: no retries.
  RetryPolicy retry;
  // The device token to send; empty: the one the store keeps from `vinculo login`. Default: empty.
  std::string token;
};

struct SyncSummary {
  uint64_t pushed = 0;     // mutations the server acknowledged as applied (not rejected)
  uint64_t pulled = 0;     // changes and evictions applied
  uint64_t rejected = 0;   // mutations the server refused; now in LocalStore::Rejected()
  uint64_t conflicts = 0;  // conflicts the pushed mutations caused on the server
  uint32_t rounds = 0;     // requests made (pages applied)
  uint64_t cursor = 0;     // the cursor at the end
};

// "pushed N, pulled M, rejected R, conflicts C": the line stored as the last sync result.
std::string SyncSummaryLine(const SyncSummary& summary);

// Pushes the whole outbox and pulls every change waiting, in as many rounds as it takes: each round
// sends up to push_batch pending mutations (in seq order) with the store's cursor, and applies the
// reply. It goes on while mutations remain in the outbox or the server says has_more. `now_ms`
// reads the wall clock (in ms) whenever one is needed, always on the calling thread.
//
// Pages travel while the store works: when a reply says has_more and the next request would carry
// no mutations (the whole outbox was sent and acknowledged), that request — "changes since this
// reply's next_cursor" — is sent (Transport::SendAhead) before the reply is applied, so that the
// server builds the next page while this one is written. Each page is still applied, with its
// cursor, in its own transaction and in order; a page that fails to apply stops the sync, and the
// reply sent for is never read. Everything runs on the calling thread.
//
// On success records SyncSummaryLine as the store's last sync result and returns the summary.
// Errors:
//   Unauthenticated    — no token stored (nothing sent), or the server refused it (HTTP 401);
//   the Transport's    — Unavailable when the server cannot be reached or the reply was lost
//                        (after options.retry.max_retries retries of that request);
//   ErrorFromHttpResponse for any other non-200 reply — except a 429 still answered after
//                        retries, which is Unavailable ("the server is busy: try later");
//   DataLoss           — a reply that is not a SyncResponse, or one the store refuses (a cursor
//                        moving back); nothing of that reply is applied;
//   FailedPrecondition — a round made no progress (the server acknowledged none of the mutations
//                        sent and sent no new changes) although work remains: stopping rather than
//                        looping;
//   the store's errors.
// After an error the pages committed before it stay applied; nothing else changed.
Result<SyncSummary> Sync(Transport& transport, LocalStore& store, const SyncOptions& options,
                         const std::function<int64_t()>& now_ms);

}  // namespace vinculo::client
