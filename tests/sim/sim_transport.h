#pragma once
// The simulated network of the deterministic simulation (tests/sim/simulation.h): the real server
// (SqliteCentralStore behind server::Api) in this process, reached by each device through a
// SimTransport that converts client::HttpRequest to server::HttpRequest, calls Api::Handle at the
// simulated time, and converts the reply back — unless the seeded schedule injects a fault.
//
// Faults (Fault): a request dropped before the server saw it; a reply dropped after the server
// committed; a request delivered twice (the second reply returned); a request held back and
// delivered later, before or after later requests (its reply thrown away); a reply cut off so
// that it does not parse; the device "crashing" after the server committed (the reply is lost and
// the device's store is closed and reopened by the simulation); the server crashing after it
// committed (the reply is lost and the server's store is closed and reopened).
//
// Not thread-safe: one simulation runs on one thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client/transport.h"
#include "common/result.h"
#include "server/api.h"
#include "server/central_store.h"

namespace vinculo::sim {

enum class Fault {
  kDropRequest,        // the server never saw it
  kDropResponse,       // the server committed; the reply was lost
  kDuplicate,          // delivered twice; the device gets the second reply
  kDelay,              // held back, delivered later (its reply lost)
  kTruncate,           // the reply is cut short and does not parse
  kDeviceCrashInSync,  // the server committed, then the device crashed
  kServerCrashInSync,  // the server committed, then crashed before replying
  kCount
};
inline constexpr int kFaultKinds = static_cast<int>(Fault::kCount);
const char* FaultName(Fault fault);

// The real server: a SqliteCentralStore in `data_dir` and the Api over it. Crash() throws both
// away and reopens them from the directory, as a restarted process would.
class SimServer {
 public:
  static Result<std::unique_ptr<SimServer>> Open(const std::string& data_dir, bool create);

  server::CentralStore& store() { return *store_; }
  server::Api& api() { return *api_; }
  Status Crash();

 private:
  SimServer() = default;
  std::string data_dir_;
  std::unique_ptr<server::CentralStore> store_;
  std::unique_ptr<server::Api> api_;
};

server::HttpRequest ToServerRequest(const client::HttpRequest& request);
client::HttpResponse ToClientResponse(const server::HttpResponse& response);

// What the network does, set by the schedule before each step.
struct FaultPlan {
  double rate = 0;  // probability that an exchange gets a fault; 0: a healed network
  // Relative weights of the fault kinds (index: Fault).
  int weights[kFaultKinds] = {4, 5, 3, 3, 3, 2, 1};
};

// Watches every exchange the server answers, for the simulation's model of the truth.
//   `returned`: this reply is the one handed to the device (false: lost, superseded or held).
using ExchangeObserver = std::function<void(int device, const client::HttpRequest& request,
                                            const server::HttpResponse& reply, bool returned)>;

class Network {
 public:
  // `server` and the callbacks must outlive the network.
  Network(SimServer* server, std::function<int64_t()> now_ms, ExchangeObserver observer,
          std::function<void(const std::string&)> log);

  // The device's exchange: faults as planned, then the server's reply converted back.
  Result<client::HttpResponse> Exchange(int device, const client::HttpRequest& request);

  // The generator and plan for the next exchanges (the schedule's step owns the generator).
  void SetPlan(std::mt19937_64* rng, FaultPlan plan) {
    rng_ = rng;
    plan_ = plan;
  }

  // Delivers the held request at `index` (its reply is lost).
  void DeliverHeld(size_t index);
  void DeliverAllHeld();
  // Forgets the device's held requests (its connections died with it).
  void DropHeld(int device);
  size_t held() const { return held_.size(); }

  // A device "crashed" inside an exchange: it sends nothing until Revive.
  bool crashed(int device) const;
  void Revive(int device);
  // Set by a kTruncate fault: the device must now fail with DataLoss and apply nothing.
  bool TakeTruncated(int device);

  // Faults injected so far, by kind.
  uint64_t faults[kFaultKinds] = {};
  uint64_t held_delivered = 0;
  uint64_t truncations_that_parse = 0;  // cut points that still parsed (another was chosen)
  uint64_t exchanges = 0;
  std::string server_failure;  // set when the server could not reopen after a crash

  // Called before a truncated reply is handed to the device, so the simulation can snapshot it.
  std::function<void(int device)> before_truncated_reply;

 private:
  struct Held {
    int device;
    client::HttpRequest request;
  };
  server::HttpResponse Deliver(int device, const client::HttpRequest& request, bool returned);
  Fault PickFault(bool is_sync);

  SimServer* server_;
  std::function<int64_t()> now_ms_;
  ExchangeObserver observer_;
  std::function<void(const std::string&)> log_;
  std::mt19937_64* rng_ = nullptr;
  FaultPlan plan_;
  std::vector<Held> held_;
  std::vector<int> crashed_;
  std::vector<int> truncated_;
};

// One device's client::Transport: every Send is an exchange on the simulated network.
class SimTransport final : public client::Transport {
 public:
  SimTransport(Network* network, int device) : network_(network), device_(device) {}
  Result<client::HttpResponse> Send(const client::HttpRequest& request) override {
    return network_->Exchange(device_, request);
  }

 private:
  Network* network_;
  int device_;
};

}  // namespace vinculo::sim
