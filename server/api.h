#pragma once
// The HTTP API as a plain function: a request in, a response out, no I/O but the store's.
// Routes (docs/protocol.md "Endpoints"): POST /v1/login, POST /v1/sync, GET /healthz, and the
// supervisor queries GET /v1/visits, /v1/children/{id}, /v1/caseload, /v1/overdue, /v1/outcomes,
// /v1/conflicts, /v1/audit and POST /v1/conflicts/{id}/resolve; GET / serves the web dashboard
// when one is set (WebAssets).
// Errors are mapped to HTTP statuses in one place (HttpStatusFor) with an ErrorResponse body.
//
// Thread-compatible: the server calls Handle from its one store thread.

#include <cstdint>
#include <string>

#include "common/result.h"
#include "server/auth.h"
#include "server/central_store.h"
#include "server/http_types.h"
#include "server/query_service.h"
#include "server/sync_service.h"

namespace vinculo::server {

struct ApiOptions {
  SyncLimits sync;
  int64_t token_lifetime_ms = 90LL * 24 * 3600 * 1000;  // a device logs in again after 90 days
  int max_failed_logins = 5;                            // per user, within the window below
  int64_t failed_login_window_ms = 15 * 60 * 1000;      // then refused until the window ends
  size_t max_body_bytes = 32 << 20;                     // request body, after decompression
};

class Api {
 public:
  // `store` must outlive the Api.
  Api(CentralStore& store, ApiOptions options);

  HttpResponse Handle(const HttpRequest& request, int64_t now_ms);

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
};

// The HTTP status for an error code: 400, 401, 403, 404, 409, 412, 413, 429, 503 or 500.
int HttpStatusFor(ErrorCode code);

// A response carrying an ErrorResponse for `error`: protobuf, or JSON when `json`.
HttpResponse ErrorReply(const Error& error, bool json = false);

}  // namespace vinculo::server
