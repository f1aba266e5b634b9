// Hostile input against a real vinculo-server process (tests/integration/server_process.h), through
// raw TCP and TLS connections written here with OpenSSL: garbage, truncated and oversized bodies,
// a million tiny repeated fields, invalid UTF-8, wrong content types, plain HTTP on the TLS port,
// slowloris, a flood of idle connections, SQL metacharacters. For every attack: a clear 4xx or a
// closed connection; a normal device (client::HttpsTransport, client::Sync, a LocalStore) syncs
// right after it; the server's resident memory stays bounded; nothing the attack sent is stored.
//
// Each test starts its own server with small limits so that the suite runs in seconds:
// --max-body 4 MiB, --read-timeout 2, --max-connections 200.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <random>
#include <thread>

#include "client/https_transport.h"
#include "client/local_store.h"
#include "client/sync_client.h"
#include "common/gzip.h"
#include "common/zstd.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/sqlite.h"
#include "tests/integration/server_process.h"

namespace vinculo {
namespace {

using namespace std::chrono_literals;
using client::LocalStore;
using server::testing::TempDir;
using testing::ServerProcess;

constexpr size_t kMaxBody = 4 << 20;
constexpr int kReadTimeoutS = 2;
constexpr int kMaxConnections = 200;

// How much the server's resident memory may grow over an attack. Sanitizer builds keep freed
// memory in quarantine (256 MiB by default), so they get more room.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssSlackKb = 320 * 1024;
#else
constexpr long kRssSlackKb = 48 * 1024;
#endif

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// VmRSS of process `pid` in kB, 0 when it cannot be read.
long RssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// ---- A raw client: TCP, optionally TLS (verifying the test CA), blocking with timeouts.

struct HttpReply {
  int status = 0;  // 0: no response (the connection closed or timed out first)
  std::string content_type;
  std::string body;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:`port`; with a CA file, also completes a TLS handshake.
  static std::unique_ptr<RawConnection> Open(uint16_t port, const std::string& ca = "") {
    auto c = std::unique_ptr<RawConnection>(new RawConnection());
    c->fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd_ < 0 ||
        connect(c->fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      return nullptr;
    }
    if (ca.empty()) return c;
    c->ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(c->ctx_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
    c->ssl_ = SSL_new(c->ctx_);
    SSL_set_fd(c->ssl_, c->fd_);
    SSL_set_tlsext_host_name(c->ssl_, "localhost");
    SSL_set1_host(c->ssl_, "localhost");
    c->SetTimeout(5s);
    if (SSL_connect(c->ssl_) != 1) return nullptr;
    return c;
  }

  ~RawConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }

  // Sends all of `bytes`; false when the connection broke.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = ssl_ != nullptr
                        ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                        : static_cast<int>(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads what arrives until the peer closes or `timeout` passes. `closed` says which.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout, bool* closed) {
    std::string out;
    *closed = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!*closed) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      if (!ReadSome(left, &out, closed)) break;
    }
    return out;
  }

  // Reads one HTTP/1.1 response with a Content-Length body.
  HttpReply ReadResponse(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool closed = false;
    size_t header_end = std::string::npos;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !ReadSome(left, &pending_, &closed) || closed) {
        if ((header_end = pending_.find("\r\n\r\n")) != std::string::npos) break;
        return {};
      }
    }
    HttpReply reply;
    const std::string head = pending_.substr(0, header_end + 2);
    if (head.rfind("HTTP/1.1 ", 0) != 0) return {};
    reply.status = std::stoi(head.substr(9, 3));
    size_t length = 0;
    for (size_t at = head.find("\r\n"); at != std::string::npos && at + 2 < head.size();) {
      const size_t end = head.find("\r\n", at + 2);
      std::string line = head.substr(at + 2, end - at - 2);
      for (char& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (line.rfind("content-length:", 0) == 0) length = std::stoul(line.substr(15));
      if (line.rfind("content-type:", 0) == 0) reply.content_type = line.substr(14);
      at = end;
    }
    while (pending_.size() < header_end + 4 + length && !closed) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !ReadSome(left, &pending_, &closed)) break;
    }
    reply.body = pending_.substr(header_end + 4, length);
    pending_.erase(0, std::min(pending_.size(), header_end + 4 + length));
    return reply;
  }

  int fd() const { return fd_; }

 private:
  RawConnection() = default;

  void SetTimeout(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1000;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  // One read within `timeout`, appended to `out`. False on a timeout; `closed` when the peer closed
  // or reset the connection.
  bool ReadSome(std::chrono::milliseconds timeout, std::string* out, bool* closed) {
    SetTimeout(timeout);
    char buffer[16384];
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n > 0) {
        out->append(buffer, static_cast<size_t>(n));
        return true;
      }
      const int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      if (error == SSL_ERROR_WANT_READ) return false;
      ERR_clear_error();
      *closed = true;  // close_notify, EOF, reset or a TLS error: the server is gone
      return true;
    }
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      out->append(buffer, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    *closed = true;
    return true;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string pending_;
};

std::string Request(const std::string& method, const std::string& path,
                    const std::string& content_type, const std::string& body,
                    const std::string& token = "", const std::string& extra_headers = "") {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  r += extra_headers;
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  return r + body;
}

// ---- Records.

v1::Record Child(const std::string& given) {
  v1::Record r;
  v1::Child* c = r.mutable_child();
  c->set_given_name(given);
  c->set_region("Cusco");
  c->set_status(v1::CASE_STATUS_OPEN);
  return r;
}

std::string TestId(int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "01890a5d-ac96-7000-8000-%012d", n);
  return buffer;
}

// A mutation creating `record` (its id set), stamped now.
v1::Mutation Create(const v1::Record& record, uint64_t seq) {
  return MakeMutation(v1::RecordState(), record, SetFields(record),
                      MakeHlc(static_cast<uint64_t>(Now()), 0), seq);
}

// ---- The fixture: a server, a normal device, a raw token.

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    server_ = std::make_unique<ServerProcess>(
        dir_, std::vector<std::string>{"--max-body", std::to_string(kMaxBody), "--read-timeout",
                                       std::to_string(kReadTimeoutS), "--max-connections",
                                       std::to_string(kMaxConnections)});
    server_->AddUser("ana", "field_worker", "Cusco");
    server_->Start();
    ASSERT_GT(server_->pid(), 0);

    Result<LocalStore> store = LocalStore::Create(
        dir_ / "device.db", {.server_url = server_->url(), .ca_file = server_->ca()}, Now());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::make_unique<LocalStore>(std::move(store).value());
    Result<std::unique_ptr<client::Transport>> transport =
        client::HttpsTransport::Create(server_->url(), server_->ca());
    ASSERT_TRUE(transport.has_value());
    transport_ = std::move(transport).value();
    Result<client::LoginResult> login = client::Login(
        *transport_, *store_, "ana", ServerProcess::Password("ana"), Now());
    ASSERT_TRUE(login.has_value()) << login.error().ToString();

    // A second device of ana's, driven by hand: its token for raw requests.
    raw_device_ = TestId(777);
    v1::LoginRequest raw_login;
    raw_login.set_username("ana");
    raw_login.set_password(ServerProcess::Password("ana"));
    raw_login.set_device_id(raw_device_);
    HttpReply reply = Exchange(Request("POST", "/v1/login", "application/x-protobuf",
                                       raw_login.SerializeAsString()));
    ASSERT_EQ(reply.status, 200);
    v1::LoginResponse response;
    ASSERT_TRUE(response.ParseFromString(reply.body));
    token_ = response.token();

    ExpectStillSyncs("start-up");
  }

  void TearDown() override {
    if (server_ == nullptr) return;
    // A clean stop: exit status 0 (a sanitized server that found an error or a leak exits non-zero).
    const int status = server_->Stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "vinculo-server exited with status " << status << "; see " << server_->log_path();
    std::ifstream log(server_->log_path());
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("runtime error"), std::string::npos) << text;
    EXPECT_EQ(text.find("internal error"), std::string::npos) << text;
  }

  // One request on a new TLS connection; its response (status 0 when none came).
  HttpReply Exchange(const std::string& request) {
    std::unique_ptr<RawConnection> c = RawConnection::Open(server_->port(), server_->ca());
    EXPECT_NE(c, nullptr);
    if (c == nullptr || !c->Send(request)) return {};
    return c->ReadResponse();
  }

  HttpReply PostSync(const v1::SyncRequest& request) {
    return Exchange(Request("POST", "/v1/sync", "application/x-protobuf",
                            request.SerializeAsString(), token_));
  }

  v1::SyncRequest RawSync() {
    v1::SyncRequest r;
    r.set_device_id(raw_device_);
    return r;
  }

  // Records the server holds, read from its store file.
  int64_t StoredRecords() {
    Result<sql::Database> db =
        sql::Database::Open(server_->data_dir() + "/central.db", {.read_only = true});
    EXPECT_TRUE(db.has_value()) << db.error().ToString();
    if (!db) return -1;
    Result<int64_t> n = db->QueryInt("SELECT count(*) FROM records");
    EXPECT_TRUE(n.has_value()) << n.error().ToString();
    return n.value_or(-1);
  }

  // The normal device adds a record and syncs it; the server then holds exactly the records the
  // normal device made, and its memory grew by less than kRssSlackKb since the previous check
  // (before the attack).
  void ExpectStillSyncs(const std::string& after) {
    SCOPED_TRACE("after " + after);
    Result<std::string> id = store_->Add(Child("Sana " + after), Now());
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    ++records_;
    Result<client::SyncSummary> synced =
        client::Sync(*transport_, *store_, client::SyncOptions{}, Now);
    ASSERT_TRUE(synced.has_value()) << synced.error().ToString();
    EXPECT_EQ(synced->pushed, 1u);
    EXPECT_EQ(synced->rejected, 0u);
    EXPECT_EQ(StoredRecords(), records_) << "only the normal device's records are stored";
    const long rss = RssKb(server_->pid());
    if (rss_kb_ > 0) {
      std::printf("[ rss ] %-48s %6ld kB -> %6ld kB (%+ld kB)\n", after.c_str(), rss_kb_, rss,
                  rss - rss_kb_);
      EXPECT_LT(rss - rss_kb_, kRssSlackKb) << "server memory grew";
    }
    rss_kb_ = rss;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<client::Transport> transport_;
  std::string raw_device_;
  std::string token_;
  int64_t records_ = 0;
  long rss_kb_ = 0;  // the server's VmRSS at the previous check
};

// Reads until the server closes; fails when it does not within `timeout`. Returns what came.
std::string ExpectClosed(RawConnection& c, std::chrono::milliseconds timeout) {
  bool closed = false;
  std::string got = c.ReadUntilClosed(timeout, &closed);
  EXPECT_TRUE(closed) << "the server kept the connection open";
  return got;
}

TEST_F(HostileTest, GarbageAfterTheTlsHandshakeGetsA400OrAClosedConnection) {
  std::mt19937 random(20260528);
  std::string noise(64 * 1024, '\0');
  for (char& c : noise) c = static_cast<char>(random() & 0xFF);
  const std::pair<std::string, std::string> attacks[] = {
      {"random bytes", noise},
      {"NUL bytes in the method", std::string("PO\0ST /v1/sync HTTP/1.1\r\n\r\n", 27)},
      {"a header line over 16 KiB",
       "POST /v1/sync HTTP/1.1\r\nX-Junk: " + std::string(20000, 'a') + "\r\n\r\n"},
      {"a broken chunked body",
       "POST /v1/sync HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + noise},
      // Short, so that the server has read all of it when it gives up (else its close resets the
      // connection and may discard the first answer before it is read).
      {"a request then garbage", Request("GET", "/healthz", "", "") + "\x01\x02garbage\r\n\r\n"},
  };
  for (const auto& [what, bytes] : attacks) {
    SCOPED_TRACE(what);
    std::unique_ptr<RawConnection> c = RawConnection::Open(server_->port(), server_->ca());
    ASSERT_NE(c, nullptr);
    c->Send(bytes);  // the server may close before taking it all
    HttpReply reply = c->ReadResponse(5s);
    if (what == "a request then garbage") {
      EXPECT_EQ(reply.status, 200);  // the good request is answered ...
      reply = c->ReadResponse(5s);   // ... and the garbage after it is not
    }
    EXPECT_TRUE(reply.status == 0 || reply.status == 400) << reply.status;
    ExpectClosed(*c, 5s);
    ExpectStillSyncs("garbage: " + what);
  }
  // Unknown methods are a clear 4xx, not a crash.
  EXPECT_EQ(Exchange(Request("BREW", "/v1/sync", "application/x-protobuf", "", token_)).status,
            405);
  ExpectStillSyncs("garbage: unknown method");
}

TEST_F(HostileTest, TruncatedAndOverLongProtobufBodiesAre400) {
  v1::SyncRequest valid = RawSync();
  for (int i = 1; i <= 3; ++i) *valid.add_mutations() = Create([&] {
    v1::Record r = Child("Truncada");
    r.mutable_child()->set_id(TestId(i));
    return r;
  }(), static_cast<uint64_t>(i));
  const std::string bytes = valid.SerializeAsString();
  std::string over_long = valid.SerializeAsString().substr(0, 2 + 36);  // device_id
  over_long += std::string("\x12\xc0\x84\x3d", 4) + "just a few bytes";  // field 2 "1,000,000 bytes"
  const std::pair<std::string, std::string> bodies[] = {
      {"cut in the middle", bytes.substr(0, bytes.size() / 2)},
      {"cut by one byte", bytes.substr(0, bytes.size() - 1)},
      {"a length beyond the body", over_long},
      {"an 11-byte varint", std::string("\x18") + std::string(11, '\xff')},
      {"an end-group tag alone", std::string("\x14")},
  };
  for (const auto& [what, body] : bodies) {
    SCOPED_TRACE(what);
    HttpReply reply =
        Exchange(Request("POST", "/v1/sync", "application/x-protobuf", body, token_));
    EXPECT_EQ(reply.status, 400) << reply.body;
    ExpectStillSyncs("protobuf: " + what);
  }

  // A Content-Length the body never reaches: cut off by the read timeout, no reply.
  {
    std::unique_ptr<RawConnection> c = RawConnection::Open(server_->port(), server_->ca());
    ASSERT_NE(c, nullptr);
    std::string request = Request("POST", "/v1/sync", "application/x-protobuf", bytes, token_);
    request.resize(request.size() - bytes.size() / 2);
    ASSERT_TRUE(c->Send(request));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(c->ReadResponse(std::chrono::seconds(kReadTimeoutS + 3)).status, 0);
    ExpectClosed(*c, 3s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(kReadTimeoutS + 4));
    ExpectStillSyncs("protobuf: a body shorter than its Content-Length");
  }
  // More body than the Content-Length: the rest is a malformed next request.
  {
    std::unique_ptr<RawConnection> c = RawConnection::Open(server_->port(), server_->ca());
    ASSERT_NE(c, nullptr);
    v1::SyncRequest pull = RawSync();
    ASSERT_TRUE(c->Send(Request("POST", "/v1/sync", "application/x-protobuf",
                                pull.SerializeAsString(), token_) +
                        bytes));
    EXPECT_EQ(c->ReadResponse().status, 200);
    EXPECT_EQ(c->ReadResponse().status, 400);
    ExpectClosed(*c, 5s);
    ExpectStillSyncs("protobuf: a body longer than its Content-Length");
  }
}

TEST_F(HostileTest, ABodyOverTheLimitIs413) {
  // Announced: refused as soon as the header is in, before the body is read.
  {
    std::unique_ptr<RawConnection> c = RawConnection::Open(server_->port(), server_->ca());
    ASSERT_NE(c, nullptr);
    const std::string head = "POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                             "application/x-protobuf\r\nAuthorization: Bearer " + token_ +
                             "\r\nContent-Length: " + std::to_string(kMaxBody + 1) + "\r\n\r\n";
    ASSERT_TRUE(c->Send(head));
    EXPECT_EQ(c->ReadResponse().status, 413);
    ExpectClosed(*c, 5s);
    ExpectStillSyncs("over the limit: Content-Length");
  }
  // Chunked: refused once the chunks pass the limit.
  {
    std::unique_ptr<RawConnection> c = RawConnection::Open(server_->port(), server_->ca());
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Send("POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                        "application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk = "100000\r\n" + std::string(0x100000, 'x') + "\r\n";
    HttpReply reply;
    for (size_t sent = 0; sent <= 2 * kMaxBody && reply.status == 0; sent += 0x100000) {
      if (!c->Send(chunk)) break;
      reply = c->ReadResponse(200ms);  // read the refusal as soon as it comes
    }
    if (reply.status == 0) reply = c->ReadResponse();
    EXPECT_EQ(reply.status, 413);
    ExpectClosed(*c, 5s);
    ExpectStillSyncs("over the limit: chunked");
  }
  // A gzip bomb: 64 KiB that would inflate to 64 MiB.
  {
    const std::string bomb = GzipCompress(std::string(64 << 20, '\0'));
    ASSERT_LT(bomb.size(), 100u * 1024);
    HttpReply reply = Exchange(Request("POST", "/v1/sync", "application/x-protobuf", bomb, token_,
                                       "Content-Encoding: gzip\r\n"));
    EXPECT_EQ(reply.status, 413) << reply.body;
    ExpectStillSyncs("over the limit: a gzip bomb");
  }
  // The same as a zstd bomb, a few KiB.
  {
    const std::string bomb = ZstdCompress(std::string(64 << 20, '\0'));
    ASSERT_LT(bomb.size(), 100u * 1024);
    HttpReply reply = Exchange(Request("POST", "/v1/sync", "application/x-protobuf", bomb, token_,
                                       "Content-Encoding: zstd\r\n"));
    EXPECT_EQ(reply.status, 413) << reply.body;
    ExpectStillSyncs("over the limit: a zstd bomb");
  }
}

TEST_F(HostileTest, AMillionTinyRepeatedFieldsAreRefusedWithoutExhaustingMemory) {
  // A million empty mutations: 2 MB on the wire, over 100 MB once parsed.
  {
    std::string body = RawSync().SerializeAsString();
    body.reserve(body.size() + 2'000'000);
    for (int i = 0; i < 1'000'000; ++i) body.append("\x12\x00", 2);
    HttpReply reply = Exchange(Request("POST", "/v1/sync", "application/x-protobuf", body, token_));
    EXPECT_EQ(reply.status, 429) << reply.body;
    ExpectStillSyncs("a million empty mutations");
  }
  // One mutation with two million empty bases (4 MB, within --max-body).
  {
    std::string mutation;
    for (int i = 0; i < 2'000'000; ++i) mutation.append("\x2a\x00", 2);
    std::string body = RawSync().SerializeAsString() + "\x12";
    for (size_t n = mutation.size(); ; n >>= 7) {  // the length as a varint
      body += static_cast<char>((n & 0x7F) | (n >= 0x80 ? 0x80 : 0));
      if (n < 0x80) break;
    }
    body += mutation;
    HttpReply reply = Exchange(Request("POST", "/v1/sync", "application/x-protobuf", body, token_));
    EXPECT_EQ(reply.status, 413) << reply.body;
    ExpectStillSyncs("a mutation with two million bases");
  }
  // A login (no token needed) with a million empty unknown fields.
  {
    std::string body;
    for (int i = 0; i < 1'000'000; ++i) body.append("\x4a\x00", 2);  // field 9, empty
    HttpReply reply = Exchange(Request("POST", "/v1/login", "application/x-protobuf", body));
    EXPECT_EQ(reply.status, 413) << reply.body;
    ExpectStillSyncs("a login with a million unknown fields");
  }
  // The same in JSON.
  {
    std::string body = "{\"deviceId\":\"" + raw_device_ + "\",\"mutations\":[{}";
    for (int i = 1; i < 1'000'000; ++i) body += ",{}";
    body += "]}";
    HttpReply reply = Exchange(Request("POST", "/v1/sync", "application/json", body, token_));
    EXPECT_TRUE(reply.status == 413 || reply.status == 429) << reply.status;
    ExpectStillSyncs("a million empty JSON mutations");
    // Protobuf's JSON parser takes 'single quotes' too: a '"' inside them hides nothing.
    body = "{'deviceId':'\"','mutations':[{}";
    for (int i = 1; i < 1'000'000; ++i) body += ",{}";
    body += "]}";
    reply = Exchange(Request("POST", "/v1/sync", "application/json", body, token_));
    EXPECT_EQ(reply.status, 413) << reply.body;
    ExpectStillSyncs("a million JSON mutations after a quote in quotes");
  }
}

TEST_F(HostileTest, InvalidUtf8IsRefusedAndNothingIsStored) {
  const std::pair<std::string, std::string> texts[] = {
      {"Latin-1", "Luc\xed" "a"},
      {"an overlong slash", "a\xc0\xaf"},
      {"a surrogate", "a\xed\xa0\x80"},
      {"a truncated sequence", "Luc\xc3"},
      {"above U+10FFFF", "\xf4\x90\x80\x80"},
  };
  int n = 0;
  for (const auto& [what, text] : texts) {
    SCOPED_TRACE(what);
    v1::Record record = Child(text);
    record.mutable_child()->set_id(TestId(100 + n));
    // Serialized with a placeholder, then the bytes put in (protobuf would complain on stderr).
    const std::string placeholder(text.size(), 'Z');
    record.mutable_child()->set_given_name(placeholder);
    v1::SyncRequest request = RawSync();
    *request.add_mutations() = Create(record, 1);
    std::string body = request.SerializeAsString();
    body.replace(body.find(placeholder), placeholder.size(), text);
    // proto3 `string` fields must be UTF-8: the parser refuses the whole request.
    HttpReply reply =
        Exchange(Request("POST", "/v1/sync", "application/x-protobuf", body, token_));
    EXPECT_EQ(reply.status, 400) << reply.body;
    // Raw bytes in a JSON body likewise.
    const std::string json = "{\"deviceId\":\"" + raw_device_ +
                             "\",\"mutations\":[{\"seq\":\"1\",\"hlc\":\"1\",\"fields\":[2],"
                             "\"record\":{\"child\":{\"id\":\"" + TestId(100 + n) +
                             "\",\"givenName\":\"" + text + "\"}}}]}";
    EXPECT_EQ(Exchange(Request("POST", "/v1/sync", "application/json", json, token_)).status, 400);
    // And the device refuses it before it is ever queued.
    Result<std::string> local = store_->Add(Child(text), Now());
    ASSERT_FALSE(local.has_value());
    EXPECT_EQ(local.error().field, "child.given_name");
    ExpectStillSyncs("invalid UTF-8: " + what);
    ++n;
  }
}

TEST_F(HostileTest, AWrongContentTypeIs415) {
  v1::SyncRequest pull = RawSync();
  for (const std::string type : {"text/plain", "application/xml", "", "application/x-protobufx",
                                 "multipart/form-data; boundary=x"}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(Exchange(Request("POST", "/v1/sync", type, pull.SerializeAsString(), token_)).status,
              415);
    EXPECT_EQ(Exchange(Request("POST", "/v1/login", type, "username=ana&password=x")).status,
              415);
    ExpectStillSyncs("content type '" + type + "'");
  }
}

TEST_F(HostileTest, PlainHttpOnTheTlsPortIsClosed) {
  std::unique_ptr<RawConnection> c = RawConnection::Open(server_->port());
  ASSERT_NE(c, nullptr);
  c->Send(Request("POST", "/v1/login", "application/x-protobuf", "x"));
  const std::string got = ExpectClosed(*c, 5s);
  EXPECT_EQ(got.find("HTTP/"), std::string::npos) << "no HTTP answer in plain text";
  ExpectStillSyncs("plain HTTP");
}

TEST_F(HostileTest, SlowlorisIsCutOffByTheReadTimeout) {
  // One trickles its header, one its body after a header announcing 100 kB; a byte a second each.
  std::unique_ptr<RawConnection> header = RawConnection::Open(server_->port(), server_->ca());
  std::unique_ptr<RawConnection> body = RawConnection::Open(server_->port(), server_->ca());
  ASSERT_NE(header, nullptr);
  ASSERT_NE(body, nullptr);
  const std::string request = Request("POST", "/v1/sync", "application/x-protobuf",
                                      std::string(100'000, 'x'), token_);
  const size_t body_start = request.find("\r\n\r\n") + 4;
  ASSERT_TRUE(body->Send(request.substr(0, body_start)));
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration cut[2] = {};
  bool closed[2] = {false, false};
  size_t sent = 0;
  while ((!closed[0] || !closed[1]) && std::chrono::steady_clock::now() - start < 10s) {
    RawConnection* conns[2] = {header.get(), body.get()};
    for (int i = 0; i < 2; ++i) {
      if (closed[i]) continue;
      conns[i]->Send(std::string(1, request[i == 0 ? sent : body_start + sent]));
    }
    ++sent;
    // A second between bytes, watching for the server closing.
    const auto tick = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - tick < 1s) {
      for (int i = 0; i < 2; ++i) {
        if (closed[i]) continue;
        conns[i]->ReadUntilClosed(100ms, &closed[i]);
        if (closed[i]) cut[i] = std::chrono::steady_clock::now() - start;
      }
    }
    if (sent == 1) ExpectStillSyncs("slowloris (while it trickles)");
  }
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i == 0 ? "header" : "body");
    EXPECT_TRUE(closed[i]);
    EXPECT_LT(cut[i], std::chrono::seconds(kReadTimeoutS + 3));
  }
  EXPECT_LT(sent, request.find("\r\n\r\n")) << "cut before the header was complete";
  ExpectStillSyncs("slowloris");
}

TEST_F(HostileTest, ThousandsOfIdleConnectionsDoNotLockOutSyncingClients) {
  constexpr int kIdle = 1500;
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < kIdle + 200) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, kIdle + 200);
    setrlimit(RLIMIT_NOFILE, &files);
  }
  ASSERT_GE(files.rlim_cur, static_cast<rlim_t>(kIdle + 100)) << "too few file descriptors";
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(RawConnection::Open(server_->port()));  // TCP only: never a handshake
    ASSERT_NE(idle.back(), nullptr) << "connection " << i;
  }
  // The device still gets in: the server cuts off the longest-idle connection to make room.
  ExpectStillSyncs("1,500 idle connections (while they are open)");
  // The server closes the excess as it accepts them; under the sanitizers on a loaded machine
  // that takes seconds, so count until the limit holds or 20 s have passed.
  std::vector<bool> hung_up(idle.size(), false);
  int open = kIdle;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  do {
    std::this_thread::sleep_for(200ms);
    open = 0;
    for (size_t i = 0; i < idle.size(); ++i) {
      if (!hung_up[i]) {
        pollfd p{.fd = idle[i]->fd(), .events = POLLIN, .revents = 0};
        char byte;
        hung_up[i] = poll(&p, 1, 0) == 1 && recv(idle[i]->fd(), &byte, 1, MSG_DONTWAIT) <= 0;
      }
      if (!hung_up[i]) ++open;
    }
  } while (open > kMaxConnections && std::chrono::steady_clock::now() < deadline);
  std::printf("[ idle ] %d of %d idle connections still open\n", open, kIdle);
  EXPECT_LE(open, kMaxConnections) << "the connection limit holds";
  idle.clear();
  ExpectStillSyncs("1,500 idle connections");
}

TEST_F(HostileTest, SqlMetacharactersAreStoredVerbatimAndHarmless) {
  const std::string payloads[] = {
      "'; DROP TABLE records; --",
      "Robert'); DELETE FROM users WHERE ('1'='1",
      "\" OR \"\"=\"",
      "100% _underscore_ \\backslash\\ `tick`",
      "Ñandú'; ATTACH DATABASE '/tmp/x' AS x; --",
  };
  // Through the normal device: every text field that takes free text.
  std::vector<std::string> ids;
  for (const std::string& p : payloads) {
    v1::Record r = Child(p);
    v1::Child* c = r.mutable_child();
    c->set_family_name(p);
    c->set_programme(p);
    c->set_assigned_worker(p);
    c->set_notes(p + "\n" + p);
    Result<std::string> id = store_->Add(r, Now());
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    ids.push_back(*id);
    v1::Record f;
    f.mutable_family()->set_name(p);
    f.mutable_family()->set_region("Cusco");
    f.mutable_family()->set_address(p);
    f.mutable_family()->set_notes(p);
    ASSERT_TRUE(store_->Add(f, Now()).has_value());
    v1::Record k;
    k.mutable_contact()->set_child_id(*id);
    k.mutable_contact()->set_given_name(p);
    k.mutable_contact()->set_family_name(p);
    k.mutable_contact()->set_relationship(v1::RELATIONSHIP_OTHER);
    k.mutable_contact()->set_address(p);
    k.mutable_contact()->set_notes(p);
    ASSERT_TRUE(store_->Add(k, Now()).has_value());
    records_ += 3;
  }
  Result<client::SyncSummary> synced =
      client::Sync(*transport_, *store_, client::SyncOptions{}, Now);
  ASSERT_TRUE(synced.has_value()) << synced.error().ToString();
  EXPECT_EQ(synced->rejected, 0u);
  EXPECT_EQ(StoredRecords(), records_);

  // Another device pulls them back byte for byte.
  Result<LocalStore> other = LocalStore::Create(
      dir_ / "other.db", {.server_url = server_->url(), .ca_file = server_->ca()}, Now());
  ASSERT_TRUE(other.has_value());
  Result<std::unique_ptr<client::Transport>> t =
      client::HttpsTransport::Create(server_->url(), server_->ca());
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(client::Login(**t, *other, "ana", ServerProcess::Password("ana"), Now()));
  ASSERT_TRUE(client::Sync(**t, *other, client::SyncOptions{}, Now).has_value());
  for (size_t i = 0; i < ids.size(); ++i) {
    Result<v1::RecordState> mine = store_->Get(v1::RECORD_TYPE_CHILD, ids[i]);
    Result<v1::RecordState> theirs = other->Get(v1::RECORD_TYPE_CHILD, ids[i]);
    ASSERT_TRUE(mine.has_value() && theirs.has_value());
    EXPECT_EQ(theirs->record().child().given_name(), payloads[i]);
    EXPECT_EQ(theirs->record().child().notes(), payloads[i] + "\n" + payloads[i]);
    EXPECT_EQ(theirs->SerializeAsString(), mine->SerializeAsString());
  }

  // Raw: NUL bytes (protobuf carries them; validation refuses control characters), a
  // metacharacter id, another device's id, a metacharacter login and token.
  v1::Record nul = Child(std::string("Ana\0Bel", 7));
  nul.mutable_child()->set_id(TestId(500));
  v1::Record nul_notes = Child("Ana");
  nul_notes.mutable_child()->set_id(TestId(501));
  nul_notes.mutable_child()->set_notes(std::string("a\0'; DROP TABLE records; --", 27));
  v1::Record bad_id = Child("Ana");
  bad_id.mutable_child()->set_id("'; DROP TABLE records; --");
  v1::SyncRequest request = RawSync();
  *request.add_mutations() = Create(nul, 1);
  *request.add_mutations() = Create(nul_notes, 2);
  *request.add_mutations() = Create(bad_id, 3);
  HttpReply reply = PostSync(request);
  ASSERT_EQ(reply.status, 200);
  v1::SyncResponse response;
  ASSERT_TRUE(response.ParseFromString(reply.body));
  ASSERT_EQ(response.rejections_size(), 3);
  EXPECT_EQ(response.rejections(0).code(), v1::REJECTION_CODE_INVALID);
  EXPECT_EQ(response.rejections(0).field(), "child.given_name");
  EXPECT_EQ(response.rejections(1).code(), v1::REJECTION_CODE_INVALID);
  EXPECT_EQ(response.rejections(1).field(), "child.notes");
  EXPECT_EQ(response.rejections(2).code(), v1::REJECTION_CODE_MALFORMED);
  request.set_device_id("'; DROP TABLE devices; --");
  EXPECT_EQ(PostSync(request).status, 403);
  v1::LoginRequest login;
  login.set_username("ana' OR '1'='1");
  login.set_password("' OR '1'='1");
  login.set_device_id(TestId(778));
  EXPECT_EQ(Exchange(Request("POST", "/v1/login", "application/x-protobuf",
                             login.SerializeAsString()))
                .status,
            401);
  EXPECT_EQ(Exchange(Request("POST", "/v1/sync", "application/x-protobuf",
                             RawSync().SerializeAsString(), "' OR '1'='1"))
                .status,
            401);
  std::string users;
  EXPECT_EQ(server_->Admin({"user", "list"}, "", &users), 0) << users;
  EXPECT_NE(users.find("ana"), std::string::npos);
  ExpectStillSyncs("SQL metacharacters");
}

}  // namespace
}  // namespace vinculo
