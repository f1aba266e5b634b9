#include "client/sync_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <map>
#include <set>

#include "common/echoes.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/state_digest.h"
#include "common/uuid.h"

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28 in Unix ms
constexpr char kOtherDevice[] = "019e8388-e492-7621-bcd7-000000000b0b";

HttpResponse ProtoReply(const google::protobuf::Message& message, int status = 200) {
  return HttpResponse{.status = status,
                      .content_type = kProtobufContentType,
                      .body = message.SerializeAsString(),
                      .headers = {{"Content-Type", kProtobufContentType}}};
}

HttpResponse ErrorReply(int status, const std::string& code, const std::string& message) {
  v1::ErrorResponse body;
  body.set_code(code);
  body.set_message(message);
  return ProtoReply(body, status);
}

// A Transport that records every request and answers from a script, or from a handler when one is
// set.
class FakeTransport final : public Transport {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  FakeTransport() = default;
  explicit FakeTransport(Handler handler) : handler_(std::move(handler)) {}

  void Then(Result<HttpResponse> reply) { script_.push_back(std::move(reply)); }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (handler_) return handler_(request);
    if (script_.empty()) return Error::Internal("the fake transport has no scripted reply left");
    Result<HttpResponse> reply = std::move(script_.front());
    script_.pop_front();
    return reply;
  }

  // The body of request `i` as a SyncRequest.
  v1::SyncRequest SyncRequestAt(size_t i) const {
    v1::SyncRequest r;
    EXPECT_LT(i, requests.size());
    if (i < requests.size()) {
      EXPECT_TRUE(r.ParseFromString(requests[i].body));
    }
    return r;
  }

  std::vector<HttpRequest> requests;

 private:
  Handler handler_;
  std::deque<Result<HttpResponse>> script_;
};

std::vector<uint64_t> Seqs(const v1::SyncRequest& request) {
  std::vector<uint64_t> out;
  for (const v1::Mutation& m : request.mutations()) out.push_back(m.seq());
  return out;
}

std::string HeaderOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return {};
}

// The sync rules of the server in miniature: applies each device seq once and in order (a repeat is
// acknowledged and skipped), keeps a change log numbered by server_seq, and pages it out.
class MiniServer {
 public:
  // Adds a child written on another device, for devices to pull.
  std::string AddRemoteChild(const std::string& given_name) {
    v1::Record values;
    v1::Child* child = values.mutable_child();
    child->set_id(NewUuidV7(static_cast<uint64_t>(kNow)).value());
    child->set_given_name(given_name);
    child->set_region("Cusco");
    child->set_status(v1::CASE_STATUS_OPEN);
    const std::vector<uint32_t> fields = SetFields(values);
    v1::Mutation m = MakeMutation(v1::RecordState(), values, fields,
                                  MakeHlc(static_cast<uint64_t>(kNow) - 1000, ++remote_writes_), 1);
    v1::RecordState& state = states_[child->id()];
    EXPECT_TRUE(ApplyMutation(&state, m, kOtherDevice).has_value());
    Log(state);
    return child->id();
  }

  Result<HttpResponse> Handle(const HttpRequest& request) {
    ++requests_seen;
    if (request.path != kSyncPath) return ErrorReply(404, "not_found", "no such endpoint");
    if (HeaderOf(request, "Authorization") != "Bearer " + token) {
      return ErrorReply(401, "unauthenticated", "the token is not valid: log in again");
    }
    if (fail_request == requests_seen) {
      return Error::Unavailable("cannot connect to 127.0.0.1:8443: Connection refused");
    }
    v1::SyncRequest sync;
    if (!sync.ParseFromString(request.body)) return ErrorReply(400, "invalid_argument", "bad body");

    v1::SyncResponse reply;
    if (reset_next) {
      reset_next = false;
      reply.set_acked_seq(applied_seq);
      reply.set_reset_required(true);
      reply.set_has_more(true);
      return ProtoReply(reply);
    }
    std::map<uint64_t, uint64_t> echoes;  // server_seq → mutation seq, this request's own writes
    for (const v1::Mutation& m : sync.mutations()) {
      if (m.seq() <= applied_seq) continue;   // a repeat: already applied or rejected
      if (m.seq() != applied_seq + 1) break;  // a gap: acked_seq tells the device
      applied_seq = m.seq();
      if (reject.count(m.seq()) != 0) {
        v1::Rejection* r = reply.add_rejections();
        r->set_seq(m.seq());
        r->set_code(v1::REJECTION_CODE_FORBIDDEN);
        r->set_message("region Lima is not yours");
        r->set_field("child.region");
        continue;
      }
      v1::RecordState& state = states_[RecordId(m.record())];
      Result<ApplyOutcome> outcome = ApplyMutation(&state, m, sync.device_id());
      EXPECT_TRUE(outcome.has_value()) << outcome.error().ToString();
      ++mutations_applied;
      Log(state);
      if (echo && sync.accepts_echoes()) echoes[log_.size()] = m.seq();
    }
    reply.set_acked_seq(applied_seq);
    const uint64_t limit = sync.limit() == 0 ? 1000 : sync.limit();
    uint64_t next = sync.cursor();
    std::vector<EchoEntry> echoed;
    while (next < log_.size() && next - sync.cursor() < limit) {
      const v1::Change& change = log_[next++];
      auto own = echoes.find(change.server_seq());
      if (own == echoes.end()) {
        *reply.add_changes() = change;
        continue;
      }
      echoed.push_back({.server_seq = change.server_seq(),
                        .mutation_seq = own->second,
                        .state_digest = StateDigest(change.state()) ^
                                        (own->second == wrong_digest_seq)});
    }
    PutEchoes(echoed, sync.accepts_echo_pages() && !single_echoes, &reply);
    reply.set_next_cursor(next);
    reply.set_has_more(next < log_.size());
    reply.set_server_clock(MakeHlc(static_cast<uint64_t>(kNow), 0));
    if (drop_reply == requests_seen) {
      return Error::Unavailable("reading the reply from 127.0.0.1:8443 failed: Connection reset");
    }
    return ProtoReply(reply);
  }

  FakeTransport::Handler AsHandler() {
    return [this](const HttpRequest& r) { return Handle(r); };
  }

  size_t records() const { return states_.size(); }
  uint64_t log_size() const { return log_.size(); }

  std::string token = "tok-1";
  uint64_t applied_seq = 0;   // the last seq of the (one) device applied or rejected
  int mutations_applied = 0;  // ApplyMutation calls for pushed mutations
  std::set<uint64_t> reject;  // seqs to reject as forbidden
  int requests_seen = 0;
  int fail_request = 0;  // this request (1-based) fails before the server sees it
  int drop_reply = 0;    // this request's reply is lost after the server applied it
  bool echo = false;     // send a device's own writes back as echoes when it accepts them
  uint64_t wrong_digest_seq = 0;  // the echo of this mutation seq carries a digest off by one
  bool single_echoes = false;     // each echo with its digest even to a device that takes pages
  bool reset_next = false;        // the next request is answered reset_required

 private:
  void Log(const v1::RecordState& state) {
    v1::Change change;
    change.set_server_seq(log_.size() + 1);
    *change.mutable_state() = state;
    log_.push_back(std::move(change));
  }

  std::map<std::string, v1::RecordState> states_;
  std::vector<v1::Change> log_;
  uint16_t remote_writes_ = 0;
};

class SyncClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vinculo-sync-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Result<LocalStore> store =
        LocalStore::Create((dir_ / "store.db").string(),
                           {.server_url = "https://127.0.0.1:8443", .ca_file = "ca.pem"}, kNow);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_.emplace(std::move(store).value());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  LocalStore& store() { return *store_; }

  void LogIn(const std::string& token = "tok-1") {
    ASSERT_TRUE(store().SetCredentials("ana", token).ok());
  }

  std::string AddChild(const std::string& given_name) {
    v1::Record r;
    v1::Child* c = r.mutable_child();
    c->set_given_name(given_name);
    c->set_region("Cusco");
    c->set_status(v1::CASE_STATUS_OPEN);
    Result<std::string> id = store().Add(r, now_);
    EXPECT_TRUE(id.has_value()) << id.error().ToString();
    return id.value_or("");
  }

  Result<SyncSummary> RunSync(Transport& transport, SyncOptions options = {}) {
    return Sync(transport, store(), options, [this] { return ++now_; });
  }

  DeviceStatus Status() { return store().ReadStatus().value(); }

  fs::path dir_;
  std::optional<LocalStore> store_;
  int64_t now_ = kNow;
};

TEST(HttpStatus, MapsEachStatusToOneCode) {
  EXPECT_EQ(ErrorCodeForHttpStatus(400), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeForHttpStatus(413), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeForHttpStatus(415), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeForHttpStatus(401), ErrorCode::kUnauthenticated);
  EXPECT_EQ(ErrorCodeForHttpStatus(403), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ErrorCodeForHttpStatus(404), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeForHttpStatus(412), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeForHttpStatus(429), ErrorCode::kResourceExhausted);
  EXPECT_EQ(ErrorCodeForHttpStatus(500), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeForHttpStatus(502), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeForHttpStatus(503), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeForHttpStatus(302), ErrorCode::kInternal);
}

TEST(HttpStatus, ErrorCarriesTheServersMessageFieldAndRetryAfter) {
  v1::ErrorResponse body;
  body.set_code("invalid_argument");
  body.set_message("must be a UUID");
  body.set_field("device_id");
  HttpResponse reply = ProtoReply(body, 400);
  Error e = ErrorFromHttpResponse(reply, "login");
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.field, "device_id");
  EXPECT_NE(e.message.find("HTTP 400"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("must be a UUID"), std::string::npos) << e.message;

  HttpResponse limited = ErrorReply(429, "resource_exhausted", "too many failed logins");
  limited.headers.emplace_back("retry-after", "120");
  Error r = ErrorFromHttpResponse(limited, "login");
  EXPECT_EQ(r.code, ErrorCode::kResourceExhausted);
  EXPECT_NE(r.message.find("retry after 120 s"), std::string::npos) << r.message;

  // A proxy's plain-text page: its text, on one line.
  HttpResponse proxy{.status = 502, .content_type = "text/plain", .body = "Bad Gateway\r\n"};
  Error p = ErrorFromHttpResponse(proxy, "sync");
  EXPECT_EQ(p.code, ErrorCode::kUnavailable);
  EXPECT_EQ(p.message, "sync failed: the server answered HTTP 502: Bad Gateway");
}

TEST_F(SyncClientTest, LoginStoresTheToken) {
  v1::LoginResponse response;
  response.set_token("tok-new");
  response.set_username("ana");
  response.set_role("field_worker");
  response.set_region("Cusco");
  response.set_server_clock(MakeHlc(static_cast<uint64_t>(kNow) + 90'000, 3));
  FakeTransport transport;
  transport.Then(ProtoReply(response));

  Result<LoginResult> result = Login(transport, store(), "ana", "s3cret", kNow);
  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ(result->username, "ana");
  EXPECT_EQ(result->role, "field_worker");
  EXPECT_EQ(result->region, "Cusco");
  EXPECT_EQ(result->clock_offset_ms, 90'000);
  EXPECT_EQ(store().Token().value_or(""), "tok-new");
  EXPECT_EQ(Status().username, "ana");

  ASSERT_EQ(transport.requests.size(), 1u);
  const HttpRequest& sent = transport.requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v1/login");
  EXPECT_EQ(sent.content_type, "application/x-protobuf");
  v1::LoginRequest login;
  ASSERT_TRUE(login.ParseFromString(sent.body));
  EXPECT_EQ(login.username(), "ana");
  EXPECT_EQ(login.password(), "s3cret");
  EXPECT_EQ(login.device_id(), store().device_id());
}

TEST_F(SyncClientTest, LoginRefusedKeepsTheOldCredentials) {
  LogIn("tok-old");
  FakeTransport transport;
  transport.Then(ErrorReply(401, "unauthenticated", "wrong username or password"));
  Result<LoginResult> result = Login(transport, store(), "ana", "wrong", kNow);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(result.error().message.find("wrong username or password"), std::string::npos);
  EXPECT_EQ(result.error().message.find("wrong\""), std::string::npos);  // no password echoed
  EXPECT_EQ(store().Token().value_or(""), "tok-old");

  // A 200 without a token is not a login.
  transport.Then(ProtoReply(v1::LoginResponse()));
  EXPECT_EQ(Login(transport, store(), "ana", "x", kNow).error().code, ErrorCode::kDataLoss);
  // Nor is a server that cannot be reached.
  transport.Then(Error::Unavailable("cannot connect to 127.0.0.1:8443: Connection refused"));
  EXPECT_EQ(Login(transport, store(), "ana", "x", kNow).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store().Token().value_or(""), "tok-old");
}

TEST_F(SyncClientTest, SendsPendingMutationsInSeqOrderWithCursorAndBearerToken) {
  LogIn();
  MiniServer server;
  server.AddRemoteChild("Rosa");
  FakeTransport transport(server.AsHandler());
  ASSERT_TRUE(RunSync(transport).has_value());  // pulls Rosa: cursor 1
  ASSERT_EQ(Status().cursor, 1u);

  AddChild("Ana");
  AddChild("Beto");
  AddChild("Carla");
  Result<SyncSummary> summary = RunSync(transport, {.push_batch = 500, .pull_limit = 250});
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();

  ASSERT_EQ(transport.requests.size(), 2u);
  const HttpRequest& sent = transport.requests[1];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v1/sync");
  EXPECT_EQ(sent.content_type, "application/x-protobuf");
  EXPECT_EQ(HeaderOf(sent, "Authorization"), "Bearer tok-1");
  v1::SyncRequest request = transport.SyncRequestAt(1);
  EXPECT_EQ(request.device_id(), store().device_id());
  EXPECT_EQ(Seqs(request), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(request.mutations(0).record().child().given_name(), "Ana");
  EXPECT_EQ(request.cursor(), 1u);
  EXPECT_EQ(request.limit(), 250u);
  EXPECT_GE(HlcMillis(request.clock()), static_cast<uint64_t>(kNow));

  // The server echoes the three new records back as changes 2..4.
  EXPECT_EQ(summary->pushed, 3u);
  EXPECT_EQ(summary->pulled, 3u);
  EXPECT_EQ(summary->rounds, 1u);
  EXPECT_EQ(summary->cursor, 4u);
  DeviceStatus status = Status();
  EXPECT_EQ(status.pending, 0u);
  EXPECT_EQ(status.acked_seq, 3u);
  EXPECT_EQ(status.cursor, 4u);
  EXPECT_EQ(status.records, 4u);
  EXPECT_EQ(status.last_sync_result, "pushed 3, pulled 3, rejected 0, conflicts 0");
  EXPECT_GT(status.last_sync_ms, kNow);
}

TEST_F(SyncClientTest, PushesALongOutboxInBatches) {
  LogIn();
  for (const char* name : {"Ana", "Beto", "Carla", "Dario", "Eva"}) AddChild(name);
  MiniServer server;
  FakeTransport transport(server.AsHandler());
  Result<SyncSummary> summary = RunSync(transport, {.push_batch = 2});
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  ASSERT_EQ(transport.requests.size(), 3u);
  EXPECT_EQ(Seqs(transport.SyncRequestAt(0)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Seqs(transport.SyncRequestAt(1)), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(Seqs(transport.SyncRequestAt(2)), (std::vector<uint64_t>{5}));
  EXPECT_EQ(summary->pushed, 5u);
  EXPECT_EQ(server.mutations_applied, 5);
  EXPECT_EQ(Status().pending, 0u);
}

TEST_F(SyncClientTest, PullsEveryPageAndEndsAtTheLastCursor) {
  LogIn();
  MiniServer server;
  for (const char* name : {"Ana", "Beto", "Carla", "Dario", "Eva"}) server.AddRemoteChild(name);
  FakeTransport transport(server.AsHandler());
  std::vector<SyncProgress> progress;
  Result<SyncSummary> summary = RunSync(
      transport,
      {.pull_limit = 2, .on_progress = [&](const SyncProgress& p) { progress.push_back(p); }});
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();

  // has_more was true twice: three requests, each from the cursor the previous page committed.
  ASSERT_EQ(transport.requests.size(), 3u);
  EXPECT_EQ(transport.SyncRequestAt(0).cursor(), 0u);
  EXPECT_EQ(transport.SyncRequestAt(1).cursor(), 2u);
  EXPECT_EQ(transport.SyncRequestAt(2).cursor(), 4u);
  EXPECT_EQ(summary->rounds, 3u);
  EXPECT_EQ(summary->pulled, 5u);
  EXPECT_EQ(summary->cursor, 5u);
  EXPECT_EQ(Status().cursor, 5u);
  EXPECT_EQ(Status().records, 5u);
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_TRUE(progress[0].has_more);
  EXPECT_EQ(progress[1].cursor, 4u);
  EXPECT_FALSE(progress[2].has_more);
  EXPECT_EQ(progress[2].pulled, 5u);
}

// A transport over a MiniServer that logs when requests are sent ahead and their replies received.
class AheadLoggingTransport final : public Transport {
 public:
  AheadLoggingTransport(MiniServer* server, std::vector<std::string>* events)
      : server_(server), events_(events) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    return server_->Handle(request);
  }
  void SendAhead(const HttpRequest& request) override {
    v1::SyncRequest sync;
    EXPECT_TRUE(sync.ParseFromString(request.body));
    events_->push_back("ahead " + std::to_string(sync.cursor()) + " held " +
                       std::to_string(sync.held_through()));
    ahead_ = request;
  }
  Result<HttpResponse> ReceiveAhead() override {
    events_->push_back("receive");
    return server_->Handle(ahead_);
  }

 private:
  MiniServer* server_;
  std::vector<std::string>* events_;
  HttpRequest ahead_;
};

TEST_F(SyncClientTest, AsksForTheNextPageBeforeApplyingThisOne) {
  LogIn();
  MiniServer server;
  for (const char* name : {"Ana", "Beto", "Carla", "Dario", "Eva"}) server.AddRemoteChild(name);
  std::vector<std::string> events;
  AheadLoggingTransport transport(&server, &events);
  Result<SyncSummary> summary =
      RunSync(transport, {.pull_limit = 2, .on_progress = [&](const SyncProgress& p) {
                            events.push_back("page " + std::to_string(p.round) + " committed");
                          }});
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  // Each next page is asked for (from the cursor the page will commit) before the page is applied.
  EXPECT_EQ(events, (std::vector<std::string>{"ahead 2 held 0", "page 1 committed", "receive",
                                              "ahead 4 held 0", "page 2 committed", "receive",
                                              "page 3 committed"}));
  EXPECT_EQ(summary->pulled, 5u);
  EXPECT_EQ(Status().cursor, 5u);
  EXPECT_EQ(Status().records, 5u);
  // The next sync starts holding the scope through the end of this one, and keeps that through
  // its pages: a record could change again beyond a page, so only a last page moves it.
  for (const char* name : {"Fabio", "Gala", "Hugo"}) server.AddRemoteChild(name);
  events.clear();
  ASSERT_TRUE(RunSync(transport, {.pull_limit = 2}).has_value());
  EXPECT_EQ(events, (std::vector<std::string>{"ahead 7 held 5", "receive"}));
  EXPECT_EQ(store().ReadSyncPosition()->held_through, 8u);
}

TEST_F(SyncClientTest, PushRoundsAreNotSentAhead) {
  LogIn();
  MiniServer server;
  for (const char* name : {"Ana", "Beto", "Carla"}) server.AddRemoteChild(name);
  for (int i = 0; i < 3; ++i) AddChild("Local " + std::to_string(i));
  FakeTransport transport(server.AsHandler());
  // Two mutations a request: the second request must carry the third mutation, so it can only be
  // built after the first reply is applied; the third request carries none and follows the second.
  Result<SyncSummary> summary = RunSync(transport, {.push_batch = 2, .pull_limit = 2});
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  ASSERT_GE(transport.requests.size(), 2u);
  EXPECT_EQ(Seqs(transport.SyncRequestAt(0)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Seqs(transport.SyncRequestAt(1)), (std::vector<uint64_t>{3}));
  EXPECT_EQ(summary->pushed, 3u);
  EXPECT_EQ(Status().pending, 0u);
  EXPECT_EQ(Status().cursor, server.log_size());
}

TEST_F(SyncClientTest, APageThatFailsToApplyStopsAndWhatWasSentAheadIsNotApplied) {
  LogIn();
  MiniServer server;
  for (const char* name : {"Ana", "Beto", "Carla", "Dario", "Eva", "Fabio"}) {
    server.AddRemoteChild(name);
  }
  FakeTransport transport([&](const HttpRequest& request) -> Result<HttpResponse> {
    Result<HttpResponse> reply = server.Handle(request);
    if (server.requests_seen != 2 || !reply) return reply;
    // The second page names a rejection of a seq the server never acknowledged: the store refuses
    // the whole page (DataLoss). Its has_more lets the client send the third request ahead.
    v1::SyncResponse page;
    EXPECT_TRUE(page.ParseFromString(reply->body));
    page.add_rejections()->set_seq(99);
    return ProtoReply(page);
  });
  Result<SyncSummary> summary = RunSync(transport, {.pull_limit = 2});
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kDataLoss) << summary.error().ToString();
  EXPECT_EQ(transport.requests.size(), 2u);  // the third was sent ahead, its reply never read
  EXPECT_EQ(Status().cursor, 2u);            // only the first page is applied
  EXPECT_EQ(Status().records, 2u);
}

// The server echoes the device's own writes as digests. One digest is not that of the state the
// device holds: the page stops below it, the next request (not sent ahead, though the server has
// more) asks from there, and the record comes in full.
// Each form of echoes (docs/protocol.md 11.4): one by one, and a page under one digest. The reply
// has more to pull, but its cursor is known only once the page is applied, so nothing is sent
// ahead of it: a request sent ahead from next_cursor would skip the record that did not match.
class EchoFormTest : public SyncClientTest, public ::testing::WithParamInterface<bool> {};
INSTANTIATE_TEST_SUITE_P(SingleOrPage, EchoFormTest, ::testing::Bool());

TEST_P(EchoFormTest, AnEchoThatDoesNotMatchStopsThePageAndTheRecordComesInFull) {
  LogIn();
  MiniServer server;
  server.echo = true;
  server.wrong_digest_seq = 1;
  server.single_echoes = GetParam();
  const std::string a = AddChild("Ana");
  const std::string b = AddChild("Beto");
  FakeTransport transport(server.AsHandler());
  Result<SyncSummary> s = RunSync(transport, {.pull_limit = 1});
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  const v1::SyncRequest first = transport.SyncRequestAt(0);
  EXPECT_TRUE(first.accepts_echoes());
  EXPECT_TRUE(first.accepts_echo_pages());
  EXPECT_TRUE(first.accepts_uniform_stamps());
  EXPECT_TRUE(first.accepts_base_stamps());
  EXPECT_EQ(first.mutations_size(), 2);
  // The first reply echoes seq 1 with a wrong digest: the cursor stays at 0.
  EXPECT_EQ(first.held_through(), 0u);  // nothing pulled yet
  const v1::SyncRequest second = transport.SyncRequestAt(1);
  EXPECT_EQ(second.cursor(), 0u);
  EXPECT_EQ(second.held_through(), 0u);
  EXPECT_EQ(second.mutations_size(), 0);
  EXPECT_EQ(s->pushed, 2u);
  EXPECT_EQ(s->pulled, 2u);  // both in full from the second round on
  EXPECT_EQ(Status().cursor, 2u);
  EXPECT_TRUE(store().Get(v1::RECORD_TYPE_CHILD, a).has_value());
  EXPECT_TRUE(store().Get(v1::RECORD_TYPE_CHILD, b).has_value());

  // Echoes that match are neither pulled nor a reason to ask again.
  server.wrong_digest_seq = 0;
  AddChild("Carla");
  const size_t before = transport.requests.size();
  s = RunSync(transport);
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(transport.requests.size(), before + 1);
  // The last page of the sync before was applied whole: the device holds its scope through it.
  EXPECT_EQ(transport.SyncRequestAt(before).held_through(), 2u);
  EXPECT_EQ(s->pushed, 1u);
  EXPECT_EQ(s->pulled, 0u);
  EXPECT_EQ(Status().cursor, 3u);
}

// A server restored from an older backup answers reset_required to a request that pushes
// nothing: the cursor goes back to 0 on purpose, and the next round pulls from the start.
TEST_F(SyncClientTest, AResetWithNothingToPushPullsAgainFromTheStart) {
  LogIn();
  MiniServer server;
  server.AddRemoteChild("Rosa");
  server.AddRemoteChild("Mateo");
  FakeTransport transport(server.AsHandler());
  ASSERT_TRUE(RunSync(transport).has_value());
  ASSERT_EQ(Status().cursor, 2u);
  server.reset_next = true;
  Result<SyncSummary> s = RunSync(transport);
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(transport.SyncRequestAt(1).held_through(), 2u);
  // After the reset the device holds nothing the restored server vouches for: all of it whole.
  EXPECT_EQ(transport.SyncRequestAt(2).cursor(), 0u);
  EXPECT_EQ(transport.SyncRequestAt(2).held_through(), 0u);
  EXPECT_EQ(s->pulled, 2u);
  EXPECT_EQ(Status().cursor, 2u);
}

TEST_F(SyncClientTest, RejectionsShowInTheRejectedList) {
  LogIn();
  AddChild("Ana");
  const std::string beto = AddChild("Beto");
  AddChild("Carla");
  MiniServer server;
  server.reject = {2};
  FakeTransport transport(server.AsHandler());
  Result<SyncSummary> summary = RunSync(transport);
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_EQ(summary->pushed, 2u);
  EXPECT_EQ(summary->rejected, 1u);
  EXPECT_EQ(Status().pending, 0u);
  EXPECT_EQ(Status().last_sync_result, "pushed 2, pulled 2, rejected 1, conflicts 0");
  std::vector<RejectedMutation> rejected = store().Rejected().value();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].mutation.seq(), 2u);
  EXPECT_EQ(RecordId(rejected[0].mutation.record()), beto);
  EXPECT_EQ(rejected[0].code, "forbidden");
  EXPECT_EQ(rejected[0].field, "child.region");
}

TEST_F(SyncClientTest, UnauthorizedChangesNothing) {
  LogIn("tok-revoked");
  AddChild("Ana");
  MiniServer server;
  server.AddRemoteChild("Rosa");
  FakeTransport transport(server.AsHandler());
  Result<SyncSummary> summary = RunSync(transport);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(summary.error().message.find("log in again"), std::string::npos)
      << summary.error().message;
  EXPECT_EQ(transport.requests.size(), 1u);
  DeviceStatus status = Status();
  EXPECT_EQ(status.pending, 1u);
  EXPECT_EQ(status.cursor, 0u);
  EXPECT_EQ(status.records, 1u);
  EXPECT_EQ(status.last_sync_ms, 0);
  EXPECT_EQ(status.last_sync_result, "");
}

TEST_F(SyncClientTest, WithoutATokenNothingIsSent) {
  AddChild("Ana");
  FakeTransport transport;
  Result<SyncSummary> summary = RunSync(transport);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(SyncClientTest, UnparseableReplyIsDataLossAndAppliesNothing) {
  LogIn();
  AddChild("Ana");
  AddChild("Beto");
  const std::string garbage = "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";  // bad varint
  ASSERT_FALSE(v1::SyncResponse().ParseFromString(garbage));
  FakeTransport transport;
  transport.Then(
      HttpResponse{.status = 200, .content_type = kProtobufContentType, .body = garbage});
  Result<SyncSummary> summary = RunSync(transport);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kDataLoss) << summary.error().ToString();
  EXPECT_EQ(Status().cursor, 0u);
  EXPECT_EQ(Status().pending, 2u);
  EXPECT_EQ(Status().acked_seq, 0u);

  // A page from something that is not the server (a portal, a proxy) is refused the same way, even
  // when its bytes happen to parse.
  v1::SyncResponse would_ack;
  would_ack.set_acked_seq(2);
  transport.Then(HttpResponse{
      .status = 200, .content_type = "text/html", .body = would_ack.SerializeAsString()});
  summary = RunSync(transport);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(summary.error().message.find("text/html"), std::string::npos);
  EXPECT_EQ(Status().pending, 2u);
}

TEST_F(SyncClientTest, StopsWhenARoundMakesNoProgress) {
  LogIn();
  AddChild("Ana");
  // A server that never acknowledges anything and has nothing to send.
  v1::SyncResponse stuck;
  stuck.set_acked_seq(0);
  FakeTransport transport(
      [&](const HttpRequest&) -> Result<HttpResponse> { return ProtoReply(stuck); });
  Result<SyncSummary> summary = RunSync(transport);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(summary.error().message.find("no progress"), std::string::npos)
      << summary.error().message;
  EXPECT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(Status().pending, 1u);
  EXPECT_EQ(Status().last_sync_result, "");

  // A server that says has_more but never moves the cursor is stopped the same way.
  ASSERT_TRUE(store().ApplySyncResponse(v1::SyncResponse(), kNow).has_value());
  v1::SyncResponse ack_all;
  ack_all.set_acked_seq(1);
  ack_all.set_has_more(true);
  ack_all.set_next_cursor(0);
  FakeTransport looping(
      [&](const HttpRequest&) -> Result<HttpResponse> { return ProtoReply(ack_all); });
  summary = RunSync(looping);
  ASSERT_FALSE(summary.has_value());
  EXPECT_NE(summary.error().message.find("no progress"), std::string::npos);
  EXPECT_EQ(looping.requests.size(), 2u);  // the first round acked seq 1: that was progress
  EXPECT_EQ(Status().pending, 0u);
}

TEST_F(SyncClientTest, NoProgressNamesAServerThatForgotAcknowledgedMutations) {
  LogIn();
  AddChild("Ana");
  AddChild("Beto");
  MiniServer server;
  FakeTransport transport(server.AsHandler());
  ASSERT_TRUE(RunSync(transport).has_value());
  AddChild("Carla");  // seq 3
  // The server is restored from a backup taken before seqs 1 and 2 arrived.
  MiniServer restored;
  FakeTransport after_restore(restored.AsHandler());
  Result<SyncSummary> summary = RunSync(after_restore);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(summary.error().message.find("backup"), std::string::npos) << summary.error().message;
  EXPECT_EQ(Status().pending, 1u);
}

TEST_F(SyncClientTest, LostReplyIsResentFromTheOutboxWithoutDuplicates) {
  LogIn();
  const std::string ana = AddChild("Ana");
  AddChild("Beto");
  MiniServer server;
  server.drop_reply = 1;  // the server applies seqs 1 and 2, then the reply is lost
  FakeTransport transport(server.AsHandler());

  Result<SyncSummary> first = RunSync(transport);
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(server.mutations_applied, 2);
  EXPECT_EQ(Status().pending, 2u);  // the device cannot know: both stay in the outbox
  EXPECT_EQ(Status().cursor, 0u);

  Result<SyncSummary> second = RunSync(transport);
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(Seqs(transport.SyncRequestAt(1)), (std::vector<uint64_t>{1, 2}));  // the same again
  EXPECT_EQ(server.mutations_applied, 2);  // acknowledged, not applied twice
  EXPECT_EQ(server.records(), 2u);
  EXPECT_EQ(server.log_size(), 2u);
  DeviceStatus status = Status();
  EXPECT_EQ(status.pending, 0u);
  EXPECT_EQ(status.acked_seq, 2u);
  EXPECT_EQ(status.cursor, 2u);
  EXPECT_EQ(status.records, 2u);  // the echoed records merged into the local ones
  EXPECT_EQ(store().List(v1::RECORD_TYPE_CHILD).value().size(), 2u);
  EXPECT_EQ(store().Get(v1::RECORD_TYPE_CHILD, ana)->record().child().given_name(), "Ana");
}

TEST_F(SyncClientTest, FailureAfterAPageKeepsThatPageAndResumes) {
  LogIn();
  MiniServer server;
  for (const char* name : {"Ana", "Beto", "Carla", "Dario", "Eva"}) server.AddRemoteChild(name);
  server.fail_request = 2;
  FakeTransport transport(server.AsHandler());
  Result<SyncSummary> first = RunSync(transport, {.pull_limit = 2});
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(first.error().message.find("127.0.0.1:8443"), std::string::npos);
  EXPECT_NE(first.error().message.find("1 page was applied"), std::string::npos)
      << first.error().message;
  EXPECT_EQ(Status().cursor, 2u);  // the committed page stays
  EXPECT_EQ(Status().records, 2u);
  EXPECT_EQ(Status().last_sync_result, "");

  Result<SyncSummary> second = RunSync(transport, {.pull_limit = 2});
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_EQ(transport.SyncRequestAt(2).cursor(), 2u);  // resumed where it stopped
  EXPECT_EQ(second->pulled, 3u);
  EXPECT_EQ(Status().cursor, 5u);
  EXPECT_EQ(Status().records, 5u);
}

TEST_F(SyncClientTest, ServerErrorIsUnavailableWithItsMessage) {
  LogIn();
  FakeTransport transport;
  transport.Then(ErrorReply(503, "unavailable", "the store is busy"));
  Result<SyncSummary> summary = RunSync(transport);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(summary.error().message.find("the store is busy"), std::string::npos);
}

}  // namespace
}  // namespace vinculo::client
