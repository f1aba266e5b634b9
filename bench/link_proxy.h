#pragma once
// A slow network link for benchmarks: a TCP proxy on 127.0.0.1 that forwards every connection to
// one target through a model of a mobile link (a 2G phone: 50 kbit/s each way, 600 ms round trip).
//
// The model (LinkModel, a pure function of the times and sizes it is given):
// - one link each way, shared by every connection through the proxy: bytes queue behind the bytes
//   already on the link, and cross it at `bits_per_second` (plus `segment_overhead_bytes` of
//   TCP/IP header per segment of at most `segment_bytes`);
// - every segment then takes `one_way_delay` to arrive;
// - a new connection pays a round trip before its first byte leaves the client (the TCP
//   handshake: the client's connect() to the proxy returns at once, so the proxy holds the
//   client's bytes instead).
// Not modelled: TCP slow start, losses and retransmissions, ACK traffic, radio wake-up. All of them
// make a real link slower, so a time measured through the proxy is a lower bound for a real 2G
// link with these figures.
//
// Beast and Asio stay in link_proxy.cc. Thread-safe: the proxy runs on a thread of its own;
// stats() may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace vinculo::bench {

struct LinkOptions {
  // Capacity of each direction, shared by all connections. Default: 50 kbit/s.
  double bits_per_second = 50'000;
  // Propagation delay each way. Default: 300 ms (a 600 ms round trip).
  std::chrono::microseconds one_way_delay{300'000};
  // A new connection's first byte waits one round trip (2 × one_way_delay). Default: true.
  bool connect_round_trip = true;
  // Largest segment (TCP MSS). Default: 1460 bytes.
  size_t segment_bytes = 1460;
  // Header bytes each segment costs on the link (IPv4 + TCP). Default: 40.
  size_t segment_overhead_bytes = 40;
};

// One direction of the link, as a pure function: when does a segment handed to the link at `now`
// arrive? Times are durations since any fixed origin. Not thread-safe.
class LinkModel {
 public:
  using Duration = std::chrono::nanoseconds;

  explicit LinkModel(const LinkOptions& options) : options_(options) {}

  // The time the last byte of a segment of `bytes` (at most segment_bytes) arrives, when it is
  // handed to the link at `now`: it starts when the link is free, takes its serialization time
  // (header included), then the one-way delay.
  Duration Send(Duration now, size_t bytes);

  // How long `bytes` of payload (with their headers) occupy the link.
  Duration SerializationTime(size_t bytes) const;

  // When the link is next free.
  Duration busy_until() const { return busy_until_; }

 private:
  LinkOptions options_;
  Duration busy_until_{0};
};

// Totals since the proxy started.
struct LinkStats {
  uint64_t connections = 0;
  uint64_t bytes_up = 0;    // client → target, payload delivered
  uint64_t bytes_down = 0;  // target → client, payload delivered
};

class LinkProxy {
 public:
  // Listens on 127.0.0.1 (an ephemeral port) and forwards each connection to
  // target_host:target_port (an IP address) through the link model. Unavailable when it cannot
  // listen; InvalidArgument for a host that is not an IP address.
  static Result<std::unique_ptr<LinkProxy>> Start(const std::string& target_host,
                                                  uint16_t target_port, LinkOptions options = {});

  // Stops: closes the listener and every connection, and joins the proxy's thread.
  ~LinkProxy();
  LinkProxy(const LinkProxy&) = delete;
  LinkProxy& operator=(const LinkProxy&) = delete;

  uint16_t port() const;
  LinkStats stats() const;

 private:
  struct Impl;
  explicit LinkProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vinculo::bench
