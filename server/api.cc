#include "server/api.h"

#include "common/gzip.h"
#include "common/validate.h"

namespace vinculo::server {
namespace {

constexpr char kProtobuf[] = "application/x-protobuf";

// A password hash to verify against when the user does not exist, so that a login for an unknown
// name costs as much as one for a known name (no user enumeration by timing).
const std::string& DummyHash() {
  static const std::string* const kHash =
      new std::string(HashPassword("no such user").value_or(std::string()));
  return *kHash;
}

HttpResponse ProtoReply(const google::protobuf::Message& message) {
  HttpResponse r;
  r.status = 200;
  r.content_type = kProtobuf;
  r.body = message.SerializeAsString();
  return r;
}

// Media type without parameters, lowercased: "application/x-protobuf; charset=x" → the first part.
std::string MediaType(std::string_view content_type) {
  std::string out(content_type.substr(0, content_type.find(';')));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The request body decoded into `message`: checks the content type, gunzips, parses.
Status DecodeBody(const HttpRequest& request, size_t max_bytes,
                  google::protobuf::Message* message) {
  if (MediaType(request.content_type) != kProtobuf) {
    return Error{ErrorCode::kInvalidArgument,
                 "the body must be application/x-protobuf, not '" + request.content_type + "'",
                 "content-type"};
  }
  std::string_view body = request.body;
  std::string inflated;
  if (request.content_encoding == "gzip") {
    Result<std::string> r = GzipDecompress(request.body, max_bytes);
    if (!r) return r.error();
    inflated = std::move(r).value();
    body = inflated;
  } else if (!request.content_encoding.empty() && request.content_encoding != "identity") {
    return Error::InvalidArgument("unsupported content encoding " + request.content_encoding,
                                  "content-encoding");
  }
  if (!message->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error::InvalidArgument("the body is not a valid " + message->GetTypeName(), "body");
  }
  return Status::Ok();
}

}  // namespace

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kFailedPrecondition: return 412;
    case ErrorCode::kClockAhead: return 400;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDataLoss:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

HttpResponse ErrorReply(const Error& error) {
  v1::ErrorResponse body;
  body.set_code(ErrorCodeName(error.code));
  body.set_message(error.message);
  body.set_field(error.field);
  HttpResponse r = ProtoReply(body);
  r.status = HttpStatusFor(error.code);
  // A body too large is its own status, not a rate limit.
  if (error.code == ErrorCode::kResourceExhausted && error.field == "body") r.status = 413;
  if (error.field == "content-type") r.status = 415;
  return r;
}

Api::Api(CentralStore& store, ApiOptions options)
    : store_(store), options_(options), sync_(store, options.sync) {}

HttpResponse Api::Handle(const HttpRequest& request, int64_t now_ms) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/healthz") {
    if (request.method != "GET" && request.method != "HEAD") {
      HttpResponse r = ErrorReply(Error::InvalidArgument("use GET"));
      r.status = 405;
      return r;
    }
    return HttpResponse{.status = 200, .content_type = "text/plain", .body = "ok\n"};
  }
  if (path == "/v1/login" || path == "/v1/sync") {
    if (request.method != "POST") {
      HttpResponse r = ErrorReply(Error::InvalidArgument("use POST"));
      r.status = 405;
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    return path == "/v1/login" ? Login(request, now_ms) : Sync(request, now_ms);
  }
  HttpResponse r = ErrorReply(Error::NotFound("no such endpoint: " + path));
  return r;
}

HttpResponse Api::Login(const HttpRequest& request, int64_t now_ms) {
  v1::LoginRequest login;
  if (Status s = DecodeBody(request, options_.max_body_bytes, &login); !s.ok()) {
    return ErrorReply(s.error());
  }
  if (login.username().empty()) {
    return ErrorReply(Error::InvalidArgument("is required", "username"));
  }
  if (!IsUuid(login.device_id())) {
    return ErrorReply(Error::InvalidArgument("must be a UUID", "device_id"));
  }
  const Error wrong = Error::Unauthenticated("wrong username or password");
  Result<std::optional<UserRecord>> user = store_.FindUser(login.username());
  if (!user) return ErrorReply(user.error());
  if (!user->has_value()) {
    (void)VerifyPassword(login.password(), DummyHash());
    HttpResponse r = ErrorReply(wrong);
    r.user = login.username();
    return r;
  }
  UserRecord& u = **user;
  const bool window_open = now_ms - u.failure_window_start_ms < options_.failed_login_window_ms;
  if (window_open && u.failed_logins >= options_.max_failed_logins) {
    const int64_t wait_s = (u.failure_window_start_ms + options_.failed_login_window_ms - now_ms) / 1000;
    HttpResponse r = ErrorReply(Error::ResourceExhausted(
        "too many failed logins for " + u.username + "; try again in " +
        std::to_string(wait_s / 60 + 1) + " minutes"));
    r.headers.emplace_back("Retry-After", std::to_string(wait_s + 1));
    r.user = u.username;
    return r;
  }
  if (!VerifyPassword(login.password(), u.password_hash)) {
    const int failures = window_open ? u.failed_logins + 1 : 1;
    const int64_t window_start = window_open ? u.failure_window_start_ms : now_ms;
    if (Status s = store_.SetLoginFailures(u.username, failures, window_start); !s.ok()) {
      return ErrorReply(s.error());
    }
    HttpResponse r = ErrorReply(wrong);
    r.user = u.username;
    return r;
  }
  if (u.disabled) return ErrorReply(Error::PermissionDenied("the account " + u.username +
                                                            " is disabled"));
  if (u.failed_logins != 0) (void)store_.SetLoginFailures(u.username, 0, 0);

  Result<std::string> token = NewToken();
  if (!token) return ErrorReply(token.error());
  if (Status s = store_.IssueDeviceToken(login.device_id(), u.username, TokenHash(*token),
                                         now_ms + options_.token_lifetime_ms, now_ms);
      !s.ok()) {
    return ErrorReply(s.error());
  }
  v1::LoginResponse reply;
  reply.set_token(*token);
  reply.set_username(u.username);
  reply.set_role(std::string(RoleName(u.role)));
  reply.set_region(u.region);
  reply.set_server_clock(static_cast<uint64_t>(now_ms) << 16);
  HttpResponse r = ProtoReply(reply);
  r.user = u.username;
  r.device = login.device_id();
  return r;
}

Result<Principal> Api::Authenticate(const HttpRequest& request, int64_t now_ms) {
  constexpr std::string_view kBearer = "Bearer ";
  if (request.authorization.rfind(kBearer, 0) != 0) {
    return Error::Unauthenticated("a bearer token is required: log in first");
  }
  const std::string token = request.authorization.substr(kBearer.size());
  Result<std::optional<DeviceRecord>> device = store_.FindDeviceByTokenHash(TokenHash(token));
  if (!device) return device.error();
  if (!device->has_value()) return Error::Unauthenticated("the token is not valid: log in again");
  const DeviceRecord& d = **device;
  if (d.revoked_ms != 0) return Error::Unauthenticated("this device was revoked");
  if (d.token_expires_ms <= now_ms) return Error::Unauthenticated("the token expired: log in again");
  Result<std::optional<UserRecord>> user = store_.FindUser(d.username);
  if (!user) return user.error();
  if (!user->has_value() || (*user)->disabled) {
    return Error::PermissionDenied("the account " + d.username + " is disabled");
  }
  return Principal{.username = d.username,
                   .role = (*user)->role,
                   .region = (*user)->region,
                   .device_id = d.device_id};
}

HttpResponse Api::Sync(const HttpRequest& request, int64_t now_ms) {
  Result<Principal> who = Authenticate(request, now_ms);
  if (!who) return ErrorReply(who.error());
  v1::SyncRequest sync;
  if (Status s = DecodeBody(request, options_.max_body_bytes, &sync); !s.ok()) {
    HttpResponse r = ErrorReply(s.error());
    r.user = who->username;
    r.device = who->device_id;
    return r;
  }
  Result<v1::SyncResponse> reply = sync_.Sync(*who, sync, now_ms);
  HttpResponse r = reply ? ProtoReply(*reply) : ErrorReply(reply.error());
  r.user = who->username;
  r.device = who->device_id;
  return r;
}

}  // namespace vinculo::server
