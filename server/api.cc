#include "server/api.h"

#include <memory>
#include <optional>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/json_util.h>

#include "common/gzip.h"
#include "common/zstd.h"
#include "common/validate.h"
#include "server/reply_format.h"
#include "server/web_assets.h"

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

// How many values a request body may hold before it is parsed. Parsing allocates per value —
// 100 bytes and more for an empty message that took 2 bytes on the wire — so without a count a
// 32 MiB body costs gigabytes before any limit is checked: 1.8 GB for one of empty mutations, 1 GB
// for a login (no token needed) of empty unknown fields.
struct BodyBudget {
  size_t max_values = 64;          // every field at every depth, unknown ones included
  int repeated_field = 0;          // a top-level field counted on its own (0: none) ...
  size_t max_repeats = 0;          // ... at most this many times
  std::string repeated_what;       // what it is, for the error: "mutations"
};

// Counts the values of a protobuf message on the wire against a BodyBudget. Packed scalars count a
// value per byte (at least one byte each). Malformed input just stops the count: the parser then
// refuses it.
class WireCounter {
 public:
  explicit WireCounter(const BodyBudget& budget) : budget_(budget) {}

  // Error when `body`, a serialized `type`, holds more than the budget allows.
  Status Check(const google::protobuf::Descriptor& type, std::string_view body) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(body.data()),
                                              static_cast<int>(body.size()));
    Walk(&type, in, 0);
    if (repeats_ > budget_.max_repeats) {
      return Error::ResourceExhausted("at most " + std::to_string(budget_.max_repeats) + " " +
                                      budget_.repeated_what + " per request");
    }
    if (values_ > budget_.max_values) {
      return Error{ErrorCode::kResourceExhausted,
                   "the body holds more than " + std::to_string(budget_.max_values) + " values",
                   "body"};
    }
    return Status::Ok();
  }

 private:
  // Walks fields until the end of the input (or of the current limit) or an end-group tag; false
  // to stop: malformed, too deep, or over the budget. `type` is null inside unknown groups.
  bool Walk(const google::protobuf::Descriptor* type, google::protobuf::io::CodedInputStream& in,
            int depth) {
    using google::protobuf::FieldDescriptor;
    if (depth > 100) return false;  // protobuf's own recursion limit
    for (uint32_t tag; (tag = in.ReadTag()) != 0;) {
      const int number = static_cast<int>(tag >> 3);
      if (depth == 0 && budget_.repeated_field != 0 && number == budget_.repeated_field &&
          ++repeats_ > budget_.max_repeats) {
        return false;
      }
      if (++values_ > budget_.max_values) return false;
      const FieldDescriptor* field = type == nullptr ? nullptr : type->FindFieldByNumber(number);
      uint64_t varint = 0;
      uint32_t length = 0;
      switch (tag & 7) {
        case 0:
          if (!in.ReadVarint64(&varint)) return false;
          break;
        case 1:
          if (!in.Skip(8)) return false;
          break;
        case 5:
          if (!in.Skip(4)) return false;
          break;
        case 2:
          if (!in.ReadVarint32(&length)) return false;
          if (field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE) {
            const auto outer = in.PushLimit(static_cast<int>(length));
            if (!Walk(field->message_type(), in, depth + 1)) return false;
            in.PopLimit(outer);
          } else {
            if (field != nullptr && field->is_packable()) values_ += length;
            if (values_ > budget_.max_values || !in.Skip(static_cast<int>(length))) return false;
          }
          break;
        case 3:  // a group: only unknown ones exist in proto3
          if (!Walk(nullptr, in, depth + 1)) return false;
          break;
        case 4:  // the end of the group being walked
          return true;
        default:
          return false;
      }
    }
    return true;
  }

  const BodyBudget& budget_;
  size_t values_ = 0;
  size_t repeats_ = 0;
};

// Counts the values of a JSON body against a BodyBudget: the structural characters outside
// strings ('{', '[' and ','), which bound the number of values the parser can make. JSON bodies
// are not counted per field. Protobuf's parser also takes 'single-quoted' strings, so a '"' inside
// one must not fool the count.
Status CheckJsonBudget(std::string_view body, const BodyBudget& budget) {
  size_t values = 1;
  char quote = 0;  // the quote of the string being read, 0 outside strings
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if ((c == '{' || c == '[' || c == ',') && ++values > budget.max_values) {
      return Error{ErrorCode::kResourceExhausted,
                   "the body holds more than " + std::to_string(budget.max_values) + " values",
                   "body"};
    }
  }
  return Status::Ok();
}

// The request body decoded into `message`: checks the content type, gunzips, checks the budget,
// parses. JSON (the proto3 mapping) is accepted too, for browsers.
Status DecodeBody(const HttpRequest& request, size_t max_bytes, const BodyBudget& budget,
                  google::protobuf::Message* message) {
  const std::string media = MediaType(request.content_type);
  if (media != kProtobuf && media != "application/json") {
    return Error{ErrorCode::kInvalidArgument,
                 "the body must be application/x-protobuf or application/json, not '" +
                     request.content_type + "'",
                 "content-type"};
  }
  std::string_view body = request.body;
  std::string inflated;
  if (request.content_encoding == "gzip" || request.content_encoding == "zstd") {
    Result<std::string> r = request.content_encoding == "gzip"
                                ? GzipDecompress(request.body, max_bytes)
                                : ZstdDecompress(request.body, max_bytes);
    if (!r) return r.error();
    inflated = std::move(r).value();
    body = inflated;
  } else if (!request.content_encoding.empty() && request.content_encoding != "identity") {
    return Error::InvalidArgument("unsupported content encoding " + request.content_encoding,
                                  "content-encoding");
  }
  if (media == "application/json") {
    VINCULO_RETURN_IF_ERROR(CheckJsonBudget(body, budget));
    if (!google::protobuf::util::JsonStringToMessage(std::string(body), message).ok()) {
      return Error::InvalidArgument("the body is not a valid JSON " + message->GetTypeName(),
                                    "body");
    }
    return Status::Ok();
  }
  VINCULO_RETURN_IF_ERROR(WireCounter(budget).Check(*message->GetDescriptor(), body));
  if (!message->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error::InvalidArgument("the body is not a valid " + message->GetTypeName(), "body");
  }
  return Status::Ok();
}

// JSON when the request was JSON, else protobuf.
HttpResponse ReplyLike(const HttpRequest& request, const google::protobuf::Message& message) {
  return MessageReply(message, MediaType(request.content_type) == "application/json"
                                   ? Format::kJson
                                   : Format::kProtobuf);
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

HttpResponse ErrorReply(const Error& error, bool json) {
  v1::ErrorResponse body;
  body.set_code(ErrorCodeName(error.code));
  body.set_message(error.message);
  body.set_field(error.field);
  HttpResponse r = MessageReply(body, json ? Format::kJson : Format::kProtobuf);
  r.status = HttpStatusFor(error.code);
  // A body too large is its own status, not a rate limit.
  if (error.code == ErrorCode::kResourceExhausted && error.field == "body") r.status = 413;
  if (error.field == "content-type") r.status = 415;
  return r;
}

Api::Api(CentralStore& store, ApiOptions options)
    : store_(store), options_(options), sync_(store, options.sync), query_(store) {}

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
  if (path == "/v1/logout") {
    // Voids the caller's token: a browser signing out, a device handed back.
    if (request.method != "POST") {
      HttpResponse r = ErrorReply(Error::InvalidArgument("use POST"), true);
      r.status = 405;
      return r;
    }
    Result<Principal> who = Authenticate(request, now_ms);
    if (!who) return ErrorReply(who.error(), true);
    if (Status s = store_.ClearDeviceToken(who->device_id); !s.ok()) {
      return ErrorReply(s.error(), true);
    }
    HttpResponse r{.status = 200, .content_type = "application/json; charset=utf-8", .body = "{}"};
    r.user = who->username;
    r.device = who->device_id;
    return r;
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
  if (std::optional<HttpResponse> r = Query(request, path, now_ms)) return *r;
  // The web dashboard: "/" and its files (web_assets.h).
  if (std::optional<HttpResponse> r = ServeWebAsset(request, path, request.if_none_match)) {
    return *r;
  }
  return ErrorReply(Error::NotFound("no such endpoint: " + path));
}

// A sync of more mutations than this commits in its own transaction rather than in a group. In a
// group each sync is a savepoint, and SQLite then copies every page the sync changes into the
// savepoint's in-memory journal and walks that journal from its head at the end of each insert:
// a cost that grows with the square of the sync's size (docs/performance.md, "2026-12-07"). A
// large sync has enough rows to pay for its own fsync; the group is for the many small ones.
constexpr int kMaxGroupedMutations = 100;

std::vector<HttpResponse> Api::HandleGroup(const std::vector<const HttpRequest*>& requests,
                                           int64_t now_ms) {
  std::vector<HttpResponse> out(requests.size());
  std::vector<size_t> syncs, others;
  for (size_t i = 0; i < requests.size(); ++i) {
    const HttpRequest& r = *requests[i];
    const bool sync = r.method == "POST" && r.target.substr(0, r.target.find('?')) == "/v1/sync";
    (sync ? syncs : others).push_back(i);
  }
  // Large syncs commit alone, small ones together (see kMaxGroupedMutations).
  std::vector<size_t> alone, grouped;
  for (size_t i : syncs) {
    const PreparedRequest* p = requests[i]->prepared.get();
    const bool large = p != nullptr && p->decoded.ok() &&
                       p->sync.mutations_size() > kMaxGroupedMutations;
    (large ? alone : grouped).push_back(i);
  }
  if (grouped.size() == 1) {  // a group of one would only add its savepoint
    alone.push_back(grouped.front());
    grouped.clear();
  }
  for (size_t i : alone) out[i] = Handle(*requests[i], now_ms);
  if (!grouped.empty()) {
    Result<std::unique_ptr<StoreGroup>> group = store_.BeginGroup();
    for (size_t i : grouped) {
      out[i] = group ? Handle(*requests[i], now_ms) : ErrorReply(group.error());
    }
    if (group) {
      if (Status committed = (*group)->Commit(); !committed.ok()) {
        const Error unkept = Error::Unavailable("the store could not commit (" +
                                                committed.error().message +
                                                "): nothing of this sync was kept; send it again");
        for (size_t i : grouped) {
          HttpResponse failed = ErrorReply(unkept);
          failed.user = std::move(out[i].user);
          failed.device = std::move(out[i].device);
          out[i] = std::move(failed);
        }
      }
    }
  }
  for (size_t i : others) out[i] = Handle(*requests[i], now_ms);
  return out;
}

HttpResponse Api::Login(const HttpRequest& request, int64_t now_ms) {
  const bool json = MediaType(request.content_type) == "application/json";
  auto ErrorReply = [json](const Error& error) { return server::ErrorReply(error, json); };
  v1::LoginRequest login;
  // A LoginRequest has three fields.
  if (Status s = DecodeBody(request, options_.max_body_bytes, BodyBudget{}, &login); !s.ok()) {
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
  Result<uint64_t> store_base =
      store_.IssueDeviceToken(login.device_id(), u.username, TokenHash(*token),
                              now_ms + options_.token_lifetime_ms, now_ms, login.store_id());
  if (!store_base) return ErrorReply(store_base.error());
  Result<std::optional<DeviceRecord>> device = store_.FindDeviceByTokenHash(TokenHash(*token));
  if (!device) return ErrorReply(device.error());
  v1::LoginResponse reply;
  reply.set_last_seq(device->has_value() ? (*device)->last_seq : 0);
  reply.set_store_base_seq(*store_base);
  reply.set_token(*token);
  reply.set_username(u.username);
  reply.set_role(std::string(RoleName(u.role)));
  reply.set_region(u.region);
  reply.set_server_clock(static_cast<uint64_t>(now_ms) << 16);
  HttpResponse r = ReplyLike(request, reply);
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
                   .device_id = d.device_id,
                   .remote = request.remote};
}

namespace {

// The decoded body of a POST /v1/sync. The largest mutation has about 200 values (a visit with
// 100 attendees and a base for every field); the mutations are counted before parsing too, for the
// same refusal SyncService gives.
PreparedRequest DecodeSync(const HttpRequest& request, const ApiOptions& options) {
  const BodyBudget budget{.max_values = size_t{options.sync.max_mutations} * 256 + 64,
                          .repeated_field = v1::SyncRequest::kMutationsFieldNumber,
                          .max_repeats = options.sync.max_mutations,
                          .repeated_what = "mutations"};
  PreparedRequest out;
  out.decoded = DecodeBody(request, options.max_body_bytes, budget, &out.sync);
  return out;
}

}  // namespace

void Api::Prepare(HttpRequest* request) const {
  if (request->method != "POST" ||
      request->target.substr(0, request->target.find('?')) != "/v1/sync") {
    return;
  }
  auto decoded = std::make_unique<PreparedRequest>(DecodeSync(*request, options_));
  const size_t held = decoded->sync.SpaceUsedLong();
  if (predecoded_bytes_->fetch_add(held) + held > options_.max_predecoded_bytes) {
    predecoded_bytes_->fetch_sub(held);
    return;  // decoded again on the store thread, after the token
  }
  request->prepared = std::shared_ptr<const PreparedRequest>(
      decoded.release(), [count = predecoded_bytes_, held](const PreparedRequest* p) {
        count->fetch_sub(held);
        delete p;
      });
}

HttpResponse Api::Sync(const HttpRequest& request, int64_t now_ms) {
  Result<Principal> who = Authenticate(request, now_ms);
  if (!who) return ErrorReply(who.error());
  // Decoded off the store thread by Prepare, or here.
  std::optional<PreparedRequest> decoded_here;
  if (!request.prepared) decoded_here = DecodeSync(request, options_);
  const PreparedRequest& prepared = request.prepared ? *request.prepared : *decoded_here;
  if (!prepared.decoded.ok()) {
    HttpResponse r = ErrorReply(prepared.decoded.error());
    r.user = who->username;
    r.device = who->device_id;
    return r;
  }
  const v1::SyncRequest& sync = prepared.sync;
  Result<v1::SyncResponse> reply = sync_.Sync(*who, sync, now_ms);
  HttpResponse r = reply ? ProtoReply(*reply) : ErrorReply(reply.error());
  r.user = who->username;
  r.device = who->device_id;
  return r;
}

}  // namespace vinculo::server
