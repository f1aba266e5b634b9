#include "tests/sim/sim_transport.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "client/sync_client.h"
#include "server/sqlite_central_store.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::sim {

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kDropRequest:
      return "drop_request";
    case Fault::kDropResponse:
      return "drop_response";
    case Fault::kDuplicate:
      return "duplicate";
    case Fault::kDelay:
      return "delay";
    case Fault::kTruncate:
      return "truncate";
    case Fault::kDeviceCrashInSync:
      return "device_crash_in_sync";
    case Fault::kServerCrashInSync:
      return "server_crash_in_sync";
    case Fault::kCount:
      break;
  }
  return "?";
}

Result<std::unique_ptr<SimServer>> SimServer::Open(const std::string& data_dir, bool create) {
  std::unique_ptr<SimServer> s(new SimServer());
  s->data_dir_ = data_dir;
  Result<std::unique_ptr<server::CentralStore>> store =
      server::OpenSqliteCentralStore(data_dir, create);
  if (!store) return store.error();
  s->store_ = std::move(store).value();
  s->api_ = std::make_unique<server::Api>(*s->store_, server::ApiOptions{});
  return s;
}

Status SimServer::Crash() {
  api_.reset();
  store_.reset();
  Result<std::unique_ptr<server::CentralStore>> store =
      server::OpenSqliteCentralStore(data_dir_, /*create=*/false);
  if (!store) return store.error();
  store_ = std::move(store).value();
  api_ = std::make_unique<server::Api>(*store_, server::ApiOptions{});
  return Status::Ok();
}

server::HttpRequest ToServerRequest(const client::HttpRequest& request) {
  server::HttpRequest out;
  out.method = request.method;
  out.target = request.path;
  out.content_type = request.content_type;
  out.body = request.body;
  out.remote = "sim";
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "authorization") out.authorization = value;
    if (lower == "content-encoding") out.content_encoding = value;
    if (lower == "accept-encoding") out.accept_encoding = value;
  }
  return out;
}

client::HttpResponse ToClientResponse(const server::HttpResponse& response) {
  client::HttpResponse out;
  out.status = response.status;
  out.content_type = response.content_type;
  out.body = response.body;
  out.headers = response.headers;
  if (!response.content_type.empty())
    out.headers.emplace_back("Content-Type", response.content_type);
  return out;
}

Network::Network(SimServer* server, std::function<int64_t()> now_ms, ExchangeObserver observer,
                 std::function<void(const std::string&)> log)
    : server_(server),
      now_ms_(std::move(now_ms)),
      observer_(std::move(observer)),
      log_(std::move(log)) {}

bool Network::crashed(int device) const {
  return std::find(crashed_.begin(), crashed_.end(), device) != crashed_.end();
}

void Network::Revive(int device) {
  crashed_.erase(std::remove(crashed_.begin(), crashed_.end(), device), crashed_.end());
}

bool Network::TakeTruncated(int device) {
  auto it = std::find(truncated_.begin(), truncated_.end(), device);
  if (it == truncated_.end()) return false;
  truncated_.erase(it);
  return true;
}

server::HttpResponse Network::Deliver(int device, const client::HttpRequest& request,
                                      bool returned) {
  server::HttpResponse reply = server_->api().Handle(ToServerRequest(request), now_ms_());
  observer_(device, request, reply, returned);
  return reply;
}

void Network::DeliverHeld(size_t index) {
  Held held = std::move(held_.at(index));
  held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(index));
  ++held_delivered;
  log_("  net: held request of d" + std::to_string(held.device) + " delivered late");
  (void)Deliver(held.device, held.request, /*returned=*/false);
}

void Network::DeliverAllHeld() {
  while (!held_.empty()) DeliverHeld(0);
}

void Network::DropHeld(int device) {
  held_.erase(std::remove_if(held_.begin(), held_.end(),
                             [device](const Held& h) { return h.device == device; }),
              held_.end());
}

Fault Network::PickFault(bool is_sync) {
  int total = 0;
  for (int k = 0; k < kFaultKinds; ++k) {
    const bool allowed = is_sync || (static_cast<Fault>(k) != Fault::kDelay &&
                                     static_cast<Fault>(k) != Fault::kTruncate);
    if (allowed) total += plan_.weights[k];
  }
  int pick = static_cast<int>((*rng_)() % static_cast<uint64_t>(std::max(total, 1)));
  for (int k = 0; k < kFaultKinds; ++k) {
    const bool allowed = is_sync || (static_cast<Fault>(k) != Fault::kDelay &&
                                     static_cast<Fault>(k) != Fault::kTruncate);
    if (!allowed) continue;
    if (pick < plan_.weights[k]) return static_cast<Fault>(k);
    pick -= plan_.weights[k];
  }
  return Fault::kDropRequest;
}

namespace {

bool Parses(const std::string& body, bool is_sync) {
  if (is_sync) {
    v1::SyncResponse r;
    return r.ParseFromString(body);
  }
  v1::LoginResponse r;
  return r.ParseFromString(body);
}

}  // namespace

Result<client::HttpResponse> Network::Exchange(int device, const client::HttpRequest& request) {
  ++exchanges;
  if (crashed(device)) return Error::Unavailable("sim: the device is down");
  const bool is_sync = request.path == client::kSyncPath;
  const bool faulty = rng_ != nullptr && plan_.rate > 0;

  // A request held earlier may arrive now, before this later one.
  if (faulty) {
    for (size_t i = 0; i < held_.size();) {
      if (held_[i].device == device && (*rng_)() % 2 == 0) {
        DeliverHeld(i);
      } else {
        ++i;
      }
    }
  }
  if (!faulty || std::uniform_real_distribution<double>(0, 1)(*rng_) >= plan_.rate) {
    return ToClientResponse(Deliver(device, request, /*returned=*/true));
  }
  const Fault fault = PickFault(is_sync);
  ++faults[static_cast<int>(fault)];
  log_(std::string("  net: fault ") + FaultName(fault) + " on " + request.path);
  switch (fault) {
    case Fault::kDropRequest:
      return Error::Unavailable("sim: request dropped");
    case Fault::kDropResponse:
      (void)Deliver(device, request, /*returned=*/false);
      return Error::Unavailable("sim: reply dropped");
    case Fault::kDuplicate:
      (void)Deliver(device, request, /*returned=*/false);
      return ToClientResponse(Deliver(device, request, /*returned=*/true));
    case Fault::kDelay:
      held_.push_back({device, request});
      return Error::Unavailable("sim: request delayed");
    case Fault::kTruncate: {
      server::HttpResponse reply = Deliver(device, request, /*returned=*/false);
      if (reply.status != 200 || reply.body.size() < 2) return ToClientResponse(reply);
      // A cut that lands between two fields of the message still parses (protobuf has no end
      // marker; the real transport relies on Content-Length): choose a cut inside a field.
      const size_t size = reply.body.size();
      const size_t start = 1 + (*rng_)() % (size - 1);
      std::optional<size_t> cut;
      for (size_t c = start; c >= 1 && !cut; --c) {
        if (!Parses(reply.body.substr(0, c), is_sync)) {
          cut = c;
        } else if (c == start) {
          ++truncations_that_parse;
        }
      }
      for (size_t c = start + 1; c < size && !cut; ++c) {
        if (!Parses(reply.body.substr(0, c), is_sync)) cut = c;
      }
      if (!cut) return Error::Unavailable("sim: reply dropped (no cut point fails to parse)");
      if (before_truncated_reply) before_truncated_reply(device);
      truncated_.push_back(device);
      reply.body.resize(*cut);
      return ToClientResponse(reply);
    }
    case Fault::kDeviceCrashInSync:
      (void)Deliver(device, request, /*returned=*/false);
      crashed_.push_back(device);
      return Error::Unavailable("sim: the device crashed after sending");
    case Fault::kServerCrashInSync: {
      (void)Deliver(device, request, /*returned=*/false);
      if (Status s = server_->Crash(); !s.ok()) {
        log_("  net: SERVER FAILED TO REOPEN: " + s.error().ToString());
        server_failure = s.error().ToString();
      }
      return Error::Unavailable("sim: the server crashed before replying");
    }
    case Fault::kCount:
      break;
  }
  return Error::Unavailable("sim: ?");
}

}  // namespace vinculo::sim
