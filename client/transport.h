#pragma once
// The sync client's view of HTTP: one request in, one complete response out, blocking. The protocol
// code (sync_client.h) is written against this interface so that tests can hand it a fake; the real
// implementation is HttpsTransport (https_transport.h). No Beast or Asio here, by design: this
// header is included by code that must compile fast.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace vinculo::client {

// Header fields in the order they were given or received. Names compare case-insensitively.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "POST";  // "GET", "POST", ...
  std::string path;             // origin-form target, e.g. "/v1/sync"
  std::string content_type;     // empty: no Content-Type header (and normally no body)
  std::string body;
  // Further fields, e.g. {"Authorization", "Bearer ..."}. The transport itself sets Host,
  // User-Agent, Accept, Accept-Encoding and Content-Length; a field named here replaces its own.
  HttpHeaders headers;
};

struct HttpResponse {
  int status = 0;            // e.g. 200, 401
  std::string content_type;  // the Content-Type field, empty when absent
  std::string body;          // with any Content-Encoding (gzip) already removed
  HttpHeaders headers;       // every field received

  // The value of the first field called `name` (case-insensitive), or "" when there is none.
  std::string_view Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key.size() != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < key.size() && same; ++i) {
        same = AsciiLower(key[i]) == AsciiLower(name[i]);
      }
      if (same) return value;
    }
    return {};
  }

 private:
  static char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
};

// Sends HTTP requests to one server. Implementations are thread-compatible: one thread at a time.
class Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // Sends `request` and waits for the whole response. Every HTTP status, 4xx and 5xx included, is a
  // response (a value), never an Error: interpreting it is the caller's business.
  //
  // Errors, when no complete response arrived:
  //   Unavailable        — the server could not be reached or the exchange broke off: name
  //                        resolution, TCP connect, TLS handshake (including "certificate verify
  //                        failed"), timeout, connection reset. The message names the host and
  //                        which step failed. The request may or may not have reached the server.
  //   ResourceExhausted  — the response body is larger than the transport accepts.
  //   DataLoss           — the response is not well-formed HTTP, or its encoding cannot be decoded.
  //   InvalidArgument    — the request itself is unusable (e.g. an unknown method).
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;

  // Send in two halves, so that the server works on a request while the caller does something
  // else (the sync client writes the previous page to its store): SendAhead starts the exchange
  // and returns without waiting for the response; ReceiveAhead waits for it and returns what Send
  // would have. Each SendAhead is normally followed by one ReceiveAhead before anything else is
  // sent; a caller that gives up may skip the ReceiveAhead, and the next Send or SendAhead then
  // discards the unread reply (never returning it as its own).
  //
  // The defaults keep the request and Send it in ReceiveAhead: correct, without the overlap. A
  // fake transport needs nothing more.
  virtual void SendAhead(const HttpRequest& request) { ahead_ = request; }
  virtual Result<HttpResponse> ReceiveAhead() {
    HttpRequest request = std::move(ahead_);
    ahead_ = HttpRequest();
    return Send(request);
  }

 private:
  HttpRequest ahead_;  // for the defaults
};

}  // namespace vinculo::client
