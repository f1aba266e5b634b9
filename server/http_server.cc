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
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/civil_time.h"
#include "common/gzip.h"

namespace vinculo::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kGzipThreshold = 1024;  // smaller bodies are not worth compressing

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the server needs to reach a live connection when it stops.
struct SessionControl {
  asio::any_io_executor executor;  // the connection's strand
  beast::tcp_stream* stream = nullptr;  // null once the connection is gone; touched on the strand
  std::atomic<bool> idle{true};         // waiting for a request (safe to cut off)
};

class Server final : public HttpsServer {
 public:
  Server(const ServerOptions& options, Handler handler)
      : options_(options),
        handler_(std::move(handler)),
        ioc_(options.io_threads),
        tls_(ssl::context::tls_server),
        acceptor_(ioc_),
        signals_(ioc_),
        store_thread_(1) {}

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
    asio::co_spawn(ioc_, Accept(), asio::detached);
    std::vector<std::thread> threads;
    for (int i = 1; i < options_.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (std::thread& t : threads) t.join();
    store_thread_.join();
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
      if (active_.load() >= options_.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::any_io_executor executor = socket.get_executor();
      asio::co_spawn(executor, Session(std::move(socket)), asio::detached);
    }
  }

  // Runs the handler on the store thread and returns its response to this connection's strand.
  asio::awaitable<HttpResponse> Handle(const HttpRequest& request) {
    co_return co_await asio::co_spawn(
        store_thread_.get_executor(),
        [this, &request]() -> asio::awaitable<HttpResponse> { co_return handler_(request); },
        asio::use_awaitable);
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    ++active_;
    beast::error_code ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    const std::string remote = ec ? std::string("?") : peer.address().to_string();
    Stream stream(std::move(socket), tls_);
    auto control = std::make_shared<SessionControl>();
    control->executor = stream.get_executor();
    control->stream = &beast::get_lowest_layer(stream);
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.insert(control);
    }

    co_await Serve(stream, remote, *control);

    control->stream = nullptr;
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.erase(control);
    }
    --active_;
  }

  asio::awaitable<void> Serve(Stream& stream, const std::string& remote, SessionControl& control) {
    beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(std::chrono::seconds(options_.handshake_timeout_s));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
    if (hec) co_return;  // not TLS, a client that gave up, or too slow

    beast::flat_buffer buffer;
    while (!stopping_) {
      control.idle = true;
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(16 * 1024);
      // The whole request, from idle to its last byte, must arrive within the read timeout: a
      // client trickling bytes cannot hold the connection.
      tcp_layer.expires_after(std::chrono::seconds(options_.read_timeout_s));
      auto [rec, read_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (rec == http::error::body_limit) {
        co_await Reply(stream, remote, "?", "?", 11,
                       HttpResponse{.status = 413, .content_type = "text/plain",
                                    .body = "request body too large\n"},
                       false, false, std::chrono::steady_clock::now());
        break;
      }
      if (rec == http::error::end_of_stream || rec == asio::error::operation_aborted ||
          rec == beast::error::timeout || rec == asio::ssl::error::stream_truncated) {
        break;
      }
      if (rec) {
        if (rec.category() == beast::error_code(http::error::bad_target).category()) {
          co_await Reply(stream, remote, "?", "?", 11,
                         HttpResponse{.status = 400, .content_type = "text/plain",
                                      .body = "malformed HTTP request\n"},
                         false, false, std::chrono::steady_clock::now());
        }
        break;
      }
      control.idle = false;
      const auto start = std::chrono::steady_clock::now();
      http::request<http::string_body>& req = parser.get();
      HttpRequest in;
      in.method = std::string(req.method_string());
      in.target = std::string(req.target());
      in.content_type = std::string(req[http::field::content_type]);
      in.content_encoding = std::string(req[http::field::content_encoding]);
      in.accept_encoding = std::string(req[http::field::accept_encoding]);
      in.authorization = std::string(req[http::field::authorization]);
      in.body = std::move(req.body());
      in.remote = remote;
      HttpResponse out = co_await Handle(in);
      const bool keep_alive = req.keep_alive() && !stopping_;
      const bool accepts_gzip = in.accept_encoding.find("gzip") != std::string::npos;
      if (!co_await Reply(stream, remote, in.method, in.target, req.version(), std::move(out),
                          keep_alive, accepts_gzip, start) ||
          !keep_alive) {
        break;
      }
    }
    // Say goodbye in TLS, but do not wait long for the peer's answer (an idle client may not read
    // until its next request).
    tcp_layer.expires_after(std::chrono::seconds(stopping_ ? 1 : 5));
    co_await stream.async_shutdown(kUseTuple);
  }

  // Writes `out`; returns false when the write failed.
  asio::awaitable<bool> Reply(Stream& stream, const std::string& remote, const std::string& method,
                              const std::string& target, unsigned version, HttpResponse out,
                              bool keep_alive, bool accepts_gzip,
                              std::chrono::steady_clock::time_point start) {
    http::response<http::string_body> res{static_cast<http::status>(out.status), version};
    res.set(http::field::server, "vinculo-server");
    if (!out.content_type.empty()) res.set(http::field::content_type, out.content_type);
    for (const auto& [name, value] : out.headers) res.set(name, value);
    if (accepts_gzip && out.body.size() >= kGzipThreshold) {
      out.body = GzipCompress(out.body);
      res.set(http::field::content_encoding, "gzip");
    }
    res.set(http::field::vary, "Accept-Encoding");
    res.keep_alive(keep_alive);
    const size_t bytes = out.body.size();
    res.body() = std::move(out.body);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(options_.read_timeout_s));
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
  Handler handler_;
  asio::io_context ioc_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::thread_pool store_thread_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::mutex sessions_mutex_;
  std::set<std::shared_ptr<SessionControl>> sessions_;
};

}  // namespace

Result<std::unique_ptr<HttpsServer>> HttpsServer::Create(const ServerOptions& options,
                                                         Handler handler) {
  auto server = std::make_unique<Server>(options, std::move(handler));
  if (Status s = server->Init(); !s.ok()) return s.error();
  return std::unique_ptr<HttpsServer>(std::move(server));
}

}  // namespace vinculo::server
