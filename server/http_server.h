#pragma once
// The HTTPS transport: Boost.Beast on Asio C++20 coroutines (all of it in http_server.cc).
// Each connection is one short coroutine loop: set a timeout → read a request (with a body limit)
// → hand it to the handler on the store thread (with the other requests waiting then, as a group)
// → write the response. TLS 1.2 minimum, HTTP/1.1
// keep-alive, a limit on connections. One log line per request on stderr.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/http_types.h"

namespace vinculo::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8443;             // 0: any free port (see HttpsServer::port)
  std::string cert_file;            // PEM certificate chain
  std::string key_file;             // PEM private key
  int io_threads = 2;
  size_t max_body_bytes = 32 << 20;  // larger requests get 413
  // At the limit a newcomer takes the place of the connection that has waited longest without a
  // request in progress (handshaking, idle, or its header still arriving); when every connection is
  // busy with a request, the newcomer is closed at once.
  int max_connections = 2000;
  int handshake_timeout_s = 15;
  // A request's header must arrive within this, from the moment the connection is idle (a slow or
  // silent client is cut off). Its body must then keep coming at 2 KB/s on average after this much
  // grace, so a 2G link gets the time it needs and a trickle is cut off; the response gets this
  // plus the time a 2G link needs.
  int read_timeout_s = 30;
  bool log_requests = true;
  // The most requests handed to the group handler at once (one group commit). Default: 128.
  size_t max_group = 128;
  // The most body bytes (as received) in one group, past its first request: bounds how long a
  // group holds the store's write lock (a login waits for it). Default: 1 MiB, a few full pushes.
  size_t max_group_bytes = 1 << 20;
  // Called with each request (other than a login) on its connection's I/O thread before it goes
  // to the store thread, to do there what needs no store (Api::Prepare decodes sync bodies).
  // Must be thread-safe. Default: none.
  std::function<void(HttpRequest*)> prepare;
};

class HttpsServer {
 public:
  // Called on one thread, one request at a time (the store thread, or the login thread); returns the
  // response. An exception is a bug: the client gets a 500 and the error is logged.
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds the listening socket and loads the certificate; InvalidArgument naming the file for a bad
  // certificate or key, Unavailable when the address cannot be bound. `login_handler`, when set,
  // answers POST /v1/login on a thread of its own (password hashing is slow and must not hold up
  // syncs); it must not share a store connection with `handler`.
  static Result<std::unique_ptr<HttpsServer>> Create(const ServerOptions& options, Handler handler,
                                                     Handler login_handler = {});

  // Called on the store thread with every request that waits for it (up to max_group, in arrival
  // order); returns their responses in the same order. Requests that arrive while a group is being
  // handled form the next group, so a busy server handles bigger groups (Api::HandleGroup commits
  // each group's syncs together) and an idle one handles each request at once.
  using GroupHandler =
      std::function<std::vector<HttpResponse>(const std::vector<const HttpRequest*>&)>;

  // As above, with a group handler instead of a one-request handler.
  static Result<std::unique_ptr<HttpsServer>> Create(const ServerOptions& options,
                                                     GroupHandler group_handler,
                                                     Handler login_handler = {});

  virtual ~HttpsServer() = default;

  // The bound port (useful with port 0).
  virtual uint16_t port() const = 0;

  // Serves until Stop, or SIGINT/SIGTERM when `handle_signals`. On stop: no new connections, requests
  // in flight finish and get their responses, idle connections close; then Run returns.
  virtual void Run(bool handle_signals) = 0;

  // Thread-safe; may be called from any thread or a signal's handler context.
  virtual void Stop() = 0;
};

}  // namespace vinculo::server
