// The slow-link proxy (link_proxy.h): Asio coroutines on one thread of the proxy's own. Each
// connection has two pumps, one per direction; a pump's reader cuts what it reads into segments,
// asks the direction's LinkModel when each arrives, and queues it; its writer hands each segment to
// the other side at that time. One thread, so the models need no lock.

#include "bench/link_proxy.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace vinculo::bench {

LinkModel::Duration LinkModel::SerializationTime(size_t bytes) const {
  const double bits = 8.0 * static_cast<double>(bytes + options_.segment_overhead_bytes);
  return std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(bits / options_.bits_per_second));
}

LinkModel::Duration LinkModel::Send(Duration now, size_t bytes) {
  const Duration start = std::max(now, busy_until_);
  busy_until_ = start + SerializationTime(bytes);
  return busy_until_ + std::chrono::duration_cast<Duration>(options_.one_way_delay);
}

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// One direction of one connection: segments waiting for their arrival time.
struct Pipe {
  explicit Pipe(asio::any_io_executor executor) : wake(executor), due(executor) {}
  struct Segment {
    Clock::time_point arrives;
    std::string bytes;
  };
  std::deque<Segment> queue;
  bool reader_done = false;
  asio::steady_timer wake;  // cancelled when the reader queues something or stops
  asio::steady_timer due;   // the writer waits here for the next segment's arrival
};

struct Connection {
  Connection(tcp::socket client_in, tcp::socket server_in)
      : client(std::move(client_in)),
        server(std::move(server_in)),
        up(client.get_executor()),
        down(client.get_executor()) {}
  tcp::socket client;
  tcp::socket server;
  Pipe up;    // client → server
  Pipe down;  // server → client
  void Close() {
    boost::system::error_code ignored;
    client.close(ignored);
    server.close(ignored);
    up.wake.cancel();
    down.wake.cancel();
    up.due.cancel();
    down.due.cancel();
  }
};

}  // namespace

struct LinkProxy::Impl {
  Impl(tcp::endpoint target_in, const LinkOptions& options_in)
      : options(options_in),
        target(target_in),
        acceptor(ioc),
        up_link(options_in),
        down_link(options_in),
        origin(Clock::now()) {}

  LinkModel::Duration Now() const { return Clock::now() - origin; }

  // Reads from `from` and queues each segment on `pipe` with its arrival time on `link`; bytes
  // read before `not_before` are handed to the link at `not_before`.
  asio::awaitable<void> Read(std::shared_ptr<Connection> c, tcp::socket& from, Pipe& pipe,
                             LinkModel& link, Clock::time_point not_before) {
    (void)c;  // keeps the connection alive while this pump runs
    std::vector<char> buffer(16 * 1024);
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer), kUseTuple);
      if (ec) break;
      const LinkModel::Duration now = std::max(Now(), LinkModel::Duration(not_before - origin));
      for (size_t offset = 0; offset < n; offset += options.segment_bytes) {
        const size_t size = std::min(options.segment_bytes, n - offset);
        const LinkModel::Duration arrives = link.Send(now, size);
        pipe.queue.push_back({origin + arrives, std::string(buffer.data() + offset, size)});
      }
      pipe.wake.cancel();
    }
    pipe.reader_done = true;
    pipe.wake.cancel();
  }

  // Hands each queued segment to `to` at its arrival time; when the reader is done and the queue
  // empty, passes the end of stream on.
  asio::awaitable<void> Write(std::shared_ptr<Connection> c, tcp::socket& to, Pipe& pipe,
                              std::atomic<uint64_t>& counter) {
    for (;;) {
      while (pipe.queue.empty()) {
        if (pipe.reader_done || !to.is_open()) {
          boost::system::error_code ignored;
          to.shutdown(tcp::socket::shutdown_send, ignored);
          co_return;
        }
        pipe.wake.expires_at(Clock::time_point::max());
        co_await pipe.wake.async_wait(kUseTuple);
      }
      Pipe::Segment segment = std::move(pipe.queue.front());
      pipe.queue.pop_front();
      pipe.due.expires_at(segment.arrives);
      co_await pipe.due.async_wait(kUseTuple);
      auto [ec, written] = co_await asio::async_write(to, asio::buffer(segment.bytes), kUseTuple);
      if (ec) {
        c->Close();
        co_return;
      }
      counter += written;
    }
  }

  asio::awaitable<void> Serve(tcp::socket client) {
    const Clock::time_point accepted = Clock::now();
    tcp::socket server(ioc);
    auto [ec] = co_await server.async_connect(target, kUseTuple);
    if (ec) co_return;
    boost::system::error_code ignored;
    client.set_option(tcp::no_delay(true), ignored);
    server.set_option(tcp::no_delay(true), ignored);
    ++connections;
    auto c = std::make_shared<Connection>(std::move(client), std::move(server));
    const Clock::time_point first_byte =
        options.connect_round_trip ? accepted + 2 * options.one_way_delay : accepted;
    auto detached = [](std::exception_ptr) {};
    asio::co_spawn(ioc, Read(c, c->client, c->up, up_link, first_byte), detached);
    asio::co_spawn(ioc, Read(c, c->server, c->down, down_link, accepted), detached);
    asio::co_spawn(ioc, Write(c, c->server, c->up, bytes_up), detached);
    asio::co_spawn(ioc, Write(c, c->client, c->down, bytes_down), detached);
    std::lock_guard lock(connections_mutex);
    open.push_back(c);
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec) co_return;
      asio::co_spawn(ioc, Serve(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  const LinkOptions options;
  const tcp::endpoint target;
  asio::io_context ioc{1};
  tcp::acceptor acceptor;
  LinkModel up_link;
  LinkModel down_link;
  const Clock::time_point origin;
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> bytes_up{0};
  std::atomic<uint64_t> bytes_down{0};
  std::mutex connections_mutex;
  std::vector<std::weak_ptr<Connection>> open;
  uint16_t port = 0;
  std::thread thread;
};

Result<std::unique_ptr<LinkProxy>> LinkProxy::Start(const std::string& target_host,
                                                    uint16_t target_port, LinkOptions options) {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(target_host, ec);
  if (ec) return Error::InvalidArgument("not an IP address: " + target_host, "target");
  if (options.bits_per_second <= 0 || options.segment_bytes == 0) {
    return Error::InvalidArgument("the link needs a positive rate and segment size");
  }
  auto impl = std::make_unique<Impl>(tcp::endpoint(address, target_port), options);
  const tcp::endpoint listen(asio::ip::make_address("127.0.0.1"), 0);
  impl->acceptor.open(listen.protocol(), ec);
  if (!ec) impl->acceptor.bind(listen, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error::Unavailable("the link proxy cannot listen: " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  asio::co_spawn(impl->ioc, impl->Accept(), [](std::exception_ptr) {});
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<LinkProxy>(new LinkProxy(std::move(impl)));
}

LinkProxy::LinkProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LinkProxy::~LinkProxy() {
  Impl* impl = impl_.get();
  asio::post(impl->ioc, [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    std::lock_guard lock(impl->connections_mutex);
    for (const std::weak_ptr<Connection>& weak : impl->open) {
      if (std::shared_ptr<Connection> c = weak.lock()) c->Close();
    }
  });
  // Coroutines still waiting on a closed socket or a cancelled timer finish on their own.
  impl->thread.join();
}

uint16_t LinkProxy::port() const { return impl_->port; }

LinkStats LinkProxy::stats() const {
  return {.connections = impl_->connections.load(),
          .bytes_up = impl_->bytes_up.load(),
          .bytes_down = impl_->bytes_down.load()};
}

}  // namespace vinculo::bench
