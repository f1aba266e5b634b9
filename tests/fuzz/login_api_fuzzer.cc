// Fuzz target: POST /v1/login, in process: server::Api::Handle over a real SqliteCentralStore (a
// fresh copy of a seeded store per input, fuzz_store.h). The input's first byte frames the rest
// (protobuf, JSON, gzip, or a wrong content type); the rest is the body. scrypt runs at a capped
// cost (cheap_scrypt.cc), so logins of known and unknown users alike are cheap.
//
// Oracles:
//   - the reply is one of the statuses login documents, never 5xx;
//   - a 200 is given only for a known, enabled user's right password and a UUID device id, and
//     carries a 64-hex-digit token that then authenticates a sync of that device;
//   - anything else is an ErrorResponse.
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <set>

#include "common/validate.h"
#include "server/api.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_store.h"

namespace vinculo::fuzz {
extern std::atomic<long> cheap_scrypt_calls;

namespace {

// The LoginRequest in the body, decoded independently of the server; false when it does not
// decode.
bool DecodeLogin(uint8_t flags, std::string_view body, v1::LoginRequest* login) {
  switch (static_cast<Encoding>(flags & 3)) {
    case Encoding::kProtobuf:
    case Encoding::kGzipProtobuf:  // FramedRequest compressed it; the server inflates it
      return login->ParseFromArray(body.data(), static_cast<int>(body.size()));
    case Encoding::kJson:
      return google::protobuf::util::JsonStringToMessage(std::string(body), login).ok();
    case Encoding::kOtherType:
      return false;
  }
  return false;
}

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace
}  // namespace vinculo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  [[maybe_unused]] static const bool kQuiet = vinculo::fuzz::QuietProtobuf();
  using namespace vinculo;
  using namespace vinculo::fuzz;
  if (size < 1) return 0;
  static const bool kInterposed = [] {
    FuzzStore::Get();  // hashes the users' passwords
    return cheap_scrypt_calls.load() > 0;
  }();
  FUZZ_CHECK(kInterposed, "scrypt is the capped one (cheap_scrypt.cc)");

  std::unique_ptr<server::CentralStore> store = FuzzStore::Get().Fresh();
  server::Api api(*store, server::ApiOptions{});
  const std::string_view body = AsText(data + 1, size - 1);
  const server::HttpRequest request = FramedRequest("/v1/login", data[0], body, false);
  const server::HttpResponse reply = api.Handle(request, kNow);

  static const std::set<int> kDocumented = {200, 400, 401, 403, 413, 415, 429};
  FUZZ_CHECK(kDocumented.count(reply.status) == 1,
             "a documented status, not " + std::to_string(reply.status) + ": " + reply.body);
  if (Verbose()) {
    std::fprintf(stderr, "%d %s\n", reply.status, reply.status == 200 ? "" : reply.body.c_str());
  }
  if (reply.status != 200) {
    v1::ErrorResponse error;
    FUZZ_CHECK((data[0] & 3) == 1 || error.ParseFromString(reply.body),
               "an error carries an ErrorResponse");
    return 0;
  }
  v1::LoginRequest login;
  FUZZ_CHECK(DecodeLogin(data[0], body, &login), "a 200 answers a LoginRequest");
  FUZZ_CHECK(login.username() != kDisabledUser, "a disabled user cannot log in");
  FUZZ_CHECK(login.password() == FuzzPassword(login.username()), "only the right password");
  FUZZ_CHECK(IsUuid(login.device_id()), "only a UUID device id");
  v1::LoginResponse response;
  if ((data[0] & 3) == 1) {
    FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(reply.body, &response).ok(),
               "a JSON login is answered in JSON");
  } else {
    FUZZ_CHECK(response.ParseFromString(reply.body), "a 200 carries a LoginResponse");
  }
  FUZZ_CHECK(response.username() == login.username(), "the reply names the user");
  FUZZ_CHECK(response.token().size() == 64 && IsLowerHex(response.token()), "a 64-hex token");

  // The token works, for that device.
  v1::SyncRequest sync;
  sync.set_device_id(login.device_id());
  server::HttpRequest r{.method = "POST",
                        .target = "/v1/sync",
                        .content_type = "application/x-protobuf",
                        .authorization = "Bearer " + response.token(),
                        .body = sync.SerializeAsString()};
  const server::HttpResponse synced = api.Handle(r, kNow);
  FUZZ_CHECK(synced.status == 200, "the new token syncs: " + std::to_string(synced.status));
  return 0;
}
