#include "server/api.h"

#include <gtest/gtest.h>

#include "common/gzip.h"
#include "common/zstd.h"
#include "tests/server/server_test_util.h"

namespace vinculo::server {
namespace {

using namespace vinculo::server::testing;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : store_(NewCentralStore(dir_)), api_(*store_, ApiOptions{}) {
    Enrol(*store_, "ana", Role::kFieldWorker, "Cusco", Id(9001));
  }

  HttpResponse Post(const std::string& path, const google::protobuf::Message& body,
                    const std::string& token = "", int64_t now = kNow) {
    HttpRequest r{.method = "POST",
                  .target = path,
                  .content_type = "application/x-protobuf",
                  .body = body.SerializeAsString()};
    if (!token.empty()) r.authorization = "Bearer " + token;
    return api_.Handle(r, now);
  }

  HttpResponse Login(const std::string& user, const std::string& password,
                     const std::string& device, int64_t now = kNow) {
    v1::LoginRequest login;
    login.set_username(user);
    login.set_password(password);
    login.set_device_id(device);
    v1::LoginRequest copy = login;
    return Post("/v1/login", copy, "", now);
  }

  static v1::ErrorResponse ErrorOf(const HttpResponse& r) {
    v1::ErrorResponse e;
    EXPECT_TRUE(e.ParseFromString(r.body));
    return e;
  }

  v1::SyncRequest Request(const std::string& device) {
    v1::SyncRequest s;
    s.set_device_id(device);
    return s;
  }

  TempDir dir_;
  std::unique_ptr<CentralStore> store_;
  Api api_;
};

TEST_F(ApiTest, LoginGivesATokenThatSyncs) {
  HttpResponse r = Login("ana", "password-ana", Id(1));
  ASSERT_EQ(r.status, 200) << ErrorOf(r).message();
  v1::LoginResponse login;
  ASSERT_TRUE(login.ParseFromString(r.body));
  EXPECT_EQ(login.role(), "field_worker");
  EXPECT_EQ(login.region(), "Cusco");
  EXPECT_EQ(login.token().size(), 64u);
  // Only the hash is stored.
  Result<std::optional<DeviceRecord>> device = store_->FindDeviceByTokenHash(TokenHash(login.token()));
  ASSERT_TRUE(device.has_value() && device->has_value());
  EXPECT_NE((*device)->token_hash, login.token());

  HttpResponse sync = Post("/v1/sync", Request(Id(1)), login.token());
  EXPECT_EQ(sync.status, 200);
  EXPECT_EQ(sync.user, "ana");
}

TEST_F(ApiTest, LogoutVoidsTheToken) {
  const std::string token = "token-" + Id(9001);
  HttpRequest logout{.method = "POST", .target = "/v1/logout", .authorization = "Bearer " + token};
  EXPECT_EQ(api_.Handle(logout, kNow).status, 200);
  EXPECT_EQ(Post("/v1/sync", Request(Id(9001)), token).status, 401);
  EXPECT_EQ(api_.Handle(logout, kNow).status, 401);
  EXPECT_EQ(Login("ana", "password-ana", Id(9001)).status, 200);  // may log in again
}

TEST_F(ApiTest, BrowsersLogInWithJson) {
  HttpRequest r{.method = "POST",
                .target = "/v1/login",
                .content_type = "application/json",
                .body = R"({"username":"ana","password":"password-ana","deviceId":")" + Id(7) +
                        R"("})"};
  HttpResponse ok = api_.Handle(r, kNow);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.content_type.rfind("application/json", 0), 0u);
  EXPECT_NE(ok.body.find("\"token\""), std::string::npos) << ok.body;
  r.body = R"({"username":"ana","password":"nope","deviceId":")" + Id(7) + R"("})";
  HttpResponse wrong = api_.Handle(r, kNow);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("wrong username or password"), std::string::npos) << wrong.body;
}

TEST_F(ApiTest, WrongPasswordAndUnknownUserAreTheSame401) {
  HttpResponse wrong = Login("ana", "nope", Id(1));
  HttpResponse unknown = Login("nadie", "nope", Id(1));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(ErrorOf(wrong).message(), ErrorOf(unknown).message());
}


// HMAC pads a short key with zeros, so scrypt alone would accept "password-ana\0\0" for
// "password-ana" (found by the login_api fuzzer; its input is kept in tests/fuzz/regressions).
TEST_F(ApiTest, APasswordWithNulBytesNeverLogsIn) {
  EXPECT_EQ(Login("ana", std::string("password-ana\0\0", 14), Id(1)).status, 401);
  EXPECT_EQ(Login("ana", std::string("password-ana\0", 13), Id(1)).status, 401);
  EXPECT_FALSE(HashPassword(std::string("a\0b", 3)).has_value());
  EXPECT_EQ(Login("ana", "password-ana", Id(1)).status, 200);
}
TEST_F(ApiTest, FailedLoginsAreRateLimitedPerUser) {
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Login("ana", "nope", Id(1), kNow + i).status, 401);
  HttpResponse blocked = Login("ana", "password-ana", Id(1), kNow + 10);
  EXPECT_EQ(blocked.status, 429);
  EXPECT_EQ(ErrorOf(blocked).code(), "resource_exhausted");
  // After the window, the right password works again.
  EXPECT_EQ(Login("ana", "password-ana", Id(1), kNow + 16 * 60 * 1000).status, 200);
}

TEST_F(ApiTest, DisabledUsersAndOtherUsersDevicesAreRefused) {
  Enrol(*store_, "beto", Role::kFieldWorker, "Cusco", Id(9002));
  EXPECT_EQ(Login("beto", "password-beto", Id(9001)).status, 403);  // ana's device
  ASSERT_TRUE(store_->SetUserDisabled("beto", true).ok());
  EXPECT_EQ(Login("beto", "password-beto", Id(9002)).status, 403);
  // A disabled user's existing token stops working too.
  EXPECT_EQ(Post("/v1/sync", Request(Id(9002)), "token-" + Id(9002)).status, 403);
}

TEST_F(ApiTest, RevokedExpiredAndForgedTokensAreRefused) {
  const std::string token = "token-" + Id(9001);  // issued by Enrol, valid one day
  EXPECT_EQ(Post("/v1/sync", Request(Id(9001)), token).status, 200);
  EXPECT_EQ(Post("/v1/sync", Request(Id(9001)), token, kNow + 2 * 86'400'000LL).status, 401);
  EXPECT_EQ(Post("/v1/sync", Request(Id(9001)), "forged-token").status, 401);
  EXPECT_EQ(Post("/v1/sync", Request(Id(9001))).status, 401);
  ASSERT_TRUE(store_->RevokeDevice(Id(9001), kNow).ok());
  EXPECT_EQ(Post("/v1/sync", Request(Id(9001)), token).status, 401);
  EXPECT_EQ(Login("ana", "password-ana", Id(9001)).status, 403);  // and cannot log in again
}

TEST_F(ApiTest, BadRequestsGetClearStatuses) {
  const std::string token = "token-" + Id(9001);
  HttpRequest garbage{.method = "POST",
                      .target = "/v1/sync",
                      .content_type = "application/x-protobuf",
                      .authorization = "Bearer " + token,
                      .body = "\xff\xff\xff garbage"};
  EXPECT_EQ(api_.Handle(garbage, kNow).status, 400);
  HttpRequest text = garbage;
  text.content_type = "text/plain";
  EXPECT_EQ(api_.Handle(text, kNow).status, 415);
  HttpRequest json = garbage;
  json.content_type = "application/json";
  EXPECT_EQ(api_.Handle(json, kNow).status, 400);  // JSON is accepted, but this is not JSON
  HttpRequest get{.method = "GET", .target = "/v1/sync"};
  EXPECT_EQ(api_.Handle(get, kNow).status, 405);
  HttpRequest nowhere{.method = "GET", .target = "/v1/nothing"};
  EXPECT_EQ(api_.Handle(nowhere, kNow).status, 404);
  HttpRequest health{.method = "GET", .target = "/healthz"};
  EXPECT_EQ(api_.Handle(health, kNow).status, 200);
  EXPECT_EQ(Post("/v1/sync", Request(Id(9002)), token).status, 403);  // not this token's device
}

TEST_F(ApiTest, GzipRequestBodiesAreAcceptedAndBombsRefused) {
  HttpRequest r{.method = "POST",
                .target = "/v1/sync",
                .content_type = "application/x-protobuf",
                .content_encoding = "gzip",
                .authorization = "Bearer token-" + Id(9001),
                .body = GzipCompress(Request(Id(9001)).SerializeAsString())};
  EXPECT_EQ(api_.Handle(r, kNow).status, 200);
  r.body = GzipCompress(std::string(64 << 20, '\0'));  // 64 MiB of zeros, a few KB compressed
  HttpResponse bomb = api_.Handle(r, kNow);
  EXPECT_EQ(bomb.status, 413);
  r.body = "not gzip";
  EXPECT_EQ(api_.Handle(r, kNow).status, 400);
}

TEST_F(ApiTest, ZstdRequestBodiesAreAcceptedAndBombsRefused) {
  HttpRequest r{.method = "POST",
                .target = "/v1/sync",
                .content_type = "application/x-protobuf",
                .content_encoding = "zstd",
                .authorization = "Bearer token-" + Id(9001),
                .body = ZstdCompress(Request(Id(9001)).SerializeAsString())};
  EXPECT_EQ(api_.Handle(r, kNow).status, 200);
  r.body = ZstdCompress(std::string(64 << 20, '\0'));
  EXPECT_EQ(api_.Handle(r, kNow).status, 413);
  r.body = "not zstd";
  HttpResponse garbage = api_.Handle(r, kNow);
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(ErrorOf(garbage).field(), "body");
  r.content_encoding = "br";
  EXPECT_EQ(ErrorOf(api_.Handle(r, kNow)).field(), "content-encoding");
}

}  // namespace
}  // namespace vinculo::server
