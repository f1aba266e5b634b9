#pragma once
// The HTTP API as a plain function: a request in, a response out, no I/O but the store's.
// Routes (docs/protocol.md "Endpoints"): POST /v1/login, POST /v1/sync, GET /healthz, and the
// supervisor queries GET /v1/visits, /v1/children/{id}, /v1/caseload, /v1/overdue, /v1/outcomes,
// /v1/conflicts, /v1/audit and POST /v1/conflicts/{id}/resolve; GET / serves the web dashboard
// when one is set (WebAssets).
// Errors are mapped to HTTP statuses in one place (HttpStatusFor) with an ErrorResponse body.
//
// Thread-compatible: the server calls Handle from its one store thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/auth.h"
#include "server/central_store.h"
#include "server/http_types.h"
#include "server/query_service.h"
#include "server/sync_service.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::server {

// A POST /v1/sync body decoded by Api::Prepare: the request, or why it could not be decoded.
struct PreparedRequest {
  Status decoded;        // the error DecodeBody found, or Ok
  v1::SyncRequest sync;  // set when `decoded` is Ok
};

struct ApiOptions {
  SyncLimits sync;
  int64_t token_lifetime_ms = 90LL * 24 * 3600 * 1000;  // a device logs in again after 90 days
  int max_failed_logins = 5;                            // per user, within the window below
  int64_t failed_login_window_ms = 15 * 60 * 1000;      // then refused until the window ends
  size_t max_body_bytes = 32 << 20;                     // request body, after decompression
  // The most memory that sync bodies decoded ahead by Prepare may hold at once (their parsed
  // messages, SpaceUsedLong). Prepare runs before the token is checked: without a bound, a few KB
  // of zstd from strangers on every connection would each hold tens of MB until the store thread
  // refused them. Past it, a body is decoded on the store thread after its token, as Handle does.
  size_t max_predecoded_bytes = 256 << 20;
};

class Api {
 public:
  // `store` must outlive the Api.
  Api(CentralStore& store, ApiOptions options);

  HttpResponse Handle(const HttpRequest& request, int64_t now_ms);

  // Decodes the body of a POST /v1/sync into request->prepared (decompression, the value budget,
  // protobuf parsing), so that the store thread does not have to; Handle then uses it instead of
  // decoding. Does nothing for other requests, and leaves request->prepared unset when the decoded
  // bodies held would exceed options.max_predecoded_bytes (Handle decodes it then). Thread-safe:
  // touches no store, only the options and an atomic count, and may run on any thread while Handle
  // runs on another.
  void Prepare(HttpRequest* request) const;

  // Handles several requests at once, with one group commit (CentralStore::BeginGroup) for the
  // small syncs among them: one fsync instead of one per sync. A sync that Prepare decoded and
  // found to hold more than a hundred mutations commits alone first, as Handle does: it pays for
  // its own fsync, and in a group its savepoint would cost more than that (api.cc). Returns the
  // responses in the order of `requests`, and only after the group's commit, so that a reply
  // acknowledging a write is never sent before the write is durable. A sync that fails is undone
  // alone (its own nested transaction) and the others go on; when the group's commit fails, every
  // sync of the group gets 503 and nothing of them is kept. Other requests are handled one by one,
  // after the syncs, as Handle does.
  std::vector<HttpResponse> HandleGroup(const std::vector<const HttpRequest*>& requests,
                                        int64_t now_ms);

 private:
  HttpResponse Login(const HttpRequest& request, int64_t now_ms);
  HttpResponse Sync(const HttpRequest& request, int64_t now_ms);
  // The supervisor endpoints (query_api.cc); nullopt when `path` is not one of them.
  std::optional<HttpResponse> Query(const HttpRequest& request, const std::string& path,
                                    int64_t now_ms);
  // The principal behind a bearer token, or Unauthenticated/PermissionDenied.
  Result<Principal> Authenticate(const HttpRequest& request, int64_t now_ms);

  CentralStore& store_;
  ApiOptions options_;
  SyncService sync_;
  QueryService query_;
  // Bytes held by the bodies Prepare decoded, until each is released; shared with their deleters,
  // which may run after the Api is gone.
  std::shared_ptr<std::atomic<size_t>> predecoded_bytes_ = std::make_shared<std::atomic<size_t>>(0);
};

// The HTTP status for an error code: 400, 401, 403, 404, 409, 412, 413, 429, 503 or 500.
int HttpStatusFor(ErrorCode code);

// A response carrying an ErrorResponse for `error`: protobuf, or JSON when `json`.
HttpResponse ErrorReply(const Error& error, bool json = false);

}  // namespace vinculo::server
