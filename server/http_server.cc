// All of the server's Beast and Asio code lives in this translation unit (it is slow to compile).
#include "server/http_server.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <csignal>
#include <deque>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/civil_time.h"
#include "common/gzip.h"
#include "common/zstd.h"

namespace vinculo::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kCompressThreshold = 1024;  // smaller bodies are not worth compressing
// The slowest link a body is given time for: a 2G connection (GPRS manages about 5 KB/s).
constexpr uint64_t kMinBytesPerSecond = 2 * 1024;

// The coding of a response body, from the request's Accept-Encoding: zstd when the client takes it
// (smaller and faster), else gzip, else none. Only the names are looked for: q-values are not read.
std::string_view ResponseCoding(std::string_view accept_encoding) {
  if (accept_encoding.find("zstd") != std::string_view::npos) return "zstd";
  if (accept_encoding.find("gzip") != std::string_view::npos) return "gzip";
  return {};
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the server needs to reach a live connection when it stops, or when it is full and a new
// client arrives.
struct SessionControl {
  asio::any_io_executor executor;  // the connection's strand
  beast::tcp_stream* stream = nullptr;  // null once the connection is gone; touched on the strand
  std::atomic<bool> idle{true};         // waiting for a request (safe to cut off)
  std::atomic<int64_t> idle_since{0};   // steady-clock ns when it last became idle
  std::atomic<bool> evicted{false};     // cut off to make room: close without a TLS goodbye

  void MarkIdle() {
    idle_since = std::chrono::steady_clock::now().time_since_epoch().count();
    idle = true;
  }
};

// A request waiting for the store thread, and its response. The session's coroutine owns it and
// waits on `wake`; the store thread fills `response`, then posts `done` to the session's strand.
struct Waiting {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  asio::any_io_executor executor;      // the connection's strand
  asio::steady_timer* wake = nullptr;  // cancelled on the strand when the response is ready
  bool done = false;                   // touched on the strand only
};

class Server final : public HttpsServer {
 public:
  Server(const ServerOptions& options, GroupHandler handler, Handler login_handler)
      : options_(options),
        handler_(std::move(handler)),
        login_handler_(std::move(login_handler)),
        ioc_(options.io_threads),
        tls_(ssl::context::tls_server),
        acceptor_(ioc_),
        signals_(ioc_),
        store_thread_(1),
        login_thread_(1) {}

  Status Init() {
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::single_dh_use);
    beast::error_code ec;
    tls_.use_certificate_chain_file(options_.cert_file, ec);
    if (ec) {
      return Error::InvalidArgument("cannot load certificate " + options_.cert_file + ": " +
                                        ec.message(),
                                    "cert");
    }
    tls_.use_private_key_file(options_.key_file, ssl::context::pem, ec);
    if (ec) {
      return Error::InvalidArgument("cannot load key " + options_.key_file + ": " + ec.message(),
                                    "key");
    }
    const asio::ip::address address = asio::ip::make_address(options_.host, ec);
    if (ec) return Error::InvalidArgument("not an IP address: " + options_.host, "listen");
    const tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error::Unavailable("cannot listen on " + options_.host + ":" +
                                std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void Run(bool handle_signals) override {
    if (handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](const beast::error_code& ec, int) {
        if (!ec) DoStop();
      });
    }
    asio::co_spawn(ioc_, Accept(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << UtcTimestamp(NowMs()) << " accept loop failed: " << ex.what() << std::endl;
      }
    });
    std::vector<std::thread> threads;
    for (int i = 1; i < options_.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (std::thread& t : threads) t.join();
    store_thread_.join();
    login_thread_.join();
  }

  void Stop() override {
    asio::post(ioc_, [this] { DoStop(); });
  }

 private:
  void DoStop() {
    if (stopping_.exchange(true)) return;
    beast::error_code ignored;
    signals_.cancel(ignored);
    acceptor_.close(ignored);
    std::lock_guard lock(sessions_mutex_);
    for (const std::shared_ptr<SessionControl>& c : sessions_) {
      asio::post(c->executor, [c] {
        if (c->stream != nullptr && c->idle) c->stream->cancel();
      });
    }
  }

  asio::awaitable<void> Accept() {
    while (!stopping_) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kUseTuple);
      if (ec) {
        if (stopping_) break;
        // Out of descriptors or a transient error: pause instead of spinning.
        asio::steady_timer pause(ioc_, std::chrono::milliseconds(50));
        co_await pause.async_wait(kUseTuple);
        continue;
      }
      if (active_.load() >= options_.max_connections && !EvictIdle()) {
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::any_io_executor executor = socket.get_executor();
      ++active_;  // counted here, so that the limit sees connections not yet started
      asio::co_spawn(executor, Session(std::move(socket)), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << UtcTimestamp(NowMs()) << " connection failed: " << ex.what() << std::endl;
        }
      });
    }
  }

  // At the connection limit, cuts off the connection that has waited longest without a request in
  // progress (in its TLS handshake, idle between requests, or with its header still arriving), so
  // that connections that do nothing cannot lock out the clients that sync: the newcomer takes its
  // place. False, and the newcomer is refused, when every connection is busy with a request.
  bool EvictIdle() {
    std::shared_ptr<SessionControl> oldest;
    {
      std::lock_guard lock(sessions_mutex_);
      for (const std::shared_ptr<SessionControl>& c : sessions_) {
        if (c->idle && !c->evicted && (!oldest || c->idle_since < oldest->idle_since)) oldest = c;
      }
    }
    if (!oldest) return false;
    oldest->evicted = true;
    asio::post(oldest->executor, [oldest] {
      if (oldest->stream != nullptr && oldest->idle) {
        oldest->stream->cancel();
      } else {
        oldest->evicted = false;  // a request came in meanwhile: it stays
      }
    });
    return true;
  }

  static HttpResponse InternalError() {
    return HttpResponse{.status = 500, .content_type = "text/plain", .body = "internal error\n"};
  }

  // Runs the request's handler and returns its response to this connection's strand: a login on
  // the login thread (scrypt is slow), anything else on the store thread, in a group with the
  // other requests waiting for it (Drain). A handler that throws (a bug) gets the client a 500,
  // not a dropped connection.
  asio::awaitable<HttpResponse> Handle(HttpRequest& request) {
    if (login_handler_ && request.target.rfind("/v1/login", 0) == 0) {
      const Handler& handler = login_handler_;
      co_return co_await asio::co_spawn(
          login_thread_.get_executor(),
          [&handler, &request]() -> asio::awaitable<HttpResponse> {
            try {
              co_return handler(request);
            } catch (const std::exception& e) {
              std::cerr << UtcTimestamp(NowMs()) << " internal error: " << e.what() << std::endl;
            }
            co_return InternalError();
          },
          asio::use_awaitable);
    }
    if (options_.prepare) {
      try {
        options_.prepare(&request);
      } catch (const std::exception& e) {
        std::cerr << UtcTimestamp(NowMs()) << " internal error: " << e.what() << std::endl;
        co_return InternalError();
      }
    }
    asio::steady_timer wake(co_await asio::this_coro::executor);
    auto waiting = std::make_shared<Waiting>();
    waiting->request = &request;
    waiting->executor = co_await asio::this_coro::executor;
    waiting->wake = &wake;
    {
      std::lock_guard lock(queue_mutex_);
      queue_.push_back(waiting);
      if (!draining_) {
        draining_ = true;
        asio::post(store_thread_, [this] { Drain(); });
      }
    }
    // The completion is posted to this strand, so it cannot run before this wait has begun.
    while (!waiting->done) {
      wake.expires_at(asio::steady_timer::time_point::max());
      co_await wake.async_wait(kUseTuple);
    }
    co_return std::move(waiting->response);
  }

  // On the store thread: hands the waiting requests to the handler, a group at a time, until
  // none wait. Each response goes back to its connection only when the whole group is handled (the
  // group handler returns after its group commit).
  void Drain() {
    for (;;) {
      std::vector<std::shared_ptr<Waiting>> group;
      {
        std::lock_guard lock(queue_mutex_);
        if (queue_.empty()) {
          draining_ = false;
          return;
        }
        // At most max_group requests and, past the first, max_group_bytes of bodies: a group holds
        // the store's write lock until its commit, and logins (on their own connection) wait for it.
        const size_t most = std::min(queue_.size(), std::max<size_t>(options_.max_group, 1));
        size_t n = 1;
        for (size_t bytes = queue_.front()->request->body.size(); n < most; ++n) {
          bytes += queue_[n]->request->body.size();
          if (bytes > options_.max_group_bytes) break;
        }
        group.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      }
      std::vector<const HttpRequest*> requests;
      requests.reserve(group.size());
      for (const std::shared_ptr<Waiting>& w : group) requests.push_back(w->request);
      std::vector<HttpResponse> responses;
      try {
        responses = handler_(requests);
      } catch (const std::exception& e) {
        std::cerr << UtcTimestamp(NowMs()) << " internal error: " << e.what() << std::endl;
        responses.clear();
      }
      for (size_t i = 0; i < group.size(); ++i) {
        std::shared_ptr<Waiting> w = group[i];
        w->response = responses.size() == group.size() ? std::move(responses[i]) : InternalError();
        asio::post(w->executor, [w] {
          w->done = true;
          w->wake->cancel();
        });
      }
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    beast::error_code ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    const std::string remote = ec ? std::string("?") : peer.address().to_string();
    // A reply can leave in more than one segment (TLS records, header and body): without
    // TCP_NODELAY the last one waits for the client's delayed ACK, up to 40 ms on Linux.
    socket.set_option(tcp::no_delay(true), ec);
    Stream stream(std::move(socket), tls_);
    auto control = std::make_shared<SessionControl>();
    control->MarkIdle();
    control->executor = stream.get_executor();
    control->stream = &beast::get_lowest_layer(stream);
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.insert(control);
    }
    // Unregisters however Serve ends, an exception included, before the stream goes away.
    struct Registration {
      Server* server;
      std::shared_ptr<SessionControl> control;
      ~Registration() {
        control->stream = nullptr;
        std::lock_guard lock(server->sessions_mutex_);
        server->sessions_.erase(control);
        --server->active_;
      }
    } registration{this, control};

    co_await Serve(stream, remote, *control);
  }

  asio::awaitable<void> Serve(Stream& stream, const std::string& remote, SessionControl& control) {
    beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(std::chrono::seconds(options_.handshake_timeout_s));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
    if (hec) co_return;  // not TLS, a client that gave up, or too slow

    beast::flat_buffer buffer;
    while (!stopping_) {
      control.MarkIdle();
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(16 * 1024);
      // The header must arrive within the read timeout (a client trickling bytes cannot hold the
      // connection). The body must then keep coming at kMinBytesPerSecond on average after a read
      // timeout's grace: a slow link gets the time it needs, a client trickling bytes (whatever
      // Content-Length it announced) is cut off after about the read timeout.
      tcp_layer.expires_after(std::chrono::seconds(options_.read_timeout_s));
      auto [hrec, header_bytes] =
          co_await http::async_read_header(stream, buffer, parser, kUseTuple);
      if (!hrec) {
        control.idle = false;
        const auto body_start = std::chrono::steady_clock::now();
        uint64_t received = 0;
        while (!hrec && !parser.is_done()) {
          tcp_layer.expires_at(body_start + std::chrono::seconds(options_.read_timeout_s) +
                               std::chrono::milliseconds(received * 1000 / kMinBytesPerSecond));
          size_t bytes = 0;
          std::tie(hrec, bytes) = co_await http::async_read_some(stream, buffer, parser, kUseTuple);
          received += bytes;
        }
      }
      const beast::error_code rec = hrec;
      if (rec == http::error::body_limit) {
        HttpResponse too_large{.status = 413, .content_type = "text/plain",
                               .body = "request body too large\n"};
        const ReplyInfo info{.remote = remote, .method = "?", .target = "?"};
        co_await Reply(stream, info, std::move(too_large));
        break;
      }
      if (rec == http::error::end_of_stream || rec == asio::error::operation_aborted ||
          rec == beast::error::timeout || rec == asio::ssl::error::stream_truncated) {
        break;
      }
      if (rec) {
        if (rec.category() == beast::error_code(http::error::bad_target).category()) {
          HttpResponse malformed{.status = 400, .content_type = "text/plain",
                                 .body = "malformed HTTP request\n"};
          const ReplyInfo info{.remote = remote, .method = "?", .target = "?"};
          co_await Reply(stream, info, std::move(malformed));
        }
        break;
      }
      control.idle = false;
      http::request<http::string_body>& req = parser.get();
      HttpRequest in;
      in.method = std::string(req.method_string());
      in.target = std::string(req.target());
      in.content_type = std::string(req[http::field::content_type]);
      in.content_encoding = std::string(req[http::field::content_encoding]);
      in.accept_encoding = std::string(req[http::field::accept_encoding]);
      in.accept = std::string(req[http::field::accept]);
      in.if_none_match = std::string(req[http::field::if_none_match]);
      in.authorization = std::string(req[http::field::authorization]);
      in.body = std::move(req.body());
      in.remote = remote;
      const ReplyInfo info{.remote = remote,
                           .method = in.method,
                           .target = in.target,
                           .version = req.version(),
                           .keep_alive = req.keep_alive() && !stopping_,
                           .coding = ResponseCoding(in.accept_encoding),
                           .start = std::chrono::steady_clock::now()};
      HttpResponse out = co_await Handle(in);
      if (!co_await Reply(stream, info, std::move(out)) || !info.keep_alive) break;
    }
    // Cut off to make room: no goodbye, which could keep the place taken for seconds more.
    if (control.evicted) {
      beast::error_code ignored;
      tcp_layer.socket().close(ignored);
      co_return;
    }
    // Say goodbye in TLS, but do not wait long for the peer's answer (an idle client may not read
    // until its next request).
    tcp_layer.expires_after(std::chrono::seconds(stopping_ ? 1 : 5));
    co_await stream.async_shutdown(kUseTuple);
  }

  // What the log line and the response need to know about the request.
  struct ReplyInfo {
    std::string remote;
    std::string method;
    std::string target;
    unsigned version = 11;
    bool keep_alive = false;
    std::string_view coding;  // of the response body: "zstd", "gzip" or empty (ResponseCoding)
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };

  // Writes `out`; returns false when the write failed. Takes everything by reference to named
  // objects or by value: no temporaries in co_await arguments (g++ 12 mishandles their lifetime).
  asio::awaitable<bool> Reply(Stream& stream, const ReplyInfo& info, HttpResponse out) {
    const std::string& remote = info.remote;
    const std::string& method = info.method;
    const std::string& target = info.target;
    const unsigned version = info.version;
    const bool keep_alive = info.keep_alive;
    const std::string_view coding = info.coding;
    const auto start = info.start;
    http::response<http::string_body> res{static_cast<http::status>(out.status), version};
    res.set(http::field::server, "vinculo-server");
    if (!out.content_type.empty()) res.set(http::field::content_type, out.content_type);
    for (const auto& [name, value] : out.headers) res.set(name, value);
    if (!coding.empty() && out.body.size() >= kCompressThreshold) {
      out.body = coding == "zstd" ? ZstdCompress(out.body) : GzipCompress(out.body);
      res.set(http::field::content_encoding, coding);
    }
    res.set(http::field::vary, "Accept-Encoding");
    res.keep_alive(keep_alive);
    const size_t bytes = out.body.size();
    res.body() = std::move(out.body);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(options_.read_timeout_s) +
                                                  std::chrono::seconds(bytes / kMinBytesPerSecond));
    auto [wec, written] = co_await http::async_write(stream, res, kUseTuple);
    if (options_.log_requests) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      std::string line = UtcTimestamp(NowMs()) + " " + method + " " + target + " " +
                         std::to_string(out.status) + " " + std::to_string(bytes) + "B " +
                         std::to_string(ms) + "ms user=" + (out.user.empty() ? "-" : out.user) +
                         " device=" + (out.device.empty() ? "-" : out.device) +
                         " remote=" + remote + (wec ? " write-failed" : "") + "\n";
      std::cerr << line << std::flush;
    }
    co_return !wec;
  }

  ServerOptions options_;
  GroupHandler handler_;
  Handler login_handler_;
  asio::io_context ioc_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::thread_pool store_thread_;
  asio::thread_pool login_thread_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::mutex sessions_mutex_;
  std::set<std::shared_ptr<SessionControl>> sessions_;
  std::mutex queue_mutex_;
  std::deque<std::shared_ptr<Waiting>> queue_;  // requests waiting for the store thread
  bool draining_ = false;  // a Drain is posted or running; guarded by queue_mutex_
};

}  // namespace

Result<std::unique_ptr<HttpsServer>> HttpsServer::Create(const ServerOptions& options,
                                                         Handler handler, Handler login_handler) {
  GroupHandler one_by_one = [handler = std::move(handler)](
                                const std::vector<const HttpRequest*>& requests) {
    std::vector<HttpResponse> responses;
    responses.reserve(requests.size());
    for (const HttpRequest* r : requests) {
      try {
        responses.push_back(handler(*r));
      } catch (const std::exception& e) {
        std::cerr << UtcTimestamp(NowMs()) << " internal error: " << e.what() << std::endl;
        responses.push_back(HttpResponse{.status = 500, .content_type = "text/plain",
                                         .body = "internal error\n"});
      }
    }
    return responses;
  };
  return Create(options, std::move(one_by_one), std::move(login_handler));
}

Result<std::unique_ptr<HttpsServer>> HttpsServer::Create(const ServerOptions& options,
                                                         GroupHandler handler,
                                                         Handler login_handler) {
  auto server = std::make_unique<Server>(options, std::move(handler), std::move(login_handler));
  if (Status s = server->Init(); !s.ok()) return s.error();
  return std::unique_ptr<HttpsServer>(std::move(server));
}

}  // namespace vinculo::server
