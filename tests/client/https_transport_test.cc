// HttpsTransport without a TLS server: URL and CA checks, and the failures a device meets before
// any TLS exchange succeeds. Exchanges with a real server (keep-alive, gzip, certificate checks)
// are covered by the server's integration tests.

#include "client/https_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A throwaway self-signed CA certificate (P-256, valid until 2126). Its key was discarded: nothing
// can be signed with it, so it only makes load_verify_file succeed.
constexpr char kCaPem[] = R"(-----BEGIN CERTIFICATE-----
MIIBijCCATGgAwIBAgIUdLSKtQ1+xdKKY6BPtKs0+cApDMUwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPdmluY3Vsby10ZXN0LWNhMCAXDTI2MTEyNDAzMjAxNVoYDzIx
MjYxMDMxMDMyMDE1WjAaMRgwFgYDVQQDDA92aW5jdWxvLXRlc3QtY2EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATY71i9zetFC6dBjbrP0bYFn6qx0jLX/30q2Ndh
Vk8E4v73EdKoPrHr/r0ODyDtxK9kJKP58mUbLN48KdJ4Bcxmo1MwUTAdBgNVHQ4E
FgQU/y8pTDw7U6ict4y4Jy+jg6ZVSSYwHwYDVR0jBBgwFoAU/y8pTDw7U6ict4y4
Jy+jg6ZVSSYwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAkyyy7
MWOhzPQU/kto5w2c4EnCtP1uo0XIhyznGimjIwIgJ32y4UkKulRSvVk6nWr3dQPw
a05bfr1Zwz/svHcFPoM=
-----END CERTIFICATE-----
)";

// A TCP socket listening on 127.0.0.1 at a port the kernel chose. Closed on destruction.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { Close(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class HttpsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vinculo-https-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ca_ = (dir_ / "ca.pem").string();
    std::ofstream(ca_) << kCaPem;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static HttpRequest SyncPost() {
    return HttpRequest{.method = "POST",
                       .path = "/v1/sync",
                       .content_type = "application/x-protobuf",
                       .body = "x",
                       .headers = {}};
  }

  fs::path dir_;
  std::string ca_;
};

TEST(ServerUrl, AcceptsHttpsHostAndPort) {
  Result<ServerAddress> a = ParseServerUrl("https://vinculo.example.org:8443");
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  EXPECT_EQ(a->host, "vinculo.example.org");
  EXPECT_EQ(a->port, 8443);
  EXPECT_FALSE(a->host_is_ip);

  Result<ServerAddress> b = ParseServerUrl("HTTPS://Vinculo.Example.ORG/");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->host, "vinculo.example.org");
  EXPECT_EQ(b->port, 443);

  Result<ServerAddress> c = ParseServerUrl("https://127.0.0.1:8443");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->host_is_ip);

  Result<ServerAddress> d = ParseServerUrl("https://[::1]:8443");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->host, "::1");
  EXPECT_TRUE(d->host_is_ip);
}

TEST(ServerUrl, RefusesAnythingElseNamingServer) {
  for (const char* url :
       {"", "vinculo.example.org", "http://vinculo.example.org", "ftp://h", "https://",
        "https://:8443", "https://host:", "https://host:0", "https://host:65536",
        "https://host:84a3", "https://user:pw@host", "https://host/api", "https://host?x=1",
        "https://host#top", "https://[::1", "https://[zz]:1", "https://::1:8443", "https://ho st",
        "https://hóst"}) {
    Result<ServerAddress> a = ParseServerUrl(url);
    ASSERT_FALSE(a.has_value()) << "accepted: " << url;
    EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument) << url;
    EXPECT_EQ(a.error().field, "server") << url;
  }
}

TEST_F(HttpsTransportTest, BadUrlIsInvalidArgument) {
  Result<std::unique_ptr<Transport>> t = HttpsTransport::Create("http://127.0.0.1:8443", ca_);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().field, "server");
}

TEST_F(HttpsTransportTest, MissingOrUselessCaIsInvalidArgument) {
  Result<std::unique_ptr<Transport>> missing =
      HttpsTransport::Create("https://127.0.0.1:8443", (dir_ / "nope.pem").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.error().field, "ca");
  EXPECT_NE(missing.error().message.find("nope.pem"), std::string::npos);

  const std::string garbage = (dir_ / "garbage.pem").string();
  std::ofstream(garbage) << "this is not a certificate\n";
  Result<std::unique_ptr<Transport>> useless =
      HttpsTransport::Create("https://127.0.0.1:8443", garbage);
  ASSERT_FALSE(useless.has_value());
  EXPECT_EQ(useless.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(useless.error().field, "ca");

  EXPECT_EQ(HttpsTransport::Create("https://127.0.0.1:8443", "").error().field, "ca");
}

TEST_F(HttpsTransportTest, CreateDoesNotConnect) {
  // Nothing listens there; Create still succeeds, because only Send connects.
  Result<std::unique_ptr<Transport>> t = HttpsTransport::Create("https://127.0.0.1:9", ca_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
}

TEST_F(HttpsTransportTest, ClosedPortIsUnavailableQuickly) {
  std::string url;
  {
    Listener closed;  // a port that was just free, and is closed again
    url = closed.url();
  }
  Result<std::unique_ptr<Transport>> t = HttpsTransport::Create(url, ca_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const auto start = Clock::now();
  Result<HttpResponse> r = (*t)->Send(SyncPost());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("127.0.0.1"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));

  // The next Send tries again, and fails the same way.
  Result<HttpResponse> again = (*t)->Send(SyncPost());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
}

TEST_F(HttpsTransportTest, SilentServerTimesOutInTheHandshake) {
  Listener silent;  // the kernel completes the TCP handshake; nobody ever answers the TLS hello
  Result<std::unique_ptr<Transport>> t = HttpsTransport::Create(
      silent.url(), ca_, {.connect_timeout = std::chrono::milliseconds(300)});
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const auto start = Clock::now();
  Result<HttpResponse> r = (*t)->Send(SyncPost());
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST_F(HttpsTransportTest, PlainHttpServerFailsTheHandshake) {
  Listener plain;
  std::thread server([fd = plain.fd()] {
    const int conn = ::accept(fd, nullptr, nullptr);
    if (conn < 0) return;
    char buffer[1024];
    (void)::read(conn, buffer, sizeof buffer);  // the TLS ClientHello
    const std::string reply =
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::write(conn, reply.data(), reply.size());
    ::close(conn);
  });
  Result<std::unique_ptr<Transport>> t = HttpsTransport::Create(plain.url(), ca_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  Result<HttpResponse> r = (*t)->Send(SyncPost());
  server.join();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("TLS handshake with 127.0.0.1:"), std::string::npos)
      << r.error().message;
}

TEST_F(HttpsTransportTest, UnknownMethodIsInvalidArgument) {
  Result<std::unique_ptr<Transport>> t = HttpsTransport::Create("https://127.0.0.1:9", ca_);
  ASSERT_TRUE(t.has_value());
  HttpRequest bad = SyncPost();
  bad.method = "FROB";
  EXPECT_EQ((*t)->Send(bad).error().code, ErrorCode::kInvalidArgument);
  bad = SyncPost();
  bad.path = "v1/sync";
  EXPECT_EQ((*t)->Send(bad).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace vinculo::client
