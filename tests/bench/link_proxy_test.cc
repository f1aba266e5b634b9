// The slow-link proxy of the benchmarks (bench/link_proxy.h): the model's arithmetic exactly, and
// the real proxy's byte accounting, ordering and lower bounds on time. No upper bounds on time: the
// machine is shared, and only "not faster than the model allows" cannot flake.

#include "bench/link_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace vinculo::bench {
namespace {

using std::chrono::milliseconds;
using Duration = LinkModel::Duration;

LinkOptions Options(double bps, milliseconds delay) {
  LinkOptions o;
  o.bits_per_second = bps;
  o.one_way_delay = delay;
  return o;
}

TEST(LinkModel, SegmentTakesSerializationPlusDelay) {
  LinkModel link(Options(80'000, milliseconds(300)));  // 10,000 bytes/s
  // 960 bytes + 40 of header = 1,000 bytes = 100 ms on the link, then 300 ms of delay.
  EXPECT_EQ(link.Send(Duration(0), 960), milliseconds(400));
  EXPECT_EQ(link.busy_until(), milliseconds(100));
}

TEST(LinkModel, SegmentsQueueBehindEachOtherOnTheSharedLink) {
  LinkModel link(Options(80'000, milliseconds(300)));
  // Two connections hand a segment to the link at the same time: the second waits for the first.
  EXPECT_EQ(link.Send(Duration(0), 960), milliseconds(400));
  EXPECT_EQ(link.Send(Duration(0), 960), milliseconds(500));
  // After the link went idle, a segment starts at once.
  EXPECT_EQ(link.Send(milliseconds(1000), 960), milliseconds(1400));
}

TEST(LinkModel, FiftyKilobitsMoveAboutSixKilobytesASecond) {
  LinkModel link(Options(50'000, milliseconds(300)));
  Duration arrives{0};
  for (int i = 0; i < 100; ++i) arrives = link.Send(Duration(0), 1460);
  // 100 segments of 1,500 bytes on the link: 150,000 bytes = 1.2 Mbit = 24 s, plus the delay.
  EXPECT_EQ(arrives, milliseconds(24'300));
}

// A TCP server on 127.0.0.1 that echoes everything it reads back, one connection at a time.
class EchoServer {
 public:
  EchoServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        char buffer[4096];
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
          for (ssize_t done = 0; done < n;) {
            const ssize_t w = ::write(fd, buffer + done, static_cast<size_t>(n - done));
            if (w <= 0) break;
            done += w;
          }
        }
        ::close(fd);
      }
    });
  }
  ~EchoServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

// Sends `data` through a connection to `port` while reading the echo; returns what came back.
std::string RoundTrip(uint16_t port, const std::string& data) {
  const int fd = Connect(port);
  std::thread writer([&] {
    for (size_t done = 0; done < data.size();) {
      const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
      if (w <= 0) return;
      done += static_cast<size_t>(w);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::string echoed;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) echoed.append(buffer, n);
  writer.join();
  ::close(fd);
  return echoed;
}

std::string Pattern(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 7919 + i / 251) & 0xFF);
  return data;
}

TEST(LinkProxy, ForwardsEveryByteInOrderAndCountsThem) {
  EchoServer echo;
  const LinkOptions options = Options(400'000, milliseconds(20));
  Result<std::unique_ptr<LinkProxy>> proxy = LinkProxy::Start("127.0.0.1", echo.port(), options);
  ASSERT_TRUE(proxy.has_value()) << proxy.error().ToString();
  const std::string data = Pattern(30'000);
  EXPECT_EQ(RoundTrip((*proxy)->port(), data), data);
  const LinkStats stats = (*proxy)->stats();
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(stats.bytes_up, data.size());
  EXPECT_EQ(stats.bytes_down, data.size());
}

TEST(LinkProxy, IsNeverFasterThanTheModelAllows) {
  EchoServer echo;
  // 200 kbit/s, 100 ms each way: 20,000 bytes (14 segments, 20,560 bytes with headers) take
  // 822 ms to cross the link each way.
  const LinkOptions options = Options(200'000, milliseconds(100));
  Result<std::unique_ptr<LinkProxy>> proxy = LinkProxy::Start("127.0.0.1", echo.port(), options);
  ASSERT_TRUE(proxy.has_value()) << proxy.error().ToString();
  const std::string data = Pattern(20'000);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RoundTrip((*proxy)->port(), data), data);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // The last byte: the connection's round trip (200 ms), every byte up the link, the delay up,
  // at least one byte (and its header) down the link, the delay down.
  const LinkModel model(options);
  const Duration lower_bound = milliseconds(200) + model.SerializationTime(20'000 + 13 * 40) -
                               model.SerializationTime(0) + milliseconds(100) +
                               model.SerializationTime(1) + milliseconds(100);
  EXPECT_GE(elapsed, lower_bound);
}

TEST(LinkProxy, ConnectionsShareOneLink) {
  EchoServer echo;
  const LinkOptions options = Options(400'000, milliseconds(10));
  Result<std::unique_ptr<LinkProxy>> proxy = LinkProxy::Start("127.0.0.1", echo.port(), options);
  ASSERT_TRUE(proxy.has_value()) << proxy.error().ToString();
  // Two connections one after the other (the echo server takes one at a time): the totals add up.
  const std::string a = Pattern(5'000), b = Pattern(7'000);
  EXPECT_EQ(RoundTrip((*proxy)->port(), a), a);
  EXPECT_EQ(RoundTrip((*proxy)->port(), b), b);
  const LinkStats stats = (*proxy)->stats();
  EXPECT_EQ(stats.connections, 2u);
  EXPECT_EQ(stats.bytes_up, a.size() + b.size());
  EXPECT_EQ(stats.bytes_down, a.size() + b.size());
}

TEST(LinkProxy, RefusesATargetThatIsNotAnAddress) {
  Result<std::unique_ptr<LinkProxy>> proxy = LinkProxy::Start("not an address", 1);
  ASSERT_FALSE(proxy.has_value());
  EXPECT_EQ(proxy.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace vinculo::bench
