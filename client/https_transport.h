#pragma once
// The real Transport: HTTP/1.1 over TLS to one Vínculo server, with keep-alive. Beast, Asio and
// OpenSSL stay in https_transport.cc (the slowest translation unit of the client, ~20 s): link the
// `vinculo_https` library only where the network is actually used.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "client/transport.h"
#include "common/result.h"

namespace vinculo::client {

struct TransportOptions {
  // The longest wait for name resolution's result to be connected to and the TLS handshake to
  // complete, together. Default: 15 s.
  std::chrono::milliseconds connect_timeout{15'000};
  // The longest the transport waits, once connected, for the server to accept more of the request
  // or to send more of the response. It bounds silence, not the whole exchange: a large page that
  // keeps arriving slowly over 2G is not cut off. Default: 60 s.
  std::chrono::milliseconds read_timeout{60'000};
  // The largest response body accepted, both as received and after it is decompressed; a larger
  // one fails with ResourceExhausted. Default: 64 MiB.
  size_t max_response_body = 64u << 20;
  // How request bodies of at least compress_request_min bytes are compressed: "zstd" or "gzip"
  // (Content-Encoding, both accepted by vinculo-server), or empty to send every body as it is. A
  // sync request of 500 visits is ~340 KB raw and under a third of that compressed: on 2G the
  // bytes are the time. Default: zstd from 1 KiB.
  std::string request_coding = "zstd";
  size_t compress_request_min = 1024;
  // The Accept-Encoding sent; empty asks for uncompressed responses. Default: "zstd, gzip".
  std::string accept_encoding = "zstd, gzip";
};

// Where a server is, from a URL "https://host[:port][/]".
struct ServerAddress {
  std::string host;  // a DNS name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 443;
  bool host_is_ip = false;  // true for an IP literal: verified against the certificate's IP SANs
};

// Parses a server URL. Only "https" is accepted (case-insensitive), with an optional port (default
// 443) and an optional "/" path; no user info, other path, query or fragment. InvalidArgument with
// field "server" otherwise.
Result<ServerAddress> ParseServerUrl(std::string_view url);

// Thread-compatible: one thread at a time. Keeps one connection open between Send calls.
//
// Security: TLS 1.2 or newer; the server's certificate must chain to the CA certificate(s) in the
// given file and to nothing else (the system's trust store is not used), and must name the URL's
// host (a DNS SAN for a name, an IP SAN for an address). SNI is sent for names.
//
// Retries: a kept-alive connection that the server closed while idle is noticed before the request
// is written, and the request then goes on a new connection; if writing the request on a reused
// connection fails, it reconnects and writes it once more. Nothing is resent once the request was
// written: a failure while waiting for the response is Unavailable, and the caller decides (POST
// /v1/sync is safe to repeat).
class HttpsTransport final : public Transport {
 public:
  // `server_url` is "https://host[:port]" (InvalidArgument, field "server", otherwise). `ca_file`
  // is a PEM file holding the CA certificate(s) that sign the server's certificate
  // (InvalidArgument, field "ca", when missing, unreadable or holding no certificate). Does not
  // connect: the first Send does.
  static Result<std::unique_ptr<Transport>> Create(const std::string& server_url,
                                                   const std::string& ca_file,
                                                   TransportOptions options = {});

  ~HttpsTransport() override;  // closes the connection, if any (a short TLS shutdown, bounded)

  // See Transport::Send. Adds Host, User-Agent "vinculo/0.1", Accept "application/x-protobuf",
  // Accept-Encoding (options.accept_encoding, unless empty) and Content-Length, compresses a body of
  // at least options.compress_request_min bytes with options.request_coding (unless the request
  // names its own Content-Encoding), and decodes a zstd- or gzip-encoded response body.
  Result<HttpResponse> Send(const HttpRequest& request) override;

  // See Transport::SendAhead: writes the request (connecting, or reconnecting, as Send does) and
  // leaves its response unread on the connection until ReceiveAhead. When a response is never
  // collected, the next Send or SendAhead closes that connection and takes a new one, so that no
  // reply is ever taken for another request's.
  void SendAhead(const HttpRequest& request) override;
  Result<HttpResponse> ReceiveAhead() override;

 private:
  struct Impl;
  explicit HttpsTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vinculo::client
