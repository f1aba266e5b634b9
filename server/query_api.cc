// The supervisor endpoints of the HTTP API: parameters in, QueryService out, JSON/CSV/protobuf back.
#include <charconv>

#include <google/protobuf/util/json_util.h>

#include "server/api.h"
#include "server/reply_format.h"

namespace vinculo::server {
namespace {

std::string Param(const std::map<std::string, std::string>& query, const std::string& name) {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

// A whole-number parameter, `fallback` when absent; InvalidArgument naming it otherwise.
Result<uint32_t> NumberParam(const std::map<std::string, std::string>& query,
                             const std::string& name, uint32_t fallback) {
  const std::string text = Param(query, name);
  if (text.empty()) return fallback;
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Error::InvalidArgument("must be a whole number", name);
  }
  return value;
}

}  // namespace

std::optional<HttpResponse> Api::Query(const HttpRequest& request, const std::string& path,
                                       int64_t now_ms) {
  constexpr std::string_view kChildren = "/v1/children/";
  constexpr std::string_view kConflicts = "/v1/conflicts/";
  const bool is_query = path == "/v1/visits" || path == "/v1/caseload" || path == "/v1/overdue" ||
                        path == "/v1/outcomes" || path == "/v1/conflicts" || path == "/v1/audit" ||
                        path.rfind(kChildren, 0) == 0 || path.rfind(kConflicts, 0) == 0;
  if (!is_query) return std::nullopt;

  Result<std::map<std::string, std::string>> query = ParseQueryString(request.target);
  Result<Format> format =
      query ? ChooseFormat(*query, request.accept) : Result<Format>(query.error());
  const bool json_errors = !format || *format != Format::kProtobuf;
  auto fail = [&](const Error& e) { return ErrorReply(e, json_errors); };
  if (!query) return fail(query.error());
  if (!format) return fail(format.error());

  Result<Principal> who = Authenticate(request, now_ms);
  if (!who) return fail(who.error());
  auto reply = [&](const auto& result) {
    HttpResponse r = result ? MessageReply(*result, *format) : fail(result.error());
    r.user = who->username;
    r.device = who->device_id;
    return r;
  };
  const std::map<std::string, std::string>& q = *query;

  // POST /v1/conflicts/{id}/resolve
  if (path.rfind(kConflicts, 0) == 0) {
    std::string rest = path.substr(kConflicts.size());
    const std::string suffix = "/resolve";
    if (rest.size() <= suffix.size() || rest.compare(rest.size() - suffix.size(), suffix.size(),
                                                     suffix) != 0) {
      return fail(Error::NotFound("no such endpoint: " + path));
    }
    if (request.method != "POST") {
      HttpResponse r = fail(Error::InvalidArgument("use POST"));
      r.status = 405;
      return r;
    }
    rest.resize(rest.size() - suffix.size());
    int64_t id = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (ec != std::errc() || end != rest.data() + rest.size()) {
      return fail(Error::NotFound("no conflict " + rest));
    }
    std::string keep = Param(q, "keep");
    if (keep.empty() && !request.body.empty()) {
      v1::ResolveConflictRequest body;
      const bool ok = request.content_type.find("json") != std::string::npos
                          ? google::protobuf::util::JsonStringToMessage(request.body, &body).ok()
                          : body.ParseFromString(request.body);
      if (!ok) return fail(Error::InvalidArgument("is not a ResolveConflictRequest", "body"));
      keep = body.keep();
    }
    return reply(query_.Resolve(*who, id, keep, now_ms));
  }

  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = fail(Error::InvalidArgument("use GET"));
    r.status = 405;
    return r;
  }
  if (path.rfind(kChildren, 0) == 0) {
    return reply(query_.ChildRecord(*who, path.substr(kChildren.size()), now_ms));
  }
  if (path == "/v1/visits") {
    Result<uint32_t> limit = NumberParam(q, "limit", 500);
    if (!limit) return fail(limit.error());
    return reply(query_.Visits(*who, {.region = Param(q, "region"),
                                      .worker = Param(q, "worker"),
                                      .child_id = Param(q, "child"),
                                      .from = Param(q, "from"),
                                      .to = Param(q, "to"),
                                      .kind = Param(q, "kind"),
                                      .after = Param(q, "after"),
                                      .limit = *limit}));
  }
  if (path == "/v1/caseload") {
    return reply(
        query_.Caseload(*who, Param(q, "region"), Param(q, "from"), Param(q, "to"), now_ms));
  }
  if (path == "/v1/overdue") {
    Result<uint32_t> days = NumberParam(q, "days", 30);
    if (!days) return fail(days.error());
    Result<uint32_t> limit = NumberParam(q, "limit", 500);
    if (!limit) return fail(limit.error());
    return reply(query_.Overdue(*who,
                                {.region = Param(q, "region"),
                                 .as_of = Param(q, "as_of"),
                                 .days = *days,
                                 .after = Param(q, "after"),
                                 .limit = *limit},
                                now_ms));
  }
  if (path == "/v1/outcomes") {
    const std::string by = Param(q, "by");
    return reply(query_.Outcomes(*who, {.region = Param(q, "region"),
                                        .from = Param(q, "from"),
                                        .to = Param(q, "to"),
                                        .by = by.empty() ? "month" : by}));
  }
  if (path == "/v1/conflicts") return reply(query_.Conflicts(*who, Param(q, "status")));
  // /v1/audit
  Result<uint32_t> limit = NumberParam(q, "limit", 500);
  if (!limit) return fail(limit.error());
  return reply(query_.Audit(*who, Param(q, "after"), *limit));
}

}  // namespace vinculo::server
