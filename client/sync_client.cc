#include "client/sync_client.h"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "vinculo/v1/sync.pb.h"

namespace vinculo::client {
namespace {

// The media type of a Content-Type value: before any ';', without surrounding spaces, lowercased.
std::string MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  std::string out(type);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsProtobuf(std::string_view content_type) {
  return MediaType(content_type) == kProtobufContentType;
}

// At most 200 bytes of `text` fit for one line of a message: control characters become spaces.
std::string OneLine(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

HttpRequest ProtobufPost(const char* path, const google::protobuf::Message& message) {
  HttpRequest request;
  request.method = "POST";
  request.path = path;
  request.content_type = kProtobufContentType;
  request.body = message.SerializeAsString();
  return request;
}

// Parses the body of a 200 reply to `what` into `message`.
Status ParseReply(const HttpResponse& reply, std::string_view what,
                  google::protobuf::Message* message) {
  if (!IsProtobuf(reply.content_type)) {
    return Error::DataLoss("the " + std::string(what) + " reply is '" +
                           OneLine(reply.content_type) + "', not " + kProtobufContentType +
                           ": is the URL a Vínculo server?");
  }
  if (!message->ParseFromString(reply.body)) {
    return Error::DataLoss("the " + std::string(what) + " reply (" +
                           std::to_string(reply.body.size()) + " bytes) is not a valid " +
                           message->GetTypeName());
  }
  return Status::Ok();
}

// `error`, with a note when pages were applied before it, so that a person knows sync resumes.
Error AfterRounds(Error error, const SyncSummary& summary) {
  if (summary.rounds > 0) {
    error.message += " (" + std::to_string(summary.rounds) +
                     (summary.rounds == 1 ? " page was" : " pages were") +
                     " applied before this; sync again to go on from there)";
  }
  return error;
}

Error NoProgress(const v1::SyncRequest& request, const v1::SyncResponse& response) {
  const auto& sent = request.mutations();
  if (!sent.empty() && response.acked_seq() + 1 < sent[0].seq()) {
    return Error::FailedPrecondition(
        "sync made no progress: the server has this device's mutations only up to seq " +
        std::to_string(response.acked_seq()) + ", but the outbox starts at seq " +
        std::to_string(sent[0].seq()) +
        " and the ones between were acknowledged earlier and are no longer on this device (was "
        "the server restored from a backup?); stopping instead of looping");
  }
  return Error::FailedPrecondition("sync made no progress: the server acknowledged none of the " +
                                   std::to_string(sent.size()) + " mutations sent (acked_seq " +
                                   std::to_string(response.acked_seq()) +
                                   ") and sent no new changes; stopping instead of looping");
}

// The Retry-After of `reply` in ms when it is a number of seconds; nullopt otherwise (an HTTP date
// is not worth the parsing: the backoff stands in for it).
std::optional<int64_t> RetryAfterMs(const HttpResponse& reply) {
  const std::string_view text = reply.Header("Retry-After");
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || seconds < 0) {
    return std::nullopt;
  }
  return std::min<int64_t>(seconds, 24 * 3600) * 1000;
}

// Whether a failed exchange may succeed if sent again, and how long the server asked us to wait.
struct Transient {
  bool retry = false;
  std::optional<int64_t> retry_after_ms;
};

Transient IsTransient(const Result<HttpResponse>& reply) {
  if (!reply) return {.retry = reply.error().code == ErrorCode::kUnavailable};
  const int status = reply->status;
  if (status == 429) {
    std::optional<int64_t> after = RetryAfterMs(*reply);
    return {.retry = after.has_value(), .retry_after_ms = after};
  }
  if (status == 408 || (status >= 500 && status <= 599)) {
    return {.retry = true, .retry_after_ms = RetryAfterMs(*reply)};
  }
  return {};
}

double CsprngUnit() {
  uint64_t bits = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&bits), sizeof bits) != 1) return 0.5;
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// The wait before retry number `retry` (1-based) under `policy`.
int64_t BackoffMs(const RetryPolicy& policy, int retry, std::optional<int64_t> retry_after_ms) {
  const int64_t cap = std::max<int64_t>(policy.max_backoff_ms, 0);
  if (retry_after_ms) return std::min(*retry_after_ms, cap);
  int64_t ceiling = std::max<int64_t>(policy.initial_backoff_ms, 0);
  for (int i = 1; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  const double unit = policy.random ? policy.random() : CsprngUnit();
  return ceiling / 2 + static_cast<int64_t>(static_cast<double>(ceiling - ceiling / 2) *
                                            std::clamp(unit, 0.0, 1.0));
}

// Sends `request`, again after a wait while the failure is transient and retries remain. Returns
// the last reply or error; the caller interprets a non-200 status. `first`, when given, is the
// outcome of a first sending already made (Transport::SendAhead).
Result<HttpResponse> SendWithRetries(Transport& transport, const HttpRequest& request,
                                     const RetryPolicy& policy,
                                     std::optional<Result<HttpResponse>> first = std::nullopt) {
  for (int retry = 1;; ++retry) {
    Result<HttpResponse> reply = Error::Internal("not sent");
    if (first) {
      reply = std::move(*first);
      first.reset();
    } else {
      reply = transport.Send(request);
    }
    if (reply && reply->status == 200) return reply;
    const Transient transient = IsTransient(reply);
    if (!transient.retry || retry > policy.max_retries) return reply;
    const int64_t wait_ms = BackoffMs(policy, retry, transient.retry_after_ms);
    if (policy.on_retry) {
      policy.on_retry(retry, wait_ms,
                      reply ? ErrorFromHttpResponse(*reply, "sync") : reply.error());
    }
    if (policy.sleep) {
      policy.sleep(wait_ms);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
  }
}

// A sync request sent (Transport::SendAhead) before the reply it follows was applied.
struct SentAhead {
  v1::SyncRequest request;
  HttpRequest http;
};

// Whether the request after `request`'s reply can be built before that reply is applied, so that
// the next page travels (and the server builds it) while this one is written to the store. True
// when the server has more changes for us, this page moved the cursor, and the next request would
// carry no mutations: every
// mutation the outbox held when `request` was built was sent in it (fewer than a batch) and is
// acknowledged by `response`. That request is then only "since response.next_cursor()", which is
// exactly the cursor the store holds once the page is applied. A mutation written locally in the
// meantime goes in a later request, as the loop goes on while the outbox is not empty.
bool CanSendAhead(const v1::SyncRequest& request, const v1::SyncResponse& response,
                  const SyncOptions& options) {
  if (!response.has_more() || response.reset_required()) return false;
  // An echo that does not match stops the page below next_cursor: the cursor is known only once
  // the page is applied.
  if (response.echoes_size() > 0 || response.has_echo_page()) return false;
  // A page that did not move the cursor may be a server stuck in a loop: the loop stops on it.
  if (response.next_cursor() <= request.cursor()) return false;
  if (static_cast<size_t>(request.mutations_size()) >= options.push_batch) return false;
  return request.mutations().empty() ||
         response.acked_seq() >= request.mutations(request.mutations_size() - 1).seq();
}

}  // namespace

ErrorCode ErrorCodeForHttpStatus(int status) {
  switch (status) {
    case 400:
    case 405:
    case 413:
    case 415:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 408:
      return ErrorCode::kUnavailable;
    case 409:
      return ErrorCode::kAlreadyExists;
    case 412:
      return ErrorCode::kFailedPrecondition;
    case 429:
      return ErrorCode::kResourceExhausted;
    default:
      return status >= 500 && status <= 599 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  }
}

Error ErrorFromHttpResponse(const HttpResponse& response, std::string_view what) {
  Error error;
  error.code = ErrorCodeForHttpStatus(response.status);
  std::string detail;
  if (IsProtobuf(response.content_type)) {
    v1::ErrorResponse body;
    if (body.ParseFromString(response.body)) {
      detail = OneLine(body.message().empty() ? body.code() : body.message());
      error.field = body.field();
    }
  } else if (MediaType(response.content_type).rfind("text/", 0) == 0) {
    detail = OneLine(response.body);
  }
  error.message =
      std::string(what) + " failed: the server answered HTTP " + std::to_string(response.status);
  if (!detail.empty()) error.message += ": " + detail;
  if (const std::string_view retry = response.Header("Retry-After"); !retry.empty()) {
    error.message += " (retry after " + OneLine(retry) + " s)";
  }
  return error;
}

Result<LoginResult> Login(Transport& transport, LocalStore& store, const std::string& username,
                          const std::string& password, int64_t now_ms) {
  if (username.empty()) return Error::InvalidArgument("a username is required", "username");
  v1::LoginRequest request;
  request.set_username(username);
  request.set_password(password);
  request.set_device_id(store.device_id());
  request.set_store_id(store.store_id());
  Result<HttpResponse> reply = transport.Send(ProtobufPost(kLoginPath, request));
  if (!reply) return reply.error();
  if (reply->status != 200) return ErrorFromHttpResponse(*reply, "login");
  v1::LoginResponse response;
  VINCULO_RETURN_IF_ERROR(ParseReply(*reply, "login", &response));
  if (response.token().empty()) return Error::DataLoss("the server's login reply has no token");

  LoginResult result;
  result.username = response.username().empty() ? username : response.username();
  VINCULO_RETURN_IF_ERROR(store.SetCredentials(result.username, response.token()));
  // A wiped phone re-enrolled under its old id numbers its writes after what the server has seen.
  Result<uint64_t> renumbered = store.AdoptServerSeq(response.last_seq(), response.store_base_seq());
  if (!renumbered) return renumbered.error();
  result.role = response.role();
  result.region = response.region();
  result.server_clock = response.server_clock();
  if (result.server_clock != 0) {
    result.clock_offset_ms = static_cast<int64_t>(HlcMillis(result.server_clock)) - now_ms;
  }
  return result;
}

std::string SyncSummaryLine(const SyncSummary& summary) {
  return "pushed " + std::to_string(summary.pushed) + ", pulled " + std::to_string(summary.pulled) +
         ", rejected " + std::to_string(summary.rejected) + ", conflicts " +
         std::to_string(summary.conflicts);
}

Result<SyncSummary> Sync(Transport& transport, LocalStore& store, const SyncOptions& options,
                         const std::function<int64_t()>& now_ms) {
  if (options.push_batch == 0) {
    return Error::InvalidArgument("push_batch must be at least 1", "push_batch");
  }
  Result<std::string> token =
      options.token.empty() ? store.Token() : Result<std::string>(options.token);
  if (!token) return token.error();  // Unauthenticated before anything is sent
  const std::string authorization = "Bearer " + *token;

  auto post = [&](const v1::SyncRequest& request) {
    HttpRequest http = ProtobufPost(kSyncPath, request);
    http.headers.emplace_back("Authorization", authorization);
    return http;
  };
  auto device_clock = [&](HlcValue held) {
    return std::max<HlcValue>(held,
                              MakeHlc(static_cast<uint64_t>(std::max<int64_t>(now_ms(), 0)), 0));
  };

  SyncSummary summary;
  // The next round's request, when it was sent ahead; its reply waits in the transport.
  std::optional<SentAhead> ahead;
  bool recorded = false;  // the result line was committed with the last page
  for (;;) {
    v1::SyncRequest request;
    Result<HttpResponse> reply = Error::Internal("no reply");
    if (ahead) {
      request = std::move(ahead->request);
      reply = SendWithRetries(transport, ahead->http, options.retry, transport.ReceiveAhead());
      ahead.reset();
    } else {
      Result<LocalStore::SyncPosition> status = store.ReadSyncPosition();
      if (!status) return AfterRounds(status.error(), summary);
      Result<std::vector<v1::Mutation>> pending = store.Pending(options.push_batch);
      if (!pending) return AfterRounds(pending.error(), summary);
      request.set_device_id(store.device_id());
      request.mutable_mutations()->Reserve(static_cast<int>(pending->size()));
      for (v1::Mutation& m : *pending) *request.add_mutations() = std::move(m);
      request.set_cursor(status->cursor);
      request.set_held_through(status->held_through);
      request.set_limit(options.pull_limit);
      request.set_clock(device_clock(status->hlc));
      request.set_accepts_echoes(true);
      request.set_accepts_echo_pages(true);
      request.set_accepts_uniform_stamps(true);
      request.set_accepts_base_stamps(true);
      reply = SendWithRetries(transport, post(request), options.retry);
    }
    const uint64_t cursor_before = request.cursor();
    if (!reply) return AfterRounds(reply.error(), summary);
    if (reply->status != 200) {
      Error error = ErrorFromHttpResponse(*reply, "sync");
      if (reply->status == 429 && options.retry.max_retries > 0 && IsTransient(reply).retry) {
        error.code = ErrorCode::kUnavailable;  // still busy after every retry: try later
      }
      return AfterRounds(std::move(error), summary);
    }
    v1::SyncResponse response;
    if (Status parsed = ParseReply(*reply, "sync", &response); !parsed.ok()) {
      return AfterRounds(parsed.error(), summary);
    }
    if (CanSendAhead(request, response, options)) {
      // The server builds the next page while this one is written to the store.
      ahead.emplace();
      ahead->request.set_device_id(store.device_id());
      ahead->request.set_cursor(response.next_cursor());
      // Sent only when this page has more after it, which leaves held_through where it is.
      ahead->request.set_held_through(request.held_through());
      ahead->request.set_limit(options.pull_limit);
      ahead->request.set_accepts_uniform_stamps(true);
      ahead->request.set_accepts_base_stamps(true);
      ahead->request.set_clock(
          device_clock(std::max<HlcValue>(request.clock(), response.server_clock())));
      ahead->http = post(ahead->request);
      transport.SendAhead(ahead->http);
    }
    // The summary after a page; the last page records its line in the page's own transaction.
    auto add_page = [&response](SyncSummary total, const PullSummary& page) {
      ++total.rounds;
      total.pushed += page.acknowledged - std::min(page.rejected, page.acknowledged);
      total.pulled += page.changes + page.evictions;
      total.rejected += page.rejected;
      total.conflicts += response.conflicts();
      total.cursor = page.cursor;
      return total;
    };
    Result<PullSummary> applied = store.ApplySyncResponse(
        response, now_ms(),
        [&](const PullSummary& page) { return SyncSummaryLine(add_page(summary, page)); });
    if (!applied) return AfterRounds(applied.error(), summary);
    if (ahead && applied->cursor != ahead->request.cursor()) {
      // The page stopped short of next_cursor, so the request sent ahead asked from the wrong
      // place: applying its reply would skip what lies between. It is dropped unread (the next
      // exchange discards its reply) and the next round asks from the cursor applied.
      ahead.reset();
    }
    summary = add_page(summary, *applied);
    recorded = applied->result_recorded;
    if (options.on_progress) {
      options.on_progress(SyncProgress{.round = summary.rounds,
                                       .pushed = summary.pushed,
                                       .pulled = summary.pulled,
                                       .rejected = summary.rejected,
                                       .conflicts = summary.conflicts,
                                       .cursor = summary.cursor,
                                       .has_more = applied->more});
    }

    Result<std::vector<v1::Mutation>> left = store.Pending(1);
    if (!left) return AfterRounds(left.error(), summary);
    if (left->empty() && !applied->more) break;
    // A reset moves the cursor back to 0 on purpose: the next round pulls from the start.
    // So does a page that stopped to ask for the rest whole, once: the next request differs.
    const bool progressed = applied->acknowledged > 0 || applied->cursor > cursor_before ||
                            response.reset_required() ||
                            (applied->asks_whole && request.held_through() > 0);
    if (!progressed) return AfterRounds(NoProgress(request, response), summary);
  }

  if (recorded) return summary;
  if (Status s = store.RecordSyncResult(SyncSummaryLine(summary), now_ms()); !s.ok()) {
    Error error = s.error();
    error.message = "synced (" + SyncSummaryLine(summary) +
                    "), but the result could not be recorded: " + error.message;
    return error;
  }
  return summary;
}

}  // namespace vinculo::client
