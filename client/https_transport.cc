// HttpsTransport: a blocking HTTP/1.1 client over TLS, built from Beast's asynchronous operations
// run to completion one at a time on a private io_context. Asynchronous operations are used only
// because Beast's timeouts (tcp_stream::expires_after) apply to them and not to blocking calls;
// from the outside every call blocks.
//
// This is the one translation unit of the client that includes Beast, Asio and OpenSSL: keep it so.

#include "client/https_transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "common/gzip.h"
#include "common/zstd.h"

namespace vinculo::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

constexpr char kUserAgent[] = "vinculo/0.1";
constexpr char kAcceptedType[] = "application/x-protobuf";
// How long closing waits for the server's answer to our TLS close_notify. Ours is written before
// the wait, so giving up early costs nothing but politeness.
constexpr std::chrono::milliseconds kShutdownWait{250};

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), AsciiLower);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

std::string Millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

Result<ServerAddress> ParseServerUrl(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return Error::InvalidArgument(
        "the server URL \"" + std::string(url) + "\" " + why + "; expected https://host[:port]",
        "server");
  };
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() || !EqualsIgnoreCase(url.substr(0, kScheme.size()), kScheme)) {
    return bad("does not start with https://");
  }
  const std::string_view rest = url.substr(kScheme.size());
  const size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority_end != std::string_view::npos && rest.substr(authority_end) != "/") {
    return bad("has a path, query or fragment");
  }
  if (authority.find('@') != std::string_view::npos) return bad("has user info");

  ServerAddress address;
  std::string_view host;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '['");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("has text after ']'");
      port = after.substr(1);
    }
    boost::system::error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return bad("has an invalid IPv6 address");
    address.host_is_ip = true;
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("has an IPv6 address without [brackets]");
    }
    if (!std::all_of(host.begin(), host.end(), IsHostNameChar)) {
      return bad("has a character not allowed in a host name");
    }
    boost::system::error_code ec;
    asio::ip::make_address_v4(std::string(host), ec);
    address.host_is_ip = !ec;
  }
  if (host.empty()) return bad("has no host");
  if (port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (port->empty() || ec != std::errc() || end != port->data() + port->size() || value == 0 ||
        value > 65535) {
      return bad("has an invalid port");
    }
    address.port = static_cast<uint16_t>(value);
  }
  address.host = ToLower(host);
  return address;
}

struct HttpsTransport::Impl {
  Impl(ServerAddress address_in, std::string ca_file_in, TransportOptions options_in)
      : address(std::move(address_in)),
        ca_file(std::move(ca_file_in)),
        options(options_in),
        ctx(ssl::context::tls_client) {
    const std::string bracketed =
        address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
    where = bracketed + ":" + std::to_string(address.port);
    host_field = address.port == 443 ? bracketed : where;
  }

  // Starts one asynchronous operation with a handler that records its error, and runs the
  // io_context until it (and the timer Beast armed for it) completes.
  template <typename Start>
  beast::error_code Run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  tcp::socket& Socket() { return beast::get_lowest_layer(*stream).socket(); }

  // Drops the connection at once, without a TLS shutdown.
  void Close() {
    if (!stream) return;
    beast::error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
    stream.reset();
    buffer.clear();
  }

  // Sends close_notify, waits briefly for the server's, then drops the connection.
  void Shutdown() {
    if (!stream) return;
    beast::get_lowest_layer(*stream).expires_after(kShutdownWait);
    (void)Run([&](auto handler) { stream->async_shutdown(std::move(handler)); });
    Close();
  }

  // True when a kept-alive connection can no longer carry a request: the server closed it while it
  // was idle (a readable socket, since an idle HTTP/1.1 server sends nothing else), or bytes were
  // left over from the last response.
  bool Stale() {
    if (!Socket().is_open() || buffer.size() != 0) return true;
    beast::error_code ec;
    Socket().non_blocking(true, ec);
    if (ec) return true;
    char byte;
    Socket().receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    const bool idle = ec == asio::error::would_block || ec == asio::error::try_again;
    Socket().non_blocking(false, ec);
    return !idle || ec;
  }

  Status Connect() {
    Close();
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto flags = address.host_is_ip ? tcp::resolver::numeric_host : tcp::resolver::flags();
    tcp::resolver::results_type endpoints =
        resolver.resolve(address.host, std::to_string(address.port), flags, ec);
    if (ec) return Error::Unavailable("cannot resolve " + address.host + ": " + ec.message());

    stream.emplace(ioc, ctx);
    SSL* ssl_handle = stream->native_handle();
    bool configured = true;
    if (address.host_is_ip) {
      configured =
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), address.host.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl_handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      configured = SSL_set1_host(ssl_handle, address.host.c_str()) == 1 &&
                   SSL_set_tlsext_host_name(ssl_handle, address.host.c_str()) == 1;
    }
    if (!configured) {
      Close();
      return Error::Internal("OpenSSL refused the host name " + address.host);
    }

    beast::tcp_stream& tcp_layer = beast::get_lowest_layer(*stream);
    tcp_layer.expires_after(options.connect_timeout);  // covers connect and handshake together
    ec = Run([&](auto handler) { tcp_layer.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      Close();
      if (ec == beast::error::timeout) {
        return Error::Unavailable("connecting to " + where + " timed out after " +
                                  Millis(options.connect_timeout));
      }
      return Error::Unavailable("cannot connect to " + where + ": " + ec.message());
    }
    Socket().set_option(tcp::no_delay(true), ec);  // one request, one reply: no Nagle delay

    ec = Run([&](auto handler) {
      stream->async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) {
      const long verify = SSL_get_verify_result(ssl_handle);
      std::string message;
      if (verify != X509_V_OK) {
        message = "TLS handshake with " + where +
                  " failed: certificate verify failed: the server's certificate could not be "
                  "verified against the CA in " +
                  ca_file + " (" + X509_verify_cert_error_string(verify) + ")";
      } else if (ec == beast::error::timeout) {
        message =
            "TLS handshake with " + where + " timed out after " + Millis(options.connect_timeout);
      } else {
        message = "TLS handshake with " + where + " failed: " + ec.message();
      }
      Close();
      return Error::Unavailable(std::move(message));
    }
    tcp_layer.expires_never();
    return Status::Ok();
  }

  // Writes the whole request; each step may wait at most read_timeout for the server to take more.
  beast::error_code Write(http::request<http::string_body>& request) {
    http::request_serializer<http::string_body> serializer(request);
    beast::error_code ec;
    while (!ec && !serializer.is_done()) {
      beast::get_lowest_layer(*stream).expires_after(options.read_timeout);
      ec = Run(
          [&](auto handler) { http::async_write_some(*stream, serializer, std::move(handler)); });
    }
    if (stream) beast::get_lowest_layer(*stream).expires_never();
    return ec;
  }

  Error ReadError(const beast::error_code& ec) {
    if (ec == http::error::body_limit) {
      return Error::ResourceExhausted("the response from " + where + " is larger than " +
                                      std::to_string(options.max_response_body) + " bytes");
    }
    if (ec == beast::error::timeout) {
      return Error::Unavailable("no reply from " + where + " within " +
                                Millis(options.read_timeout));
    }
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == ssl::error::stream_truncated || ec == asio::error::eof) {
      return Error::Unavailable("the connection to " + where +
                                " was closed before the reply was complete");
    }
    if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      return Error::DataLoss("the reply from " + where + " is not valid HTTP: " + ec.message());
    }
    return Error::Unavailable("reading the reply from " + where + " failed: " + ec.message());
  }

  Result<HttpResponse> Read(bool head) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_body);
    if (head) parser.skip(true);
    beast::error_code ec;
    while (!ec && !parser.is_done()) {
      beast::get_lowest_layer(*stream).expires_after(options.read_timeout);
      ec = Run([&](auto handler) {
        http::async_read_some(*stream, buffer, parser, std::move(handler));
      });
    }
    if (ec) {
      Close();
      return ReadError(ec);
    }
    beast::get_lowest_layer(*stream).expires_never();
    http::response<http::string_body> message = parser.release();
    if (!message.keep_alive()) Close();

    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    response.content_type = std::string(message[http::field::content_type]);
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    const std::string_view encoding = message[http::field::content_encoding];
    if (encoding.empty() || EqualsIgnoreCase(encoding, "identity")) {
      response.body = std::move(message.body());
    } else if (const bool zstd = EqualsIgnoreCase(encoding, "zstd");
               zstd || EqualsIgnoreCase(encoding, "gzip") || EqualsIgnoreCase(encoding, "x-gzip")) {
      Result<std::string> body = zstd ? ZstdDecompress(message.body(), options.max_response_body)
                                      : GzipDecompress(message.body(), options.max_response_body);
      if (!body && body.error().code == ErrorCode::kResourceExhausted) return body.error();
      if (!body) {
        return Error::DataLoss("the " + std::string(encoding) + "-encoded reply from " + where +
                               " cannot be decoded: " + body.error().message);
      }
      response.body = std::move(body).value();
    } else {
      return Error::DataLoss("the reply from " + where +
                             " has an unsupported Content-Encoding: " + std::string(encoding));
    }
    return response;
  }

  const ServerAddress address;
  const std::string ca_file;
  const TransportOptions options;
  std::string where;       // "host:port" for messages
  std::string host_field;  // the Host header: the port only when not 443
  // Declared in this order so that the stream is destroyed before the context and io_context.
  asio::io_context ioc{1};
  ssl::context ctx;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;  // set while connected
  beast::flat_buffer buffer;  // bytes read past the last message (none, normally)
  // What SendAhead left for ReceiveAhead: whether the request was a HEAD, or why it failed.
  Result<bool> ahead = Error::FailedPrecondition("ReceiveAhead without SendAhead");
  // A request was sent ahead and its reply not collected: it is, or will be, the next message on
  // the connection, so the connection cannot carry another request (its reply would be taken for
  // the old one's). Even when the socket looks idle, the reply may simply not be there yet.
  bool reply_unread = false;

  void DropUnreadReply() {
    if (!reply_unread) return;
    reply_unread = false;
    ahead = Error::FailedPrecondition("ReceiveAhead without SendAhead");
    Close();
  }

  Status WriteRequest(const HttpRequest& request, http::verb* verb);
};

Result<std::unique_ptr<Transport>> HttpsTransport::Create(const std::string& server_url,
                                                          const std::string& ca_file,
                                                          TransportOptions options) {
  Result<ServerAddress> address = ParseServerUrl(server_url);
  if (!address) return address.error();
  if (options.connect_timeout.count() <= 0 || options.read_timeout.count() <= 0 ||
      options.max_response_body == 0) {
    return Error::InvalidArgument("transport timeouts and body limit must be positive");
  }
  if (ca_file.empty()) return Error::InvalidArgument("no CA certificate file was given", "ca");
  if (std::FILE* probe = std::fopen(ca_file.c_str(), "rb"); probe != nullptr) {
    std::fclose(probe);
  } else {
    return Error::InvalidArgument(
        "cannot read the CA certificate file " + ca_file + ": " + std::strerror(errno), "ca");
  }

  auto impl = std::make_unique<Impl>(std::move(address).value(), ca_file, options);
  if (SSL_CTX_set_min_proto_version(impl->ctx.native_handle(), TLS1_2_VERSION) != 1) {
    return Error::Internal("OpenSSL refused to require TLS 1.2");
  }
  beast::error_code ec;
  impl->ctx.set_verify_mode(ssl::verify_peer, ec);
  if (ec) return Error::Internal("OpenSSL refused peer verification: " + ec.message());
  // Only the given CA: the system's trust store is deliberately not loaded.
  impl->ctx.load_verify_file(ca_file, ec);
  if (ec) {
    return Error::InvalidArgument(
        "the CA certificate file " + ca_file + " holds no usable PEM certificate: " + ec.message(),
        "ca");
  }
  ERR_clear_error();
  return std::unique_ptr<Transport>(new HttpsTransport(std::move(impl)));
}

HttpsTransport::HttpsTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpsTransport::~HttpsTransport() {
  try {
    impl_->Shutdown();
  } catch (...) {  // NOLINT: a destructor must not throw; the socket closes with the stream anyway
  }
}

// Writes `request` on the kept-alive connection, or a new one. Returns the error Send reports when
// the request could not be written; on success the response waits on the connection.
Status HttpsTransport::Impl::WriteRequest(const HttpRequest& request, http::verb* verb) {
  *verb = http::string_to_verb(request.method);
  if (*verb == http::verb::unknown) {
    return Error::InvalidArgument("unknown HTTP method \"" + request.method + "\"");
  }
  if (request.path.empty() || request.path.front() != '/') {
    return Error::InvalidArgument("the request path \"" + request.path +
                                  "\" does not start with /");
  }
  http::request<http::string_body> message(*verb, request.path, 11);
  message.set(http::field::host, host_field);
  message.set(http::field::user_agent, kUserAgent);
  message.set(http::field::accept, kAcceptedType);
  if (!options.accept_encoding.empty()) {
    message.set(http::field::accept_encoding, options.accept_encoding);
  }
  if (!request.content_type.empty()) message.set(http::field::content_type, request.content_type);
  for (const auto& [name, value] : request.headers) message.set(name, value);
  const std::string& coding = options.request_coding;
  if (!coding.empty() && request.body.size() >= options.compress_request_min &&
      message[http::field::content_encoding].empty()) {
    message.body() = coding == "gzip" ? GzipCompress(request.body) : ZstdCompress(request.body);
    message.set(http::field::content_encoding, coding);
  } else {
    message.body() = request.body;
  }
  message.keep_alive(true);
  message.prepare_payload();

  bool reused = stream.has_value();
  if (reused && Stale()) {
    Close();
    reused = false;
  }
  if (!stream) VINCULO_RETURN_IF_ERROR(Connect());
  beast::error_code ec = Write(message);
  if (ec && reused) {
    // The kept-alive connection died under us before the request got through: once more, fresh.
    Close();
    VINCULO_RETURN_IF_ERROR(Connect());
    ec = Write(message);
  }
  if (ec) {
    Close();
    if (ec == beast::error::timeout) {
      return Error::Unavailable("sending the request to " + where + " stalled for " +
                                Millis(options.read_timeout));
    }
    return Error::Unavailable("sending the request to " + where + " failed: " + ec.message());
  }
  return Status::Ok();
}

Result<HttpResponse> HttpsTransport::Send(const HttpRequest& request) {
  impl_->DropUnreadReply();
  http::verb verb = http::verb::unknown;
  VINCULO_RETURN_IF_ERROR(impl_->WriteRequest(request, &verb));
  return impl_->Read(verb == http::verb::head);
}

void HttpsTransport::SendAhead(const HttpRequest& request) {
  impl_->DropUnreadReply();
  http::verb verb = http::verb::unknown;
  Status written = impl_->WriteRequest(request, &verb);
  impl_->ahead = written.ok() ? Result<bool>(verb == http::verb::head) : written.error();
  impl_->reply_unread = written.ok();
}

Result<HttpResponse> HttpsTransport::ReceiveAhead() {
  Result<bool> ahead = std::move(impl_->ahead);
  impl_->ahead = Error::FailedPrecondition("ReceiveAhead without SendAhead");
  impl_->reply_unread = false;
  if (!ahead) return ahead.error();
  return impl_->Read(*ahead);
}

}  // namespace vinculo::client
