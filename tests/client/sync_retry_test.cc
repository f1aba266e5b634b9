// Sync's retries (client/sync_client.h RetryPolicy): which failures are retried, how long it waits,
// and that a retried request duplicates nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <optional>

#include "client/sync_client.h"

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'780'000'000'000;

HttpResponse Reply(int status, const std::string& body = {}, HttpHeaders headers = {}) {
  return HttpResponse{.status = status,
                      .content_type = kProtobufContentType,
                      .body = body,
                      .headers = std::move(headers)};
}

// Answers each request from a script of failures (nullopt: answer normally); once the script is
// used up, and for a nullopt, acknowledges every mutation sent (counting how many times each seq
// arrived) and has no changes to send.
class ScriptedServer final : public Transport {
 public:
  std::deque<std::optional<Result<HttpResponse>>> failures;
  std::map<uint64_t, int> seen;  // seq → times received
  int requests = 0;

  Result<HttpResponse> Send(const HttpRequest& request) override {
    ++requests;
    if (!failures.empty()) {
      std::optional<Result<HttpResponse>> r = std::move(failures.front());
      failures.pop_front();
      if (r) return std::move(*r);
    }
    v1::SyncRequest sync;
    EXPECT_TRUE(sync.ParseFromString(request.body));
    v1::SyncResponse response;
    uint64_t acked = 0;
    for (const v1::Mutation& m : sync.mutations()) {
      ++seen[m.seq()];
      acked = std::max(acked, m.seq());
    }
    response.set_acked_seq(acked);
    response.set_next_cursor(sync.cursor());
    return Reply(200, response.SerializeAsString());
  }
};

class SyncRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vinculo-retry-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Result<LocalStore> store =
        LocalStore::Create((dir_ / "store.db").string(),
                           {.server_url = "https://127.0.0.1:8443", .ca_file = "ca.pem"}, kNow);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_.emplace(std::move(store).value());
    ASSERT_TRUE(store_->SetCredentials("ana", "tok").ok());
    v1::Record r;
    r.mutable_child()->set_given_name("Lucía");
    r.mutable_child()->set_region("Cusco");
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->Add(r, kNow).has_value());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Options whose waits are recorded instead of slept, with the jitter fixed at `unit`.
  SyncOptions Options(int retries, double unit = 1.0) {
    SyncOptions options;
    options.push_batch = 2;
    options.retry.max_retries = retries;
    options.retry.initial_backoff_ms = 1000;
    options.retry.max_backoff_ms = 5000;
    options.retry.sleep = [this](int64_t ms) { waits_.push_back(ms); };
    options.retry.random = [unit] { return unit; };
    return options;
  }

  Result<SyncSummary> Run(Transport& transport, const SyncOptions& options) {
    return Sync(transport, *store_, options, [] { return kNow; });
  }

  fs::path dir_;
  std::optional<LocalStore> store_;
  std::vector<int64_t> waits_;
};

TEST_F(SyncRetryTest, UnreachableServerIsRetriedWithExponentialBackoff) {
  ScriptedServer server;
  for (int i = 0; i < 4; ++i) server.failures.push_back(Error::Unavailable("connection refused"));
  Result<SyncSummary> summary = Run(server, Options(5));
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_EQ(summary->pushed, 3u);
  // 1 s, 2 s, 4 s, then capped at 5 s (jitter at its top).
  EXPECT_EQ(waits_, (std::vector<int64_t>{1000, 2000, 4000, 5000}));
  for (const auto& [seq, times] : server.seen) EXPECT_EQ(times, 1) << "seq " << seq;
  EXPECT_EQ(store_->ReadStatus()->pending, 0u);
}

TEST_F(SyncRetryTest, JitterWaitsBetweenHalfAndAllOfTheBackoff) {
  ScriptedServer server;
  for (int i = 0; i < 3; ++i) server.failures.push_back(Error::Unavailable("timeout"));
  ASSERT_TRUE(Run(server, Options(5, /*unit=*/0.0)).has_value());
  EXPECT_EQ(waits_, (std::vector<int64_t>{500, 1000, 2000}));
}

TEST_F(SyncRetryTest, GivesUpAfterMaxRetriesWithTheLastError) {
  ScriptedServer server;
  for (int i = 0; i < 10; ++i) server.failures.push_back(Error::Unavailable("connection refused"));
  Result<SyncSummary> summary = Run(server, Options(2));
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(server.requests, 3);  // the request and two retries
  EXPECT_EQ(waits_.size(), 2u);
  EXPECT_EQ(store_->ReadStatus()->pending, 3u);
}

TEST_F(SyncRetryTest, NoRetriesByDefault) {
  ScriptedServer server;
  server.failures.push_back(Error::Unavailable("connection refused"));
  SyncOptions options;
  Result<SyncSummary> summary = Run(server, options);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(server.requests, 1);
}

TEST_F(SyncRetryTest, ServiceUnavailableHonoursRetryAfter) {
  ScriptedServer server;
  server.failures.push_back(Reply(503, {}, {{"Retry-After", "3"}}));
  server.failures.push_back(Reply(502));
  ASSERT_TRUE(Run(server, Options(5)).has_value());
  EXPECT_EQ(waits_, (std::vector<int64_t>{3000, 2000}));
}

TEST_F(SyncRetryTest, RetryAfterIsCappedByMaxBackoff) {
  ScriptedServer server;
  server.failures.push_back(Reply(429, {}, {{"Retry-After", "3600"}}));
  ASSERT_TRUE(Run(server, Options(5)).has_value());
  EXPECT_EQ(waits_, (std::vector<int64_t>{5000}));
}

TEST_F(SyncRetryTest, TooManyRequestsWithoutRetryAfterIsNotRetried) {
  // 429 without Retry-After is a limit (e.g. too many mutations in one request), not a wait.
  ScriptedServer server;
  server.failures.push_back(Reply(429));
  Result<SyncSummary> summary = Run(server, Options(5));
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(waits_.empty());
}

TEST_F(SyncRetryTest, StillBusyAfterEveryRetryIsUnavailable) {
  ScriptedServer server;
  for (int i = 0; i < 3; ++i) server.failures.push_back(Reply(429, {}, {{"Retry-After", "1"}}));
  Result<SyncSummary> summary = Run(server, Options(2));
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kUnavailable);  // exit status 3: try later
  EXPECT_NE(summary.error().message.find("HTTP 429"), std::string::npos);
}

TEST_F(SyncRetryTest, RefusalsAreNotRetried) {
  for (int status : {400, 401, 403, 404, 409, 412}) {
    ScriptedServer server;
    server.failures.push_back(Reply(status));
    waits_.clear();
    Result<SyncSummary> summary = Run(server, Options(5));
    ASSERT_FALSE(summary.has_value()) << status;
    EXPECT_EQ(server.requests, 1) << status;
    EXPECT_TRUE(waits_.empty()) << status;
  }
}

TEST_F(SyncRetryTest, TheCountIsPerRequest) {
  // Two failures before each of the two requests (push_batch 2, three mutations): with 2 retries
  // allowed per request, the whole sync succeeds, and the backoff starts again for the second.
  ScriptedServer server;
  server.failures.push_back(Error::Unavailable("a"));
  server.failures.push_back(Error::Unavailable("b"));
  server.failures.push_back(std::nullopt);
  server.failures.push_back(Error::Unavailable("c"));
  server.failures.push_back(Error::Unavailable("d"));
  Result<SyncSummary> summary = Run(server, Options(2));
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_EQ(server.requests, 6);
  EXPECT_EQ(waits_, (std::vector<int64_t>{1000, 2000, 1000, 2000}));
  for (const auto& [seq, times] : server.seen) EXPECT_EQ(times, 1) << "seq " << seq;
}

TEST_F(SyncRetryTest, OnRetryIsToldWhy) {
  ScriptedServer server;
  server.failures.push_back(Reply(503, {}, {{"Retry-After", "2"}}));
  SyncOptions options = Options(1);
  std::vector<std::string> told;
  options.retry.on_retry = [&](int retry, int64_t wait_ms, const Error& error) {
    told.push_back(std::to_string(retry) + " " + std::to_string(wait_ms) + " " + error.message);
  };
  ASSERT_TRUE(Run(server, options).has_value());
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0], "1 2000 sync failed: the server answered HTTP 503 (retry after 2 s)");
}

TEST_F(SyncRetryTest, TokenOptionReplacesTheStoredToken) {
  struct Capture final : Transport {
    std::string authorization;
    Result<HttpResponse> Send(const HttpRequest& request) override {
      for (const auto& [k, v] : request.headers) {
        if (k == "Authorization") authorization = v;
      }
      return Reply(401);
    }
  } capture;
  SyncOptions options;
  options.token = "from-a-file";
  ASSERT_FALSE(Run(capture, options).has_value());
  EXPECT_EQ(capture.authorization, "Bearer from-a-file");
}

}  // namespace
}  // namespace vinculo::client
