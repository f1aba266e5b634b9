#pragma once
// Plain HTTP request and response values passed between the Beast transport (http_server.cc) and
// the request logic (api.h). No Beast or Asio here: the logic stays testable without sockets.

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vinculo::server {

// What the API decoded from a request ahead of handling it, off the store thread (Api::Prepare).
// Defined in api.h; the transport only carries it.
struct PreparedRequest;

struct HttpRequest {
  std::string method;            // "GET", "POST", ...
  std::string target;            // path and query, e.g. "/v1/sync"
  std::string content_type;
  std::string content_encoding;  // "gzip" or empty
  std::string accept_encoding;
  std::string accept;            // the Accept header
  std::string if_none_match;     // the If-None-Match header
  std::string authorization;     // the raw Authorization header
  std::string body;
  std::string remote;            // peer address, for the log and the audit
  std::shared_ptr<const PreparedRequest> prepared;  // set by Api::Prepare; may be null
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // For the request log: who made the request, when known.
  std::string user;
  std::string device;
};

}  // namespace vinculo::server
