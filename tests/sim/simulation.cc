#include "tests/sim/simulation.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "client/local_store.h"
#include "client/sync_client.h"
#include "common/echoes.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/state_digest.h"
#include "server/auth.h"
#include "tests/common/states.h"

namespace vinculo::sim {
namespace {

namespace fs = std::filesystem;
using client::LocalStore;
using server::Role;

constexpr int64_t kStartMs = 1'780'000'000'000;  // 2026-05-28, Unix ms
constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kMaxAheadMs = 5 * kMinute;  // server::SyncLimits::max_clock_ahead_ms
const char* const kRegions[] = {"Cusco", "Puno"};

// ---------------------------------------------------------------------------------------------
// Small helpers.

using Key = std::pair<int, std::string>;  // (record type, id): the order ExportAll uses

Key KeyOf(const v1::Record& record) { return {TypeOf(record), RecordId(record)}; }

std::string ShortId(const std::string& id) {
  return id.size() > 4 ? ".." + id.substr(id.size() - 4) : id;
}

std::string KeyName(const Key& key) {
  return std::string(RecordTypeName(static_cast<v1::RecordType>(key.first))) + " " + key.second;
}

std::string HlcText(HlcValue hlc) {
  return std::to_string(HlcMillis(hlc)) + "." + std::to_string(HlcCounter(hlc));
}

std::string StampText(const v1::Stamp& s) {
  if (IsZeroStamp(s)) return "zero";
  return "(" + HlcText(s.hlc()) + " " + ShortId(s.device()) + ")";
}

// `record` reduced to field `field` (and its kind), deterministic bytes: how two writes' values of
// one field compare.
std::string FieldBytes(const v1::Record& record, uint32_t field) {
  v1::Record projected = record;
  const v1::RecordType type = TypeOf(record);
  if (type == v1::RECORD_TYPE_UNSPECIFIED) return {};
  google::protobuf::Message* m = MutableRecordMessage(&projected, type);
  std::vector<const google::protobuf::FieldDescriptor*> set;
  m->GetReflection()->ListFields(*m, &set);
  for (const auto* f : set) {
    if (f->number() != static_cast<int>(field)) m->GetReflection()->ClearField(m, f);
  }
  return DeterministicBytes(projected);
}

std::string FieldText(const v1::Record& record, uint32_t field) {
  v1::Record projected;
  const v1::RecordType type = TypeOf(record);
  if (type == v1::RECORD_TYPE_UNSPECIFIED) return "?";
  projected.ParseFromString(FieldBytes(record, field));
  const std::string text = projected.ShortDebugString();
  return text.empty() ? "(cleared)" : text;
}

template <typename T>
const T& Pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[rng() % v.size()];
}

const char* PickText(std::mt19937_64& rng, std::initializer_list<const char*> options) {
  return options.begin()[rng() % options.size()];
}

bool OneIn(std::mt19937_64& rng, uint64_t n) { return rng() % n == 0; }

// ---------------------------------------------------------------------------------------------
// The schedule: devices and steps, all made from one seed.

struct DeviceSpec {
  std::string user;
  Role role = Role::kFieldWorker;
  std::string region;   // empty for the admin
  int64_t skew_ms = 0;  // the device's wall clock minus the true time
};

enum class StepKind {
  kEdit,
  kSync,
  kDeliverHeld,
  kCrashDevice,
  kCrashServer,
  kClock,
  kLogin,
  kWipe
};

struct Step {
  StepKind kind = StepKind::kEdit;
  int device = 0;
  uint64_t salt = 0;  // seeds this step's own generator
  int64_t dt_ms = 0;  // the true time that passes before the step
};

struct Config {
  std::vector<DeviceSpec> devices;
  std::vector<Step> steps;
};

// Most clocks are behind (days, hours) or close; a few ahead: within the server's 5 minutes, or
// beyond them (those devices see CLOCK_AHEAD rejections).
int64_t RandomSkew(std::mt19937_64& rng) {
  const uint64_t r = rng() % 20;
  if (r < 8)
    return -static_cast<int64_t>(1 + rng() % 3) * kDay - static_cast<int64_t>(rng() % kHour);
  if (r < 11) return -static_cast<int64_t>(rng() % (2 * kHour));
  if (r < 15) return static_cast<int64_t>(rng() % (4 * kMinute)) - 2 * kMinute;
  if (r < 18) return 2 * kMinute + static_cast<int64_t>(rng() % (170 * kSecond));
  if (r < 19) return 6 * kMinute + static_cast<int64_t>(rng() % (10 * kMinute));
  return kDay + static_cast<int64_t>(rng() % kDay);
}

Config MakeConfig(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Config c;
  c.devices.push_back(
      {"admin", Role::kAdmin, "", static_cast<int64_t>(rng() % (2 * kMinute)) - kMinute});
  const char* const names[2][3] = {{"ana", "beto", "elena"}, {"carla", "dario", "fabio"}};
  for (int r = 0; r < 2; ++r) {
    for (int k = 0; k < 2; ++k) {
      c.devices.push_back({names[r][k], Role::kFieldWorker, kRegions[r], RandomSkew(rng)});
    }
  }
  if (OneIn(rng, 3)) {
    const uint64_t r = rng() % 2;
    c.devices.push_back({names[r][2], Role::kFieldWorker, kRegions[r], RandomSkew(rng)});
  }
  if (OneIn(rng, 4)) {
    c.devices.push_back({"sofia", Role::kSupervisor, kRegions[rng() % 2], RandomSkew(rng)});
  }
  const size_t steps = 40 + rng() % 110;
  for (size_t i = 0; i < steps; ++i) {
    Step s;
    const uint64_t k = rng() % 100;
    s.kind = k < 52   ? StepKind::kEdit
             : k < 81 ? StepKind::kSync
             : k < 85 ? StepKind::kDeliverHeld
             : k < 91 ? StepKind::kCrashDevice
             : k < 93 ? StepKind::kCrashServer
             : k < 95 ? StepKind::kClock
             : k < 97 ? StepKind::kLogin
             : k < 98 ? StepKind::kWipe
                      : StepKind::kEdit;
    s.device = static_cast<int>(rng() % c.devices.size());
    s.salt = rng();
    s.dt_ms = OneIn(rng, 10) ? kHour * static_cast<int64_t>(1 + rng() % 10)
                             : static_cast<int64_t>(rng() % (90 * kSecond));
    c.steps.push_back(s);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// The simulation's account of the truth.

// One local write, as the simulation saw it made and as the server handled it.
struct WriteInfo {
  int device = 0;
  int generation = 0;  // the device's store it was made in (a wiped phone starts a new one)
  uint64_t seq = 0;
  Key key;
  std::string what;  // "create", "update [8 10]", "delete", "restore", "reassign"
  HlcValue hlc = 0;
  // The server's writes of this record that the author had seen when writing: a prefix of the
  // server's log of the record (besides the author's own earlier writes).
  size_t knew_prefix = 0;
  bool handled = false;  // the server applied or refused it (once)
  bool wiped = false;    // lost with its device's store before the server saw it
  bool applied = false;
  bool rejected = false;
  v1::RejectionCode code = v1::REJECTION_CODE_UNSPECIFIED;
  size_t log_pos = 0;     // its place in the server's log of the record, when applied
  v1::Mutation mutation;  // as the server received it
};

struct Dev {
  DeviceSpec spec;
  std::string id;
  std::string path;
  std::string label;  // "d2 beto@Cusco"
  std::unique_ptr<LocalStore> store;
  std::unique_ptr<SimTransport> transport;
  int generation = 0;             // stores this device has had (wiped and re-enrolled)
  bool needs_login = false;       // a login failed: its token may have been replaced
  uint64_t server_last_seq = 0;   // the highest of its seqs the server handled
  uint64_t committed_cursor = 0;  // the cursor of the last page the device committed
  std::map<Key, size_t> known;    // record → prefix of the server's log of it the device has seen
  std::vector<std::pair<Key, size_t>> pending_knowledge;  // from the reply just handed over
  std::map<uint64_t, v1::RejectionCode> rejected;         // seqs the server refused
  std::vector<std::string> snapshot;  // the store before a cut-off reply was handed over
};

struct ServerRecord {
  v1::RecordState state;
  std::string region;
  uint64_t server_seq = 0;
};

struct ServerView {
  std::map<Key, ServerRecord> records;
  std::map<std::string, std::vector<server::FeedEntry>> exits;  // by the region left
  uint64_t last_seq = 0;
};

std::atomic<uint64_t> g_dir_counter{0};

class World {
 public:
  World(uint64_t seed, size_t trace_lines, const SimOptions& options)
      : config_(MakeConfig(seed)), trace_lines_(trace_lines), options_(options) {}

  ~World() {
    for (Dev& d : devs_) d.store.reset();
    network_.reset();
    server_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
  }

  ScheduleResult Run(const std::optional<std::vector<size_t>>& only);

 private:
  void Log(const std::string& line) {
    if (trace_lines_ == 0) return;
    trace_.push_back(line);
    while (trace_.size() > trace_lines_) trace_.pop_front();
  }
  void Fail(const std::string& check, const std::string& message) {
    if (!check_.empty()) return;  // the first failure is the one that matters
    check_ = check;
    failure_ = message;
    Log("FAILED " + check + ": " + message);
  }
  bool failed() const { return !check_.empty(); }
  int64_t DeviceNow(int d) const { return now_ + devs_[d].spec.skew_ms; }
  std::string Prefix() const {
    return "#" + std::to_string(step_) + " t+" + std::to_string((now_ - kStartMs) / 1000) + "s ";
  }
  bool Sees(const Dev& dev, const std::string& region) const {
    return dev.spec.role == Role::kAdmin || dev.spec.region == region;
  }
  std::string DeviceIdOf(int d) const { return devs_[d].id; }

  bool Setup();
  void RunStep(const Step& step);
  void Edit(int d, std::mt19937_64& rng);
  void Wrote(int d, const Key& key, const std::string& what);
  void SyncStep(int d, std::mt19937_64& rng);
  bool SyncDevice(int d, client::SyncOptions options, bool reliable);
  void CrashDevice(int d, const std::string& why);
  bool Login(int d, bool reliable);
  void Wipe(int d);
  void CrashServer();
  void Quiesce();
  void FinalChecks();

  void OnExchange(int d, const client::HttpRequest& request, const server::HttpResponse& reply,
                  bool returned);
  void OnPage(int d, const client::SyncProgress& progress);

  // The server's records and scope exits, by region. `complete` also cross-checks the regions
  // against the whole feed (for the final checks). Cached until the server handles a request.
  const ServerView* ReadServer(bool complete = false);
  std::vector<std::string> Snapshot(int d);
  std::optional<std::map<Key, v1::RecordState>> DeviceRecords(int d);
  void CheckSame(int d, const ServerView& view, const std::string& check);
  bool Knew(const WriteInfo& later, const WriteInfo& earlier) const {
    if (later.device == earlier.device && later.generation == earlier.generation &&
        later.seq > earlier.seq) {
      return true;
    }
    return earlier.applied && earlier.log_pos < later.knew_prefix;
  }
  v1::Stamp StampOf(const WriteInfo& w) const { return MakeStamp(w.hlc, DeviceIdOf(w.device)); }

  Config config_;
  size_t trace_lines_;
  SimOptions options_;
  std::deque<std::string> trace_;
  std::string check_, failure_;
  std::string dir_;
  int64_t now_ = kStartMs;
  size_t step_ = 0;
  uint64_t step_salt_ = 0;
  uint64_t id_counter_ = 0;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<Network> network_;
  std::vector<Dev> devs_;
  std::vector<WriteInfo> writes_;
  uint64_t server_version_ = 0;  // bumped whenever the server may have changed
  std::optional<ServerView> cached_view_;
  uint64_t cached_version_ = 0;
  std::map<std::pair<int, uint64_t>, size_t> write_index_;  // (device, seq) → writes_
  std::map<Key, std::vector<size_t>> log_;  // the server's applied writes of each record, in order
  Totals totals_;
};

// ---------------------------------------------------------------------------------------------
// Set-up and the steps.

std::string DeviceId(int index) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "0190000d-0000-7000-8000-%012d", index + 1);
  return buffer;
}

bool World::Setup() {
  dir_ = TempRoot() + "/vinculo-sim-" + std::to_string(::getpid()) + "-" +
         std::to_string(g_dir_counter++);
  std::error_code ec;
  fs::remove_all(dir_, ec);
  fs::create_directories(dir_, ec);
  if (ec) {
    Fail("setup", "cannot create " + dir_ + ": " + ec.message());
    return false;
  }
  Result<std::unique_ptr<SimServer>> server = SimServer::Open(dir_ + "/server", /*create=*/true);
  if (!server) {
    Fail("setup", server.error().ToString());
    return false;
  }
  server_ = std::move(server).value();
  network_ = std::make_unique<Network>(
      server_.get(), [this] { return now_; },
      [this](int d, const client::HttpRequest& request, const server::HttpResponse& reply,
             bool returned) { OnExchange(d, request, reply, returned); },
      [this](const std::string& line) { Log(line); });
  network_->before_truncated_reply = [this](int d) { devs_[d].snapshot = Snapshot(d); };

  for (size_t i = 0; i < config_.devices.size(); ++i) {
    const DeviceSpec& spec = config_.devices[i];
    Result<std::string> hash = server::HashPassword("pw-" + spec.user, {.n = 16, .r = 1, .p = 1});
    if (!hash) {
      Fail("setup", hash.error().ToString());
      return false;
    }
    if (Status s = server_->store().AddUser({.username = spec.user,
                                             .password_hash = *hash,
                                             .role = spec.role,
                                             .region = spec.region,
                                             .created_ms = now_});
        !s.ok()) {
      Fail("setup", s.error().ToString());
      return false;
    }
  }
  devs_.resize(config_.devices.size());
  for (size_t i = 0; i < devs_.size(); ++i) {
    Dev& dev = devs_[i];
    const int d = static_cast<int>(i);
    dev.spec = config_.devices[i];
    dev.id = DeviceId(d);
    dev.path = dir_ + "/device-" + std::to_string(i) + ".db";
    dev.label = "d" + std::to_string(i) + " " + dev.spec.user + "@" +
                (dev.spec.region.empty() ? std::string("all") : dev.spec.region);
    Result<LocalStore> store = LocalStore::Create(
        dev.path,
        {.server_url = "https://sim.invalid", .ca_file = "sim-ca.pem", .device_id = dev.id},
        DeviceNow(d));
    if (!store) {
      Fail("setup", store.error().ToString());
      return false;
    }
    dev.store = std::make_unique<LocalStore>(std::move(store).value());
    dev.transport = std::make_unique<SimTransport>(network_.get(), d);
    if (!Login(d, /*reliable=*/true)) return false;
    Log("setup " + dev.label + " role " + std::string(server::RoleName(dev.spec.role)) + " skew " +
        std::to_string(dev.spec.skew_ms / 1000) + "s");
  }
  totals_.devices = devs_.size();
  return true;
}

ScheduleResult World::Run(const std::optional<std::vector<size_t>>& only) {
  ScheduleResult result;
  result.steps = config_.steps.size();
  if (Setup()) {
    for (size_t i = 0; i < config_.steps.size() && !failed(); ++i) {
      if (only && !std::binary_search(only->begin(), only->end(), i)) continue;
      step_ = i;
      RunStep(config_.steps[i]);
      ++totals_.steps;
      if (network_ && !network_->server_failure.empty()) {
        Fail("server_crash", "the server did not reopen: " + network_->server_failure);
      }
    }
    step_ = config_.steps.size();
    if (!failed()) Quiesce();
    if (!failed()) FinalChecks();
  }
  totals_.schedules = 1;
  if (network_) {
    for (int k = 0; k < kFaultKinds; ++k) totals_.faults[k] = network_->faults[k];
    totals_.held_delivered = network_->held_delivered;
    totals_.cuts_that_parse = network_->truncations_that_parse;
    totals_.server_crashes += network_->faults[static_cast<int>(Fault::kServerCrashInSync)];
  }
  totals_.failures = failed() ? 1 : 0;
  result.ok = !failed();
  result.check = check_;
  result.failure = failure_;
  result.trace.assign(trace_.begin(), trace_.end());
  result.totals = totals_;
  return result;
}

void World::RunStep(const Step& step) {
  now_ += step.dt_ms;
  step_salt_ = step.salt;
  std::mt19937_64 rng(step.salt);
  const int d = step.device;
  switch (step.kind) {
    case StepKind::kEdit:
      Edit(d, rng);
      break;
    case StepKind::kSync:
      SyncStep(d, rng);
      break;
    case StepKind::kDeliverHeld:
      if (network_->held() > 0) {
        Log(Prefix() + "network delivers a held request");
        network_->DeliverHeld(rng() % network_->held());
      }
      break;
    case StepKind::kCrashDevice:
      CrashDevice(d, "between commits");
      break;
    case StepKind::kCrashServer:
      CrashServer();
      break;
    case StepKind::kLogin: {
      FaultPlan plan;
      plan.rate = 0.4;
      network_->SetPlan(&rng, plan);
      Log(Prefix() + devs_[d].label + " logs in again");
      Login(d, /*reliable=*/false);
      network_->SetPlan(nullptr, {});
      break;
    }
    case StepKind::kWipe:
      Wipe(d);
      break;
    case StepKind::kClock: {
      Dev& dev = devs_[d];
      const int64_t before = dev.spec.skew_ms;
      dev.spec.skew_ms =
          before > kMaxAheadMs ? -static_cast<int64_t>(rng() % kHour) : RandomSkew(rng);
      Log(Prefix() + dev.label + " clock set: skew " + std::to_string(before / 1000) + "s -> " +
          std::to_string(dev.spec.skew_ms / 1000) + "s");
      break;
    }
  }
}

// ---- Offline edits.

// What the device holds, for choosing what to edit and what to refer to.
struct Holdings {
  std::vector<v1::Record> live[6], dead[6];
  std::vector<std::string> families;                            // live family ids
  std::map<std::string, std::vector<std::string>> contacts_of;  // child id → live contact ids
};

void SetValue(v1::Record* r, v1::RecordType type, uint32_t f, std::mt19937_64& rng,
              const Holdings& h) {
  auto family = [&]() -> std::string {
    return h.families.empty() || OneIn(rng, 3) ? std::string() : Pick(rng, h.families);
  };
  switch (type) {
    case v1::RECORD_TYPE_CHILD: {
      v1::Child* c = r->mutable_child();
      switch (f) {
        case 2:
          c->set_given_name(PickText(rng, {"Lucía", "Mateo", "Valeria", "Thiago"}));
          break;
        case 3:
          c->set_family_name(PickText(rng, {"Quispe Mamani", "Huamán Ccori", ""}));
          break;
        case 4:
          c->set_birth_date(PickText(rng, {"2013-04-02", "2016-11-30", "2012-02-29", ""}));
          break;
        case 5:
          c->set_sex(static_cast<v1::Sex>(rng() % 4));
          break;
        case 7:
          c->set_programme(PickText(rng, {"acogimiento familiar", "reintegración", ""}));
          break;
        case 8:
          c->set_assigned_worker(PickText(rng, {"ana", "beto", "carla", ""}));
          break;
        case 9:
          c->set_placement(static_cast<v1::Placement>(rng() % 7));
          break;
        case 10:
          c->set_status(static_cast<v1::CaseStatus>(rng() % 4));
          break;
        case 11:
          c->set_risk_level(static_cast<v1::RiskLevel>(rng() % 4));
          break;
        case 12:
          c->set_family_id(family());
          break;
        case 13:
          c->set_notes(PickText(rng, {"come bien", "va a la escuela", ""}));
          break;
      }
      break;
    }
    case v1::RECORD_TYPE_FAMILY: {
      v1::Family* m = r->mutable_family();
      switch (f) {
        case 2:
          m->set_name(PickText(rng, {"Familia Quispe", "Familia Huamán", ""}));
          break;
        case 4:
          m->set_address(PickText(rng, {"Jr. Los Pinos 214", "Av. Sol 12", ""}));
          break;
        case 5:
          m->set_notes(PickText(rng, {"abuela cuida", "sin agua", ""}));
          break;
      }
      break;
    }
    case v1::RECORD_TYPE_CONTACT: {
      v1::Contact* c = r->mutable_contact();
      switch (f) {
        case 2:
          c->set_family_id(family());
          break;
        case 4:
          c->set_given_name(PickText(rng, {"Rosa", "Carmen", "Juan"}));
          break;
        case 5:
          c->set_family_name(PickText(rng, {"Quispe", "Mamani", ""}));
          break;
        case 6:
          c->set_relationship(static_cast<v1::Relationship>(1 + rng() % 9));
          break;
        case 7:
          c->set_phone(PickText(rng, {"+51 984 112 233", "+51 966 480 120", ""}));
          break;
        case 8:
          c->set_address(PickText(rng, {"Jr. Los Pinos 214", ""}));
          break;
        case 9:
          c->set_consent_to_contact(OneIn(rng, 2));
          break;
        case 10:
          c->set_notes(PickText(rng, {"vive con su hija", "llamar de tarde", ""}));
          break;
      }
      break;
    }
    case v1::RECORD_TYPE_HOME_VISIT: {
      v1::HomeVisit* v = r->mutable_home_visit();
      switch (f) {
        case 3:
          v->set_family_id(family());
          break;
        case 4:
          v->set_worker(PickText(rng, {"ana", "beto", "carla", "dario"}));
          break;
        case 5:
          v->set_visited_at(PickText(rng, {"2026-05-20T10:00:00-05:00", "2026-05-21T15:30:00Z",
                                           "2026-05-22T09:15:00-05:00"}));
          break;
        case 6:
          v->set_kind(static_cast<v1::VisitKind>(1 + rng() % 5));
          break;
        case 7: {
          auto it = h.contacts_of.find(v->child_id());
          if (it != h.contacts_of.end()) {
            for (const std::string& c : it->second) {
              if (OneIn(rng, 2)) v->add_attendees(c);
            }
          }
          break;
        }
        case 8:
          v->set_observations(PickText(rng, {"la niña está bien", "falta comida", ""}));
          break;
        case 9:
          v->set_risk_assessment(static_cast<v1::RiskLevel>(rng() % 4));
          break;
        case 10:
          v->set_agreed_actions(PickText(rng, {"volver en 15 días", "llamar", ""}));
          break;
        case 11:
          v->set_next_visit_due(PickText(rng, {"2026-06-01", "2026-06-15", ""}));
          break;
        case 12:
        case 13:
          if (!OneIn(rng, 3)) {
            v->set_latitude(-13.5 - static_cast<double>(rng() % 3) / 10);
            v->set_longitude(-71.9 - static_cast<double>(rng() % 3) / 10);
          }
          break;
      }
      break;
    }
    case v1::RECORD_TYPE_PLACEMENT_CHANGE: {
      v1::PlacementChange* p = r->mutable_placement_change();
      switch (f) {
        case 3:
          p->set_from_placement(static_cast<v1::Placement>(rng() % 7));
          break;
        case 4:
          p->set_to_placement(static_cast<v1::Placement>(1 + rng() % 6));
          break;
        case 5:
          p->set_changed_on(PickText(rng, {"2026-05-01", "2026-05-15", "2026-04-30"}));
          break;
        case 6:
          p->set_reason(PickText(rng, {"retorno a la familia", "orden judicial", ""}));
          break;
      }
      break;
    }
    default:
      break;
  }
}

// Fields an update may write (never the id, the region, the child a record hangs from, or
// `deleted`); latitude stands for the pair 12 + 13.
std::vector<uint32_t> UpdatableFields(v1::RecordType type) {
  switch (type) {
    case v1::RECORD_TYPE_CHILD:
      return {2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13};
    case v1::RECORD_TYPE_FAMILY:
      return {2, 4, 5};
    case v1::RECORD_TYPE_CONTACT:
      return {2, 4, 5, 6, 7, 8, 9, 10};
    case v1::RECORD_TYPE_HOME_VISIT:
      return {3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    case v1::RECORD_TYPE_PLACEMENT_CHANGE:
      return {3, 4, 5, 6};
    default:
      return {};
  }
}

// Optional fields a new record may set besides the required ones.
std::vector<uint32_t> OptionalFields(v1::RecordType type) {
  switch (type) {
    case v1::RECORD_TYPE_CHILD:
      return {3, 4, 5, 7, 8, 9, 10, 11, 12, 13};
    case v1::RECORD_TYPE_FAMILY:
      return {2, 4, 5};
    case v1::RECORD_TYPE_CONTACT:
      return {2, 5, 7, 8, 9, 10};
    case v1::RECORD_TYPE_HOME_VISIT:
      return {3, 7, 8, 9, 10, 11, 12};
    case v1::RECORD_TYPE_PLACEMENT_CHANGE:
      return {3, 6};
    default:
      return {};
  }
}

void World::Edit(int d, std::mt19937_64& rng) {
  Dev& dev = devs_[d];
  Result<std::vector<v1::RecordState>> all = dev.store->ExportAll();
  if (!all) {
    Fail("device_store", dev.label + ": " + all.error().ToString());
    return;
  }
  Holdings h;
  for (const v1::RecordState& s : *all) {
    const int type = TypeOf(s.record());
    (IsDeleted(s.record()) ? h.dead : h.live)[type].push_back(s.record());
    if (IsDeleted(s.record())) continue;
    if (type == v1::RECORD_TYPE_FAMILY) h.families.push_back(RecordId(s.record()));
    if (type == v1::RECORD_TYPE_CONTACT) {
      h.contacts_of[s.record().contact().child_id()].push_back(RecordId(s.record()));
    }
  }
  size_t live = 0, dead = 0;
  for (int t = 1; t < 6; ++t) {
    live += h.live[t].size();
    dead += h.dead[t].size();
  }
  const bool admin = dev.spec.role == Role::kAdmin;
  const auto& children = h.live[v1::RECORD_TYPE_CHILD];
  enum Action {
    kChild,
    kFamily,
    kContact,
    kVisit,
    kPlacement,
    kUpdate,
    kDelete,
    kRestore,
    kReassign
  };
  const int weights[] = {
      children.size() < 2 ? 12 : 3,
      h.families.size() < 2 ? 5 : 1,
      children.empty() ? 0 : 6,
      children.empty() ? 0 : 8,
      children.empty() ? 0 : 3,
      live == 0 ? 0 : 34,
      live == 0 ? 0 : 5,
      dead == 0 ? 0 : 5,
      children.empty() ? 0 : (admin ? 10 : 1),
  };
  int total = 0;
  for (int w : weights) total += w;
  int pick = static_cast<int>(rng() % static_cast<uint64_t>(total));
  int action = 0;
  while (pick >= weights[action]) pick -= weights[action++];

  const int64_t now = DeviceNow(d);
  auto new_id = [&] {
    const uint64_t ms = static_cast<uint64_t>(now);
    const uint64_t n = ++id_counter_;
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%08llx-%04llx-7%03llx-%04llx-%012llx",
                  static_cast<unsigned long long>((ms >> 16) & 0xffffffffULL),
                  static_cast<unsigned long long>(ms & 0xffff),
                  static_cast<unsigned long long>(n & 0xfff),
                  static_cast<unsigned long long>(0x8000 | ((n >> 12) & 0x3fff)),
                  static_cast<unsigned long long>((static_cast<uint64_t>(d) << 40) | n));
    return std::string(buffer);
  };
  // Field workers (and the supervisor) write in their region; now and then one tries the other
  // one, which the server must refuse.
  auto region_for_new = [&]() -> std::string {
    if (admin) return kRegions[rng() % 2];
    if (OneIn(rng, 30)) return dev.spec.region == kRegions[0] ? kRegions[1] : kRegions[0];
    return dev.spec.region;
  };
  auto fill_optional = [&](v1::Record* r, v1::RecordType type) {
    for (uint32_t f : OptionalFields(type)) {
      if (OneIn(rng, 2)) SetValue(r, type, f, rng, h);
    }
  };

  if (action <= kPlacement) {
    v1::Record r;
    v1::RecordType type = v1::RECORD_TYPE_UNSPECIFIED;
    const std::string id = new_id();
    if (action == kChild) {
      type = v1::RECORD_TYPE_CHILD;
      r.mutable_child()->set_id(id);
      r.mutable_child()->set_region(region_for_new());
      SetValue(&r, type, 2, rng, h);
    } else if (action == kFamily) {
      type = v1::RECORD_TYPE_FAMILY;
      r.mutable_family()->set_id(id);
      r.mutable_family()->set_region(region_for_new());
    } else {
      const std::string child = RecordId(Pick(rng, children));
      if (action == kContact) {
        type = v1::RECORD_TYPE_CONTACT;
        r.mutable_contact()->set_id(id);
        r.mutable_contact()->set_child_id(child);
        SetValue(&r, type, 4, rng, h);
        SetValue(&r, type, 6, rng, h);
      } else if (action == kVisit) {
        type = v1::RECORD_TYPE_HOME_VISIT;
        r.mutable_home_visit()->set_id(id);
        r.mutable_home_visit()->set_child_id(child);
        for (uint32_t f : {4u, 5u, 6u}) SetValue(&r, type, f, rng, h);
      } else {
        type = v1::RECORD_TYPE_PLACEMENT_CHANGE;
        r.mutable_placement_change()->set_id(id);
        r.mutable_placement_change()->set_child_id(child);
        for (uint32_t f : {4u, 5u}) SetValue(&r, type, f, rng, h);
      }
    }
    fill_optional(&r, type);
    Result<std::string> added = dev.store->Add(r, now);
    if (!added) {
      ++totals_.local_refused;
      Log(Prefix() + dev.label + " create " + KeyName(KeyOf(r)) +
          " refused locally: " + added.error().ToString());
      return;
    }
    Wrote(d, KeyOf(r), "create");
    return;
  }

  if (action == kUpdate) {
    std::vector<int> types;
    for (int t = 1; t < 6; ++t) {
      if (!h.live[t].empty()) types.push_back(t);
    }
    const auto type = static_cast<v1::RecordType>(Pick(rng, types));
    const v1::Record& current = Pick(rng, h.live[type]);
    const std::vector<uint32_t> options = UpdatableFields(type);
    std::vector<uint32_t> fields;
    for (uint32_t f : options) {
      if (OneIn(rng, 4)) fields.push_back(f);
    }
    if (fields.empty()) fields.push_back(Pick(rng, options));
    if (std::find(fields.begin(), fields.end(), 12u) != fields.end()) fields.push_back(13);
    v1::Record values;
    MutableRecordMessage(&values, type);
    if (type == v1::RECORD_TYPE_HOME_VISIT) {
      values.mutable_home_visit()->set_child_id(current.home_visit().child_id());  // attendees
    }
    for (uint32_t f : fields) {
      if (f != 13) SetValue(&values, type, f, rng, h);
    }
    if (type == v1::RECORD_TYPE_HOME_VISIT) values.mutable_home_visit()->clear_child_id();
    std::string names;
    for (uint32_t f : fields) names += (names.empty() ? "" : " ") + std::to_string(f);
    Status s = dev.store->Update(type, RecordId(current), values, fields, now);
    if (!s.ok()) {
      ++totals_.local_refused;
      Log(Prefix() + dev.label + " update " + KeyName(KeyOf(current)) +
          " refused locally: " + s.error().ToString());
      return;
    }
    Wrote(d, KeyOf(current), "update [" + names + "]");
    return;
  }

  if (action == kReassign) {
    const v1::Record& child = Pick(rng, children);
    const std::string to = child.child().region() == kRegions[0] ? kRegions[1] : kRegions[0];
    v1::Record values;
    values.mutable_child()->set_region(to);
    Status s = dev.store->Update(v1::RECORD_TYPE_CHILD, RecordId(child), values, {6}, now);
    if (!s.ok()) {
      ++totals_.local_refused;
      Log(Prefix() + dev.label + " reassign refused locally: " + s.error().ToString());
      return;
    }
    ++totals_.reassignments;
    Wrote(d, KeyOf(child), "reassign to " + to);
    return;
  }

  // Delete or restore.
  const bool restore = action == kRestore;
  std::vector<int> types;
  for (int t = 1; t < 6; ++t) {
    if (!(restore ? h.dead : h.live)[t].empty()) types.push_back(t);
  }
  const auto type = static_cast<v1::RecordType>(Pick(rng, types));
  const v1::Record& target = Pick(rng, (restore ? h.dead : h.live)[type]);
  Status s = restore ? dev.store->Restore(type, RecordId(target), now)
                     : dev.store->Delete(type, RecordId(target), now);
  if (!s.ok()) {
    ++totals_.local_refused;
    Log(Prefix() + dev.label + (restore ? " restore" : " delete") +
        " refused locally: " + s.error().ToString());
    return;
  }
  ++(restore ? totals_.restores : totals_.deletes);
  Wrote(d, KeyOf(target), restore ? "restore" : "delete");
}

void World::Wrote(int d, const Key& key, const std::string& what) {
  Dev& dev = devs_[d];
  Result<client::DeviceStatus> status = dev.store->ReadStatus();
  if (!status) {
    Fail("device_store", dev.label + ": " + status.error().ToString());
    return;
  }
  WriteInfo w;
  w.device = d;
  w.generation = dev.generation;
  w.seq = status->next_seq - 1;
  w.key = key;
  w.what = what;
  w.hlc = status->hlc;
  auto known = dev.known.find(key);
  w.knew_prefix = known == dev.known.end() ? 0 : known->second;
  write_index_[{d, w.seq}] = writes_.size();
  writes_.push_back(w);
  ++totals_.writes;
  Log(Prefix() + dev.label + " " + what + " " + KeyName(key) + " seq " + std::to_string(w.seq) +
      " hlc " + HlcText(w.hlc));
}

// ---- Sync.

void World::SyncStep(int d, std::mt19937_64& rng) {
  FaultPlan plan;
  plan.rate = OneIn(rng, 4) ? 0.0 : 0.1 + 0.4 * std::uniform_real_distribution<double>(0, 1)(rng);
  network_->SetPlan(&rng, plan);
  if (devs_[d].needs_login && !Login(d, /*reliable=*/false)) {
    network_->SetPlan(nullptr, {});
    return;
  }
  client::SyncOptions options;
  options.push_batch = OneIn(rng, 3) ? 500 : 1 + rng() % 5;
  options.pull_limit =
      OneIn(rng, 3) ? (OneIn(rng, 4) ? 0 : 1000) : static_cast<uint32_t>(1 + rng() % 6);
  if (OneIn(rng, 4)) {
    options.retry.max_retries = static_cast<int>(1 + rng() % 3);
    options.retry.sleep = [this](int64_t ms) { now_ += ms; };
    options.retry.random = [] { return 0.5; };
  }
  Log(Prefix() + devs_[d].label + " sync (fault rate " +
      std::to_string(static_cast<int>(plan.rate * 100)) + "%, push " +
      std::to_string(options.push_batch) + ", pull " + std::to_string(options.pull_limit) +
      (options.retry.max_retries > 0 ? ", retries " + std::to_string(options.retry.max_retries)
                                     : std::string()) +
      ")");
  SyncDevice(d, std::move(options), /*reliable=*/false);
  network_->SetPlan(nullptr, {});
}

bool World::SyncDevice(int d, client::SyncOptions options, bool reliable) {
  Dev& dev = devs_[d];
  options.on_progress = [this, d](const client::SyncProgress& p) { OnPage(d, p); };
  ++totals_.syncs;
  dev.pending_knowledge.clear();
  Result<client::SyncSummary> r =
      client::Sync(*dev.transport, *dev.store, options, [this, d] { return DeviceNow(d); });
  const bool truncated = network_->TakeTruncated(d);
  Log("  " + dev.label + " sync -> " +
      (r ? client::SyncSummaryLine(*r) : "error: " + r.error().ToString()));
  if (!network_->server_failure.empty()) return false;
  if (truncated) {
    if (r || r.error().code != ErrorCode::kDataLoss) {
      Fail("truncated_reply", dev.label + ": a cut-off reply ended the sync with " +
                                  (r ? std::string("success") : r.error().ToString()) +
                                  ", not DataLoss");
      return false;
    }
    if (Snapshot(d) != dev.snapshot) {
      Fail("truncated_reply", dev.label + ": a cut-off reply changed the device's store");
      return false;
    }
  }
  if (network_->crashed(d)) {
    network_->Revive(d);
    CrashDevice(d, "inside a sync, after the server committed");
    if (failed()) return false;
  }
  Result<client::DeviceStatus> status = dev.store->ReadStatus();
  if (!status) {
    Fail("device_store", dev.label + ": " + status.error().ToString());
    return false;
  }
  if (status->cursor != dev.committed_cursor) {
    Fail("cursor", dev.label + ": the store's cursor is " + std::to_string(status->cursor) +
                       " but the last page it committed ended at " +
                       std::to_string(dev.committed_cursor));
    return false;
  }
  if (!r) {
    ++totals_.syncs_failed;
    const ErrorCode code = r.error().code;
    if (reliable ||
        (code != ErrorCode::kUnavailable && !(truncated && code == ErrorCode::kDataLoss))) {
      Fail("sync_error", dev.label + ": sync failed" +
                             (reliable ? " on a healed network: " : ": ") + r.error().ToString());
    }
    return false;
  }
  if (status->pending != 0) {
    Fail("sync_done", dev.label + ": sync succeeded with " + std::to_string(status->pending) +
                          " mutations still pending");
    return false;
  }
  // Right after a complete sync the device holds exactly the server's records in its scope.
  if (const ServerView* view = ReadServer()) CheckSame(d, *view, "convergence_after_sync");
  return !failed();
}

void World::OnExchange(int d, const client::HttpRequest& request, const server::HttpResponse& reply,
                       bool returned) {
  ++server_version_;
  if (request.path != client::kSyncPath) return;
  Dev& dev = devs_[d];
  if (reply.status == 401 && !returned) return;  // a stale request, sent before a new login
  if (reply.status != 200) {
    Fail("server_reply", dev.label + ": the server answered HTTP " + std::to_string(reply.status) +
                             " to a sync: " + reply.body.substr(0, 200));
    return;
  }
  v1::SyncRequest sent;
  v1::SyncResponse got;
  if (!sent.ParseFromString(request.body) || !got.ParseFromString(reply.body)) {
    Fail("server_reply", dev.label + ": a sync request or reply does not parse");
    return;
  }
  const uint64_t before = dev.server_last_seq;  // the server's last seq for the device, so far
  uint64_t highest_sent = 0;
  for (const v1::Mutation& m : sent.mutations()) highest_sent = std::max(highest_sent, m.seq());
  if (sent.mutations_size() > 0 && got.acked_seq() > highest_sent) {
    // The device drops its outbox up to acked_seq but hears rejections only for what it sent.
    Fail("acks", dev.label + ": acked_seq " + std::to_string(got.acked_seq()) +
                     " is beyond the highest seq sent, " + std::to_string(highest_sent));
    return;
  }
  std::map<uint64_t, v1::RejectionCode> refused;
  for (const v1::Rejection& r : got.rejections()) refused[r.seq()] = r.code();
  std::string applied_text, refused_text, retold_text;
  uint64_t handled = 0;
  for (const v1::Mutation& m : sent.mutations()) {
    if (m.seq() <= before && m.seq() <= got.acked_seq()) {
      // A resend of a settled seq: a rejection must be told again (the first reply may be lost).
      // (Not to a stale request delivered late: nobody reads that reply, and the server may have
      // forgotten rejections the device has since heard.)
      auto was = dev.rejected.find(m.seq());
      auto told = refused.find(m.seq());
      if (returned && was != dev.rejected.end() && told == refused.end()) {
        Fail("rejected", dev.label + ": seq " + std::to_string(m.seq()) + " was refused as " +
                             v1::RejectionCode_Name(was->second) +
                             "; resent, it was acknowledged without its rejection");
        return;
      }
      if (told != refused.end()) {
        if (was == dev.rejected.end() || was->second != told->second) {
          Fail("rejected", dev.label + ": a resend of seq " + std::to_string(m.seq()) +
                               " was told a rejection it never had");
          return;
        }
        retold_text += " " + std::to_string(m.seq());
      }
      continue;
    }
    if (m.seq() <= before || m.seq() > got.acked_seq()) continue;
    auto found = write_index_.find({d, m.seq()});
    if (found == write_index_.end()) {
      Fail("acks", dev.label + ": the server handled seq " + std::to_string(m.seq()) +
                       ", which the device never wrote");
      return;
    }
    WriteInfo& w = writes_[found->second];
    if (w.handled) {
      Fail("acks", dev.label + ": the server handled seq " + std::to_string(m.seq()) + " twice");
      return;
    }
    ++handled;
    w.handled = true;
    w.mutation = m;
    if (m.hlc() != w.hlc) {
      Fail("acks", dev.label + ": seq " + std::to_string(m.seq()) + " was sent with hlc " +
                       HlcText(m.hlc()) + " but written with " + HlcText(w.hlc));
      return;
    }
    const bool too_far_ahead = static_cast<int64_t>(HlcMillis(m.hlc())) > now_ + kMaxAheadMs;
    auto rejection = refused.find(m.seq());
    if (rejection != refused.end()) {
      w.rejected = true;
      w.code = rejection->second;
      dev.rejected[m.seq()] = rejection->second;
      ++totals_.rejections;
      if (w.code == v1::REJECTION_CODE_CLOCK_AHEAD) ++totals_.clock_ahead;
      if (w.code == v1::REJECTION_CODE_FORBIDDEN) ++totals_.forbidden;
      refused_text += " " + std::to_string(m.seq()) + ":" + v1::RejectionCode_Name(w.code);
      if (too_far_ahead != (w.code == v1::REJECTION_CODE_CLOCK_AHEAD)) {
        Fail("clock_ahead", dev.label + ": seq " + std::to_string(m.seq()) + " stamped " +
                                HlcText(m.hlc()) + " at server time " + std::to_string(now_) +
                                " was refused as " + v1::RejectionCode_Name(w.code));
        return;
      }
    } else {
      if (too_far_ahead) {
        Fail("clock_ahead", dev.label + ": seq " + std::to_string(m.seq()) + " stamped " +
                                HlcText(m.hlc()) + " more than 5 minutes ahead of server time " +
                                std::to_string(now_) + " was applied");
        return;
      }
      w.applied = true;
      std::vector<size_t>& log = log_[w.key];
      w.log_pos = log.size();
      log.push_back(found->second);
      applied_text += " " + std::to_string(m.seq());
    }
  }
  if (handled != (got.acked_seq() > before ? got.acked_seq() - before : 0)) {
    Fail("acks", dev.label + ": acked_seq moved from " + std::to_string(before) + " to " +
                     std::to_string(got.acked_seq()) + " but only " + std::to_string(handled) +
                     " of those mutations were in the request");
    return;
  }
  dev.server_last_seq = std::max(before, got.acked_seq());
  if (returned) {
    dev.pending_knowledge.clear();
    // The device learns what the page holds up to its first echo that does not match the state
    // the device holds (it stops the page there: LocalStore::ApplySyncResponse).
    uint64_t learned_below = UINT64_MAX;
    Result<std::vector<EchoEntry>> echoes = EchoesOf(got);
    if (!echoes) {
      Fail("echo", dev.label + ": " + echoes.error().message);
      return;
    }
    // What the device holds of each echoed record (nullopt: it holds nothing).
    std::vector<Key> keys;
    std::vector<std::optional<uint64_t>> held;
    for (const EchoEntry& e : *echoes) {
      auto write = write_index_.find({d, e.mutation_seq});
      if (write == write_index_.end()) {
        Fail("echo", dev.label + ": an echo names seq " + std::to_string(e.mutation_seq) +
                         ", which the device never wrote");
        return;
      }
      keys.push_back(writes_[write->second].key);
      Result<v1::RecordState> state =
          dev.store->Get(static_cast<v1::RecordType>(keys.back().first), keys.back().second, true);
      held.push_back(state ? std::optional<uint64_t>(StateDigest(*state)) : std::nullopt);
    }
    const size_t matched = MatchedEchoes(got, *echoes, held);
    for (size_t i = 0; i < matched; ++i) {
      dev.pending_knowledge.emplace_back(keys[i], log_[keys[i]].size());
    }
    totals_.echoes += matched;
    if (matched < echoes->size()) {
      learned_below = (*echoes)[matched].server_seq;
      ++totals_.echoes_missed;
    }
    for (const v1::Change& c : got.changes()) totals_.partials += c.partial() ? 1 : 0;
    for (const v1::Change& c : got.changes()) {
      if (c.server_seq() > learned_below) break;
      const Key key = KeyOf(c.state().record());
      dev.pending_knowledge.emplace_back(key, log_[key].size());
    }
    for (const v1::RecordState& s : got.rejected_records()) {
      const Key key = KeyOf(s.record());
      dev.pending_knowledge.emplace_back(key, log_[key].size());
    }
  }
  Log("  server <- " + dev.label + ": sent " + std::to_string(sent.mutations_size()) + " cursor " +
      std::to_string(sent.cursor()) + "; applied [" + applied_text + " ] refused [" + refused_text +
      " ]" + (retold_text.empty() ? "" : " retold [" + retold_text + " ]") + " acked " +
      std::to_string(got.acked_seq()) + ", " + std::to_string(got.changes_size()) + " changes " +
      std::to_string(got.evictions_size()) + " evictions " + std::to_string(got.echoes_size() + got.echo_page().server_seq_steps_size()) +
      " echoes -> cursor " +
      std::to_string(got.next_cursor()) + (got.has_more() ? " (more)" : "") +
      (got.conflicts() ? ", conflicts " + std::to_string(got.conflicts()) : "") +
      (returned ? "" : "  [reply lost]"));
}

void World::OnPage(int d, const client::SyncProgress& progress) {
  Dev& dev = devs_[d];
  ++totals_.pages;
  if (progress.cursor < dev.committed_cursor) {
    Fail("cursor", dev.label + ": the cursor moved back from " +
                       std::to_string(dev.committed_cursor) + " to " +
                       std::to_string(progress.cursor));
    return;
  }
  dev.committed_cursor = progress.cursor;
  for (const auto& [key, n] : dev.pending_knowledge) {
    size_t& known = dev.known[key];
    known = std::max(known, n);
  }
  dev.pending_knowledge.clear();

  // The cursor never passes what the device applied: every record in its scope whose latest
  // change is at or below the cursor is on the device with at least the server's stamps, and
  // every record that left its scope at or below the cursor (and has not come back) is gone.
  // (Not after the last page of a sync: SyncDevice then checks for equality, which is stronger.)
  Result<std::vector<v1::Mutation>> pending = dev.store->Pending(1);
  if (!progress.has_more && pending && pending->empty()) return;
  const ServerView* view = ReadServer();
  if (view == nullptr) return;
  if (progress.cursor > view->last_seq) {
    Fail("cursor", dev.label + ": cursor " + std::to_string(progress.cursor) +
                       " is beyond the server's last change " + std::to_string(view->last_seq));
    return;
  }
  std::optional<std::map<Key, v1::RecordState>> mine = DeviceRecords(d);
  if (!mine) return;
  for (const auto& [key, rec] : view->records) {
    if (!Sees(dev, rec.region) || rec.server_seq > progress.cursor) continue;
    auto it = mine->find(key);
    if (it == mine->end()) {
      Fail("cursor", dev.label + ": cursor " + std::to_string(progress.cursor) + " passed " +
                         KeyName(key) + " (server_seq " + std::to_string(rec.server_seq) +
                         "), which the device does not hold");
      return;
    }
    for (const v1::FieldStamp& fs : rec.state.stamps()) {
      if (StampLess(FieldStampOf(it->second, fs.field()), fs.stamp())) {
        Fail("cursor", dev.label + ": cursor " + std::to_string(progress.cursor) + " passed " +
                           KeyName(key) + " (server_seq " + std::to_string(rec.server_seq) +
                           ") but field " + std::to_string(fs.field()) + " is at " +
                           StampText(FieldStampOf(it->second, fs.field())) + " < server " +
                           StampText(fs.stamp()));
        return;
      }
    }
  }
  if (dev.spec.role == Role::kAdmin) return;
  // A record's latest exit from the region, when it is not in the region now, means it has been
  // outside since (had it come back and left again, there would be a later exit).
  std::map<Key, uint64_t> latest_exit;
  if (auto exits = view->exits.find(dev.spec.region); exits != view->exits.end()) {
    for (const server::FeedEntry& e : exits->second) {
      uint64_t& seq = latest_exit[{e.evicted_type, e.evicted_id}];
      seq = std::max(seq, e.server_seq);
    }
  }
  for (const auto& [key, seq] : latest_exit) {
    if (seq > progress.cursor) continue;
    auto rec = view->records.find(key);
    if (rec != view->records.end() && Sees(dev, rec->second.region)) continue;  // came back
    if (mine->count(key)) {
      Fail("scope", dev.label + ": cursor " + std::to_string(progress.cursor) +
                        " passed the exit of " + KeyName(key) + " from " + dev.spec.region +
                        " (server_seq " + std::to_string(seq) + ") but the device still holds it");
      return;
    }
  }
}

// ---- Crashes.

std::vector<std::string> World::Snapshot(int d) {
  Dev& dev = devs_[d];
  std::vector<std::string> out;
  Result<std::vector<v1::RecordState>> all = dev.store->ExportAll();
  Result<client::DeviceStatus> st = dev.store->ReadStatus();
  Result<std::vector<client::RejectedMutation>> rejected = dev.store->Rejected();
  Result<std::vector<v1::Mutation>> pending = dev.store->Pending(1 << 20);
  if (!all || !st || !rejected || !pending) return {"unreadable"};
  for (const v1::RecordState& s : *all) out.push_back(DeterministicBytes(s));
  out.push_back("cursor " + std::to_string(st->cursor) + " acked " + std::to_string(st->acked_seq) +
                " next " + std::to_string(st->next_seq) + " hlc " + std::to_string(st->hlc));
  for (const client::RejectedMutation& r : *rejected)
    out.push_back("rejected " + DeterministicBytes(r.mutation));
  for (const v1::Mutation& m : *pending) out.push_back("pending " + DeterministicBytes(m));
  return out;
}

void World::CrashDevice(int d, const std::string& why) {
  Dev& dev = devs_[d];
  const std::vector<std::string> before = Snapshot(d);
  dev.store.reset();
  Result<LocalStore> reopened = LocalStore::Open(dev.path);
  if (!reopened) {
    Fail("device_crash", dev.label + ": the store does not reopen: " + reopened.error().ToString());
    return;
  }
  dev.store = std::make_unique<LocalStore>(std::move(reopened).value());
  ++totals_.device_crashes;
  Log(Prefix() + dev.label + " crashed " + why + "; store reopened");
  if (Snapshot(d) != before) {
    Fail("device_crash", dev.label + ": the reopened store differs from what was committed");
    return;
  }
  Result<client::DeviceStatus> status = dev.store->ReadStatus();
  if (status && status->cursor != dev.committed_cursor) {
    Fail("cursor", dev.label + ": after a crash the cursor is " + std::to_string(status->cursor) +
                       " but the last page committed ended at " +
                       std::to_string(dev.committed_cursor));
  }
}

// client::Login over the network as planned. A failed login may have replaced the device's token
// on the server (the reply was lost after the server issued a new one): the device logs in again
// before its next sync.
bool World::Login(int d, bool reliable) {
  Dev& dev = devs_[d];
  Result<client::LoginResult> login =
      client::Login(*dev.transport, *dev.store, dev.spec.user, "pw-" + dev.spec.user, DeviceNow(d));
  if (network_->crashed(d)) {
    network_->Revive(d);
    CrashDevice(d, "while logging in");
  }
  if (!login) {
    if (reliable || login.error().code != ErrorCode::kUnavailable) {
      Fail("login", dev.label + " cannot log in: " + login.error().ToString());
    }
    Log("  " + dev.label + " login -> error: " + login.error().ToString());
    dev.needs_login = true;
    return false;
  }
  dev.needs_login = false;
  // Login may renumber the pending mutations of a new store (LocalStore::AdoptServerSeq): follow
  // them by their stamps.
  Result<std::vector<v1::Mutation>> pending = dev.store->Pending(size_t{1} << 20);
  if (!pending) {
    Fail("device_store", dev.label + ": " + pending.error().ToString());
    return false;
  }
  std::map<HlcValue, uint64_t> seq_of;
  for (const v1::Mutation& m : *pending) seq_of[m.hlc()] = m.seq();
  std::vector<size_t> moved;
  for (auto it = write_index_.begin(); it != write_index_.end();) {
    WriteInfo& w = writes_[it->second];
    auto now_seq = seq_of.find(w.hlc);
    if (it->first.first == d && !w.handled && now_seq != seq_of.end() && now_seq->second != w.seq) {
      Log("  " + dev.label + " login renumbered seq " + std::to_string(w.seq) + " -> " +
          std::to_string(now_seq->second));
      w.seq = now_seq->second;
      moved.push_back(it->second);
      it = write_index_.erase(it);
    } else {
      ++it;
    }
  }
  for (size_t index : moved) write_index_[{d, writes_[index].seq}] = index;
  return true;
}

// The phone is wiped and the app reinstalled under the same device id: a new, empty store (what
// was never pushed is lost with the old one, and so are requests in flight), logged in again.
void World::Wipe(int d) {
  Dev& dev = devs_[d];
  Log(Prefix() + dev.label + " is wiped and re-enrolled under the same device id");
  network_->DropHeld(d);
  // The old store's seqs will never be sent again: the new store numbers its own.
  for (auto it = write_index_.begin(); it != write_index_.end();) {
    WriteInfo& w = writes_[it->second];
    if (it->first.first == d) {
      if (!w.handled) w.wiped = true;
      it = write_index_.erase(it);
    } else {
      ++it;
    }
  }
  dev.store.reset();
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(dev.path + suffix, ignored);
  Result<LocalStore> store = LocalStore::Create(
      dev.path, {.server_url = "https://sim.invalid", .ca_file = "sim-ca.pem", .device_id = dev.id},
      DeviceNow(d));
  if (!store) {
    Fail("wipe", dev.label + ": " + store.error().ToString());
    return;
  }
  dev.store = std::make_unique<LocalStore>(std::move(store).value());
  ++dev.generation;
  dev.committed_cursor = 0;
  dev.known.clear();
  dev.pending_knowledge.clear();
  dev.rejected.clear();
  // Half the time the worker starts writing again before logging in.
  if (options_.write_before_login_after_wipe && step_salt_ % 2 == 0) {
    dev.needs_login = true;
    return;
  }
  network_->SetPlan(nullptr, {});
  Login(d, /*reliable=*/true);
}

std::string ViewBytes(const ServerView& view) {
  std::string out;
  for (const auto& [key, rec] : view.records) {
    out += DeterministicBytes(rec.state) + rec.region + std::to_string(rec.server_seq);
  }
  return out + std::to_string(view.last_seq);
}

void World::CrashServer() {
  const ServerView* before_view = ReadServer();
  if (before_view == nullptr) return;
  const std::string before = ViewBytes(*before_view);
  if (Status s = server_->Crash(); !s.ok()) {
    Fail("server_crash", "the server store does not reopen: " + s.error().ToString());
    return;
  }
  ++server_version_;
  ++totals_.server_crashes;
  Log(Prefix() + "server crashed; store reopened");
  const ServerView* after = ReadServer();
  if (after && ViewBytes(*after) != before) {
    Fail("server_crash", "the reopened server store differs from what was committed");
  }
}

// ---- Reading the two sides.

const ServerView* World::ReadServer(bool complete) {
  if (!complete && cached_view_ && cached_version_ == server_version_) return &*cached_view_;
  Result<std::unique_ptr<server::StoreTransaction>> txn = server_->store().Begin();
  if (!txn) {
    Fail("server_read", txn.error().ToString());
    return nullptr;
  }
  constexpr size_t kAll = size_t{1} << 30;
  ServerView view;
  for (const char* region : kRegions) {
    Result<std::vector<server::FeedEntry>> feed =
        (*txn)->Feed(0, {.all_regions = false, .region = region}, kAll);
    if (!feed) {
      Fail("server_read", feed.error().ToString());
      return nullptr;
    }
    for (server::FeedEntry& e : *feed) {
      if (e.state) {
        v1::RecordState state;
        if (!state.ParseFromString(*e.state)) {
          Fail("server_read", "the state at server_seq " + std::to_string(e.server_seq) +
                                  " does not decode");
          return nullptr;
        }
        const Key key = KeyOf(state.record());
        view.records[key] = {std::move(state), region, e.server_seq};
      } else {
        view.exits[region].push_back(std::move(e));
      }
    }
  }
  if (complete) {
    Result<std::vector<server::FeedEntry>> everything =
        (*txn)->Feed(0, {.all_regions = true}, kAll);
    if (!everything) {
      Fail("server_read", everything.error().ToString());
      return nullptr;
    }
    for (const server::FeedEntry& e : *everything) {
      v1::RecordState state;
      if (e.state &&
          (!state.ParseFromString(*e.state) || !view.records.count(KeyOf(state.record())))) {
        Fail("scope", KeyName(KeyOf(state.record())) + " is on the server in no known region");
        return nullptr;
      }
    }
    if (everything->size() != view.records.size()) {
      Fail("server_read", "the server's feed has " + std::to_string(everything->size()) +
                              " records but its regions " + std::to_string(view.records.size()));
      return nullptr;
    }
  }
  Result<uint64_t> last = (*txn)->LastServerSeq();
  if (!last) {
    Fail("server_read", last.error().ToString());
    return nullptr;
  }
  view.last_seq = *last;
  cached_view_ = std::move(view);
  cached_version_ = server_version_;
  return &*cached_view_;
}

std::optional<std::map<Key, v1::RecordState>> World::DeviceRecords(int d) {
  Result<std::vector<v1::RecordState>> all = devs_[d].store->ExportAll();
  if (!all) {
    Fail("device_store", devs_[d].label + ": " + all.error().ToString());
    return std::nullopt;
  }
  std::map<Key, v1::RecordState> out;
  for (v1::RecordState& s : *all) {
    const Key key = KeyOf(s.record());
    out.emplace(key, std::move(s));
  }
  return out;
}

void World::CheckSame(int d, const ServerView& view, const std::string& check) {
  const Dev& dev = devs_[d];
  Result<std::vector<v1::RecordState>> all = dev.store->ExportAll();
  if (!all) {
    Fail("device_store", dev.label + ": " + all.error().ToString());
    return;
  }
  // ExportAll's order is (type, id), the order of the view's map.
  auto server_it = view.records.begin();
  auto next_in_scope = [&] {
    while (server_it != view.records.end() && !Sees(dev, server_it->second.region)) ++server_it;
  };
  next_in_scope();
  for (const v1::RecordState& mine : *all) {
    const Key key = KeyOf(mine.record());
    if (server_it == view.records.end() || key < server_it->first) {
      auto elsewhere = view.records.find(key);
      Fail(elsewhere != view.records.end() ? "scope" : check,
           dev.label + " holds " + KeyName(key) +
               (elsewhere != view.records.end()
                    ? ", which the server keeps in " + elsewhere->second.region +
                          ", out of its scope"
                    : ", which the server does not have: " + mine.ShortDebugString()));
      return;
    }
    if (server_it->first < key) {
      Fail(check, dev.label + " lacks " + KeyName(server_it->first) + " (server_seq " +
                      std::to_string(server_it->second.server_seq) +
                      "): " + server_it->second.state.ShortDebugString());
      return;
    }
    if (DeterministicBytes(mine) != DeterministicBytes(server_it->second.state)) {
      Fail(check, dev.label + " differs from the server on " + KeyName(key) +
                      "\n    device: " + mine.ShortDebugString() +
                      "\n    server: " + server_it->second.state.ShortDebugString());
      return;
    }
    ++server_it;
    next_in_scope();
  }
  if (server_it != view.records.end()) {
    Fail(check, dev.label + " lacks " + KeyName(server_it->first) + " (server_seq " +
                    std::to_string(server_it->second.server_seq) +
                    "): " + server_it->second.state.ShortDebugString());
  }
}

// ---- Quiescence and the checks.

void World::Quiesce() {
  Log(Prefix() + "quiescence: the network heals, held requests arrive, every device syncs twice");
  network_->SetPlan(nullptr, {});
  network_->DeliverAllHeld();
  for (int round = 0; round < 2 && !failed(); ++round) {
    for (size_t d = 0; d < devs_.size() && !failed(); ++d) {
      if (devs_[d].needs_login && !Login(static_cast<int>(d), /*reliable=*/true)) return;
      client::SyncOptions options;
      options.pull_limit = 7;
      if (!SyncDevice(static_cast<int>(d), std::move(options), /*reliable=*/true)) return;
    }
  }
}

// ---- Checks.
//
// During the schedule:
//  - after every page a device commits (OnPage): its cursor never moves back and never passes
//    the server's last change; every record in its scope whose latest change is at or below the
//    cursor is on the device with at least the server's stamps; every record whose latest exit
//    from its region is at or below the cursor (and that has not come back) is gone from it;
//  - after every sync that succeeds: nothing is pending, and the device holds exactly the
//    server's records in its scope, byte for byte;
//  - after every sync: the store's cursor is the one the last committed page left;
//  - a cut-off reply ends the sync with DataLoss and changes nothing on the device;
//  - on every exchange the server answers (OnExchange): acked_seq is never beyond the highest seq
//    sent; each seq is handled once, and every seq up to acked_seq was in the request; a resent
//    seq that was refused is told its rejection again (and no other); a write is refused as
//    CLOCK_AHEAD exactly when its stamp is more than 5 minutes ahead of the server's time;
//  - a device store closed and reopened, or the server's, holds exactly what it held.
// At quiescence (FinalChecks): everything below.
void World::FinalChecks() {
  const ServerView* maybe_view = ReadServer(/*complete=*/true);
  if (maybe_view == nullptr) return;
  const ServerView& view = *maybe_view;
  Result<std::vector<server::StoredConflict>> conflicts = server_->store().ListConflicts();
  if (!conflicts) {
    Fail("server_read", conflicts.error().ToString());
    return;
  }
  totals_.conflicts = conflicts->size();
  // (record id, field, losing stamp) → the conflict.
  std::map<std::tuple<std::string, uint32_t, HlcValue, std::string>, const v1::Conflict*> logged;
  for (const server::StoredConflict& c : *conflicts) {
    logged[{c.conflict.record_id(), c.conflict.field(), c.conflict.losing_stamp().hlc(),
            c.conflict.losing_stamp().device()}] = &c.conflict;
  }

  // Every device: exactly the server's records in its scope, byte for byte (so nothing outside
  // its scope remains, and every refused write was undone), nothing pending, the cursor where the
  // last committed page left it, every seq handled by the server once.
  {
    Result<std::unique_ptr<server::StoreTransaction>> txn = server_->store().Begin();
    if (!txn) {
      Fail("server_read", txn.error().ToString());
      return;
    }
    for (size_t i = 0; i < devs_.size(); ++i) {
      const int d = static_cast<int>(i);
      Dev& dev = devs_[i];
      CheckSame(d, view, "convergence");
      if (failed()) return;
      Result<client::DeviceStatus> st = dev.store->ReadStatus();
      Result<std::optional<server::DeviceRecord>> on_server = (*txn)->FindDevice(dev.id);
      if (!st || !on_server || !on_server->has_value()) {
        Fail("device_store", dev.label + ": status unreadable");
        return;
      }
      if (st->pending != 0 || st->acked_seq + 1 != st->next_seq) {
        Fail("quiescence", dev.label + ": " + std::to_string(st->pending) + " pending, acked " +
                               std::to_string(st->acked_seq) + ", next seq " +
                               std::to_string(st->next_seq));
        return;
      }
      if ((*on_server)->last_seq + 1 != st->next_seq) {
        Fail("acks", dev.label + ": the server's last seq is " +
                         std::to_string((*on_server)->last_seq) + ", the device wrote up to " +
                         std::to_string(st->next_seq - 1));
        return;
      }
      if (st->cursor != dev.committed_cursor || st->cursor > view.last_seq) {
        Fail("cursor", dev.label + ": cursor " + std::to_string(st->cursor) + ", committed " +
                           std::to_string(dev.committed_cursor) + ", server's last " +
                           std::to_string(view.last_seq));
        return;
      }
      // Refused writes are on the device's rejected list, and nothing else is.
      Result<std::vector<client::RejectedMutation>> rejected = dev.store->Rejected();
      if (!rejected) {
        Fail("device_store", dev.label + ": " + rejected.error().ToString());
        return;
      }
      std::set<uint64_t> listed;
      for (const client::RejectedMutation& r : *rejected) listed.insert(r.mutation.seq());
      for (const auto& [seq, code] : dev.rejected) {
        if (!listed.count(seq)) {
          const WriteInfo& w = writes_[write_index_[{d, seq}]];
          Fail("rejected", dev.label + ": the server refused seq " + std::to_string(seq) + " (" +
                               w.what + " " + KeyName(w.key) + ") as " +
                               v1::RejectionCode_Name(code) +
                               " but the device does not list it as rejected");
          return;
        }
        listed.erase(seq);
      }
      if (!listed.empty()) {
        Fail("rejected", dev.label + ": seq " + std::to_string(*listed.begin()) +
                             " is listed as rejected but the server applied it");
        return;
      }
    }
  }

  // Every write was handled by the server exactly once (applied or refused).
  for (const WriteInfo& w : writes_) {
    if (!w.handled && !w.wiped) {
      Fail("acks", devs_[w.device].label + ": seq " + std::to_string(w.seq) + " (" + w.what + " " +
                       KeyName(w.key) + ") was never handled by the server");
      return;
    }
  }

  // Ids: every record the server holds came from applied writes; every create applied is there
  // exactly once; an id names one record of one type.
  std::map<std::string, int> per_id;
  for (const auto& [key, rec] : view.records) {
    if (++per_id[key.second] > 1) {
      Fail("ids", "id " + key.second + " names more than one record on the server");
      return;
    }
    if (!log_.count(key)) {
      Fail("ids", KeyName(key) + " is on the server but no applied write made it");
      return;
    }
  }
  for (const WriteInfo& w : writes_) {
    if (w.applied && !view.records.count(w.key)) {
      Fail("ids", devs_[w.device].label + ": " + w.what + " " + KeyName(w.key) + " (seq " +
                      std::to_string(w.seq) + ") was applied but the record is not on the server");
      return;
    }
  }

  for (const auto& [key, indices] : log_) {
    const ServerRecord& rec = view.records.at(key);
    const google::protobuf::Descriptor* descriptor =
        RecordDescriptor(static_cast<v1::RecordType>(key.first));
    // The server's state is the per-field maximum of the writes it applied: no field invented,
    // lost or resurrected (a deleted record is back only through a restore).
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto field = static_cast<uint32_t>(descriptor->field(i)->number());
      if (field == static_cast<uint32_t>(kIdField)) continue;
      const WriteInfo* winner = nullptr;
      for (size_t index : indices) {
        const WriteInfo& w = writes_[index];
        if (!std::binary_search(w.mutation.fields().begin(), w.mutation.fields().end(), field)) {
          continue;
        }
        if (winner == nullptr || StampLess(StampOf(*winner), StampOf(w))) winner = &w;
      }
      const v1::Stamp expected = winner ? StampOf(*winner) : v1::Stamp();
      const v1::Stamp& actual = FieldStampOf(rec.state, field);
      v1::Record empty;
      MutableRecordMessage(&empty, static_cast<v1::RecordType>(key.first));
      const v1::Record& expected_values = winner ? winner->mutation.record() : empty;
      if (!StampEqual(expected, actual) ||
          FieldBytes(expected_values, field) != FieldBytes(rec.state.record(), field)) {
        const bool resurrected = field == static_cast<uint32_t>(kDeletedField) &&
                                 !IsDeleted(rec.state.record()) && winner != nullptr &&
                                 IsDeleted(winner->mutation.record());
        Fail(resurrected ? "resurrection" : "lww",
             KeyName(key) + " field " + std::to_string(field) + " on the server is " +
                 FieldText(rec.state.record(), field) + " at " + StampText(actual) +
                 " but the highest applied write of it is " +
                 (winner ? devs_[winner->device].label + " seq " + std::to_string(winner->seq) +
                               " (" + winner->what + ") " + FieldText(expected_values, field) +
                               " at " + StampText(expected)
                         : std::string("none")));
        return;
      }
    }
    // Nothing acknowledged vanished: each applied write of each field is the current value, or
    // is in the conflict log (a concurrent loser, to a higher stamp), or was overwritten by a
    // write whose author had seen it, or another write carried the same value.
    for (size_t i : indices) {
      const WriteInfo& w = writes_[i];
      const v1::Stamp stamp = StampOf(w);
      for (uint32_t field : w.mutation.fields()) {
        if (StampEqual(FieldStampOf(rec.state, field), stamp)) continue;
        auto c = logged.find({key.second, field, stamp.hlc(), stamp.device()});
        if (c != logged.end()) {
          if (c->second->kind() == v1::CONFLICT_KIND_CONCURRENT_WRITE &&
              !StampLess(c->second->losing_stamp(), c->second->winning_stamp())) {
            Fail("conflict_winner", "the conflict on " + KeyName(key) + " field " +
                                        std::to_string(field) + " has winner " +
                                        StampText(c->second->winning_stamp()) +
                                        " not above loser " + StampText(c->second->losing_stamp()));
            return;
          }
          continue;
        }
        bool superseded = false;
        for (size_t j : indices) {
          const WriteInfo& y = writes_[j];
          if (j == i ||
              !std::binary_search(y.mutation.fields().begin(), y.mutation.fields().end(), field)) {
            continue;
          }
          if (Knew(y, w) ||
              FieldBytes(y.mutation.record(), field) == FieldBytes(w.mutation.record(), field)) {
            superseded = true;
            break;
          }
        }
        if (!superseded) {
          std::string others;
          for (size_t j : indices) {
            const WriteInfo& y = writes_[j];
            if (j == i || !std::binary_search(y.mutation.fields().begin(),
                                              y.mutation.fields().end(), field)) {
              continue;
            }
            others += "\n    " + devs_[y.device].label + " seq " + std::to_string(y.seq) + " " +
                      y.what + " " + FieldText(y.mutation.record(), field) + " at " +
                      StampText(StampOf(y)) + " (had seen " + std::to_string(y.knew_prefix) +
                      " server writes; this one is #" + std::to_string(w.log_pos) + ")";
          }
          Fail("lost_write", devs_[w.device].label + " seq " + std::to_string(w.seq) + " (" +
                                 w.what + ") wrote " + KeyName(key) + " field " +
                                 std::to_string(field) + " = " +
                                 FieldText(w.mutation.record(), field) + " at " + StampText(stamp) +
                                 "; the server applied it, but now holds " +
                                 FieldText(rec.state.record(), field) + " at " +
                                 StampText(FieldStampOf(rec.state, field)) +
                                 ", no conflict names it and no later writer had seen it. Other "
                                 "writes of the field:" +
                                 others);
          return;
        }
      }
    }
  }

  // Every conflict names writes the server applied: nothing invented.
  std::map<std::pair<std::string, std::pair<HlcValue, std::string>>, bool> stamps;
  for (const WriteInfo& w : writes_) {
    if (w.applied) stamps[{w.key.second, {w.hlc, DeviceIdOf(w.device)}}] = true;
  }
  for (const server::StoredConflict& c : *conflicts) {
    for (const v1::Stamp* s : {&c.conflict.losing_stamp(), &c.conflict.winning_stamp()}) {
      if (!stamps.count({c.conflict.record_id(), {s->hlc(), s->device()}})) {
        Fail("conflict_stamps", "a conflict on " + c.conflict.record_id() + " field " +
                                    std::to_string(c.conflict.field()) + " names stamp " +
                                    StampText(*s) + ", which no applied write has");
        return;
      }
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void Totals::Add(const Totals& o) {
  schedules += o.schedules;
  devices += o.devices;
  steps += o.steps;
  writes += o.writes;
  local_refused += o.local_refused;
  reassignments += o.reassignments;
  deletes += o.deletes;
  restores += o.restores;
  syncs += o.syncs;
  syncs_failed += o.syncs_failed;
  pages += o.pages;
  echoes += o.echoes;
  echoes_missed += o.echoes_missed;
  partials += o.partials;
  for (int k = 0; k < kFaultKinds; ++k) faults[k] += o.faults[k];
  held_delivered += o.held_delivered;
  cuts_that_parse += o.cuts_that_parse;
  device_crashes += o.device_crashes;
  server_crashes += o.server_crashes;
  conflicts += o.conflicts;
  rejections += o.rejections;
  clock_ahead += o.clock_ahead;
  forbidden += o.forbidden;
  failures += o.failures;
}

uint64_t Totals::faults_total() const {
  uint64_t n = 0;
  for (uint64_t f : faults) n += f;
  return n;
}

std::string Totals::Line() const {
  std::ostringstream out;
  out << "schedules=" << schedules << " devices=" << devices << " steps=" << steps
      << " writes=" << writes << " (deletes=" << deletes << " restores=" << restores
      << " reassignments=" << reassignments << " refused_locally=" << local_refused << ")"
      << " syncs=" << syncs << " (ended_by_fault=" << syncs_failed << " pages=" << pages
      << " echoes=" << echoes << " echoes_missed=" << echoes_missed << " partials=" << partials
      << ")"
      << " faults=" << faults_total() << " (";
  for (int k = 0; k < kFaultKinds; ++k) {
    out << (k ? " " : "") << FaultName(static_cast<Fault>(k)) << "=" << faults[k];
  }
  out << " late_deliveries=" << held_delivered << " cuts_that_parse=" << cuts_that_parse << ")"
      << " crashes=" << device_crashes + server_crashes << " (device=" << device_crashes
      << " server=" << server_crashes << ")"
      << " conflicts=" << conflicts << " rejections=" << rejections
      << " (clock_ahead=" << clock_ahead << " forbidden=" << forbidden << ")"
      << " failed_schedules=" << failures;
  return out.str();
}

uint64_t ScheduleSeed(uint64_t run_seed, uint64_t index) {
  // SplitMix64 of the pair: schedule i is the same whichever shard runs it.
  uint64_t z = run_seed + 0x9E3779B97F4A7C15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

ScheduleResult RunSchedule(uint64_t seed, const std::optional<std::vector<size_t>>& only_steps,
                           size_t trace_lines, const SimOptions& options) {
  World world(seed, trace_lines, options);
  return world.Run(only_steps);
}

std::vector<size_t> ShrinkSchedule(uint64_t seed, const ScheduleResult& failed, int max_runs,
                                   const SimOptions& options) {
  std::vector<size_t> steps(failed.steps);
  std::iota(steps.begin(), steps.end(), size_t{0});
  int runs = 0;
  size_t chunk = std::max<size_t>(steps.size() / 2, 1);
  while (runs < max_runs && !steps.empty()) {
    bool removed = false;
    for (size_t start = 0; start < steps.size() && runs < max_runs;) {
      std::vector<size_t> candidate(steps.begin(),
                                    steps.begin() + static_cast<std::ptrdiff_t>(start));
      candidate.insert(
          candidate.end(),
          steps.begin() + static_cast<std::ptrdiff_t>(std::min(start + chunk, steps.size())),
          steps.end());
      ++runs;
      const ScheduleResult r = RunSchedule(seed, candidate, 0, options);
      if (!r.ok && r.check == failed.check) {
        steps = std::move(candidate);
        removed = true;
      } else {
        start += chunk;
      }
    }
    if (!removed) {
      if (chunk == 1) break;
      chunk = std::max<size_t>(chunk / 2, 1);
    }
  }
  return steps;
}

std::string TempRoot() {
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path().string();
}

}  // namespace vinculo::sim
