// The supervisors' queries over a country-sized central store (tracker issue #6): 1,000,000 home
// visits and 50,000 children, every query timed through QueryService, the code the HTTP endpoints
// call, with the JSON reply that reply_format.cc makes of it. docs/performance.md records the
// figures, the 200 ms target and what bounds each figure.
//
//   query_bench --json-out FILE [--quick]
//
// Full mode: 50,000 children, 1,000,000 visits. --quick: 5,000 children, 100,000 visits.
//
// The store is seeded the way the server receives data: field workers' devices (and each region's
// regional office) push their mutations through SyncService in weekly sync rounds over two years,
// at most 5,000 mutations per request, pulling a page of changes each time. Nothing is written to
// the database directly. The seeded store is kept on disk (VINCULO_BENCH_DIR, else the system temp
// dir, in vinculo-query-bench-MODE-vN/) and reused by the next run while its schema matches this
// build's; a run that seeds prints how long it took.
//
// Output: a table on stdout, and FILE as {"bench":"query","mode":...,"figures":[...],"setup":{...}}.
// Each figure's value is the median wall time of the query plus its JSON reply (MessageReply),
// with its p99 (nearest rank; for fewer than 100 repetitions that is the slowest one).
//
// Environment:
//   VINCULO_BENCH_DIR=dir   keep the seeded stores under `dir`
//   VINCULO_BENCH_RESEED=1  seed again even when a matching store is cached

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "bench/bench_report.h"
#include "common/civil_time.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/sqlite.h"
#include "common/uuid.h"
#include "server/auth.h"
#include "server/query_service.h"
#include "server/reply_format.h"
#include "server/sqlite_central_store.h"
#include "server/sync_service.h"

namespace vinculo::server {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28, the day the supervisors ask
constexpr int64_t kStart = kNow - 730 * kDayMs;  // the programme's first day on Vínculo
constexpr int64_t kRoundMs = 7 * kDayMs;         // devices sync once a week
constexpr uint32_t kPullPage = 200;              // changes a device asks for per sync
constexpr int kMaxMutations = 5000;              // per request, SyncLimits::max_mutations
// Bump when the generated data changes, so that an old cached store is not reused.
constexpr int kSeedVersion = 2;
constexpr double kTargetMs = 200;

struct Size {
  const char* mode;
  int children;
  int visits;
};
constexpr Size kFullSize{"full", 50'000, 1'000'000};
constexpr Size kQuickSize{"quick", 5'000, 100'000};

constexpr const char* kRegions[] = {"Cusco", "Lima", "Puno", "Ayacucho", "Loreto"};
constexpr int kWorkersPerRegion = 6;
constexpr const char* kWorkerNames[] = {"ana", "beto", "carmen", "diego", "elena", "fidel"};
constexpr const char* kProgrammes[] = {"acogimiento familiar", "reintegración familiar",
                                       "fortalecimiento familiar"};
constexpr const char* kGivenNames[] = {"Lucía", "Mateo", "Valentina", "Santiago", "Camila",
                                       "Thiago", "Ximena", "Joaquín", "Mía", "Gael",
                                       "Luana", "Adrián", "Kiara", "Yaku", "Nayeli", "Wayra"};
constexpr const char* kFamilyNames[] = {"Quispe", "Mamani", "Huamán", "Condori", "Flores",
                                        "Torres", "Chávez", "Apaza", "Vargas", "Ccori",
                                        "Sánchez", "Rojas", "Cusi", "Layme", "Yupanqui"};
constexpr const char* kAdultNames[] = {"Rosa", "Juana", "Elsa", "Teodora", "Marcelino",
                                       "Felícitas", "Hilario", "Justina", "Agripina", "Eusebio"};

// Fragments of what workers write after a visit; a visit's observations join three or four of
// them (250-400 characters).
constexpr const char* kObservationParts[] = {
    "Se realizó la visita en el domicilio; estuvieron presentes la abuela materna y el niño. ",
    "La niña asiste regularmente a la escuela y la docente reporta avances en lectura. ",
    "Persisten dificultades económicas: el padre trabaja de forma eventual en la construcción. ",
    "El vínculo con la cuidadora es afectivo y estable; el niño se muestra tranquilo y comunicativo. ",
    "La familia pidió apoyo para útiles escolares y para tramitar el DNI del hermano menor. ",
    "Se observa la vivienda ordenada, con agua potable; falta un ambiente separado para dormir. ",
    "La madre participa en el taller de crianza positiva y refiere menos conflictos en casa. ",
    "El adolescente expresa su deseo de volver con su familia; se trabajará la preparación. ",
    "Sin señales de maltrato ni de negligencia. Se revisó el carné de vacunación, al día. ",
    "La tía acoge a los dos hermanos; necesita orientación sobre el control de salud del menor. ",
    "Se coordinó con la DEMUNA y el centro de salud la evaluación psicológica pendiente. ",
    "La familia se mudó dentro del mismo distrito; se actualizó la dirección y el teléfono. ",
};
constexpr const char* kAgreedActions[] = {
    "Volver en dos semanas con la psicóloga; gestionar la beca escolar ante la UGEL.",
    "Acompañar a la madre a la cita en el centro de salud; revisar asistencia escolar.",
    "Coordinar con la DEMUNA la visita conjunta; entregar kit escolar el próximo mes.",
    "Taller de crianza los sábados; llamar a la tía el lunes para confirmar la cita.",
};

using bench::Die;
using bench::Must;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// ---- The seed: a plan of two years of field work, then the devices pushing it.

// One child's case as planned: who follows it, its household and network, and what happens.
struct ChildPlan {
  std::string id, family_id, region, worker, programme;
  bool new_family = true;                  // false: a sibling's household
  std::vector<std::string> contact_ids;
  int64_t registered_ms = 0;
  int64_t closed_ms = 0;                   // 0: stays open
  int placement = v1::PLACEMENT_RESIDENTIAL_INSTITUTION;  // at registration
  int current_placement = 0;               // as the device replays the plan
  bool visited = false;
  int name = 0;
};

enum class EventKind : uint8_t {
  kRegister,    // family (when new), child, contacts
  kVisit,
  kMove,        // a placement change and the child's new placement
  kClose,
  kRiskEdit,    // an edit of the child's risk level (a regional office edits it concurrently)
  kPhoneEdit,   // an edit of a contact's phone (likewise)
  kDeleteVisit  // a visit entered by mistake is deleted
};

struct Event {
  int64_t at_ms = 0;
  int32_t child = 0;   // index into the children
  int32_t arg = 0;     // kMove: the new placement; kVisit: a deletion slot or -1;
                       // kDeleteVisit: the slot; kRiskEdit/kPhoneEdit: the value chosen
  EventKind kind = EventKind::kVisit;
};

// A device as the server sees it: its mutation counter, clock, pull cursor and the records it
// edits again (children, contacts, visits it will delete) — what a device store keeps.
struct Device {
  Principal who;
  uint64_t seq = 0;
  HybridClock clock;
  uint64_t cursor = 0;
  std::unordered_map<std::string, v1::RecordState> states;
  std::vector<v1::Mutation> outbox;
  std::vector<Event> events;  // by time
  size_t next_event = 0;
  std::mt19937_64 rng;

  void Write(const v1::Record& values, std::vector<uint32_t> fields, int64_t at_ms, bool keep) {
    static const v1::RecordState kEmpty;
    auto it = states.find(RecordId(values));
    const v1::RecordState& base = it == states.end() ? kEmpty : it->second;
    v1::Mutation m = MakeMutation(base, values, fields,
                                  clock.Tick(static_cast<uint64_t>(at_ms)), ++seq);
    if (keep || it != states.end()) {
      v1::RecordState& state = states[RecordId(values)];
      if (!ApplyMutation(&state, m, who.device_id)) Die("device could not apply its own write");
    }
    outbox.push_back(std::move(m));
  }
  void Create(const v1::Record& values, int64_t at_ms, bool keep) {
    Write(values, SetFields(values), at_ms, keep);
  }
};

struct SeedStats {
  uint64_t requests = 0, mutations = 0, conflicts = 0;
  double seconds = 0;
  double push_seconds = 0;  // inside SyncService::Sync
};

class Seeder {
 public:
  Seeder(CentralStore& store, Size size) : store_(store), sync_(store, SyncLimits{}), size_(size) {}

  SeedStats Run() {
    const auto start = SteadyClock::now();
    Enrol();
    Plan();
    for (int64_t round_end = kStart + kRoundMs;; round_end += kRoundMs) {
      const int64_t now_ms = std::min(round_end, kNow);
      // A regional office edits what it pulled in earlier rounds: its view of the records it
      // will edit in this round is the server's state before anyone pushes this round.
      for (Device& office : offices_) Snapshot(office, round_end);
      bool more = false;
      for (Device& d : workers_) more |= Play(d, round_end, now_ms);
      for (Device& d : offices_) more |= Play(d, round_end, now_ms);
      if (!more && round_end >= kNow) break;
    }
    stats_.seconds = SecondsSince(start);
    return stats_;
  }

  const std::vector<ChildPlan>& children() const { return children_; }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::string NewId(int64_t at_ms, std::mt19937_64& rng) {
    std::array<uint8_t, 10> random;
    for (uint8_t& b : random) b = static_cast<uint8_t>(rng());
    return UuidV7(static_cast<uint64_t>(at_ms), random);
  }
  // Working hours in Peru (UTC-5): 13:00-22:00 UTC of `day`.
  int64_t WorkTime(int64_t day_ms) { return day_ms + Uniform(13 * 3'600'000, 22 * 3'600'000); }

  Device NewDevice(const std::string& username, Role role, const std::string& region) {
    Device d;
    d.rng.seed(rng_());
    d.who = {.username = username, .role = role, .region = region,
             .device_id = NewId(kStart - kDayMs, rng_), .remote = "10.20.0." +
                                                                 std::to_string(devices_++)};
    Must(store_.AddUser({.username = username,
                         .password_hash = Must(HashPassword("clave-" + username,
                                                            {.n = 1024, .r = 8, .p = 1}),
                                               "hash"),
                         .role = role,
                         .region = region,
                         .created_ms = kStart - kDayMs}),
         "add user " + username);
    Must(store_.IssueDeviceToken(d.who.device_id, username, TokenHash("token-" + username),
                                 kNow + 90 * kDayMs, kStart - kDayMs),
         "enrol " + username);
    return d;
  }

  void Enrol() {
    for (const char* region : kRegions) {
      std::string lower(region);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (int w = 0; w < kWorkersPerRegion; ++w) {
        workers_.push_back(NewDevice(std::string(kWorkerNames[w]) + "." + lower,
                                     Role::kFieldWorker, region));
      }
      offices_.push_back(NewDevice("oficina." + lower, Role::kRegionalOffice, region));
      NewDevice("supervisora." + lower, Role::kSupervisor, region);
    }
    NewDevice("admin", Role::kAdmin, "");
  }

  // Every child's case and every device's events over the two years.
  void Plan() {
    const int n_workers = static_cast<int>(workers_.size());
    std::vector<std::vector<int>> caseload(workers_.size());
    children_.reserve(size_.children);
    for (int i = 0; i < size_.children; ++i) {
      const int w = i % n_workers;
      Device& d = workers_[w];
      ChildPlan c;
      // Half the caseload was entered when the programme moved to Vínculo, the rest over 20 months.
      const int64_t day = Chance(0.5) ? Uniform(0, 30) : Uniform(0, 600);
      c.registered_ms = WorkTime(kStart + day * kDayMs);
      c.id = NewId(c.registered_ms, rng_);
      c.region = d.who.region;
      c.worker = d.who.username;
      c.programme = kProgrammes[Uniform(0, 2)];
      c.name = static_cast<int>(Uniform(0, 1'000'000));
      // Siblings share a household.
      if (!caseload[w].empty() && Chance(0.3)) {
        const ChildPlan& sibling = children_[caseload[w].back()];
        if (sibling.registered_ms <= c.registered_ms) {
          c.family_id = sibling.family_id;
          c.new_family = false;
        }
      }
      if (c.new_family) c.family_id = NewId(c.registered_ms, rng_);
      for (int k = static_cast<int>(Uniform(2, 3)); k > 0; --k) {
        c.contact_ids.push_back(NewId(c.registered_ms, rng_));
      }
      const double p = std::uniform_real_distribution<double>(0, 1)(rng_);
      c.placement = p < 0.45   ? v1::PLACEMENT_RESIDENTIAL_INSTITUTION
                    : p < 0.70 ? v1::PLACEMENT_FOSTER_FAMILY
                    : p < 0.90 ? v1::PLACEMENT_KINSHIP_CARE
                               : v1::PLACEMENT_FAMILY_OF_ORIGIN;
      c.current_placement = c.placement;
      const int64_t end_ms = kNow - kDayMs;
      if (Chance(0.15) && end_ms - c.registered_ms > 90 * kDayMs) {
        c.closed_ms = WorkTime(
            (Uniform(c.registered_ms + 60 * kDayMs, end_ms) / kDayMs) * kDayMs);
      }
      const int index = static_cast<int>(children_.size());
      d.events.push_back({c.registered_ms, index, 0, EventKind::kRegister});
      // Placement moves: out of the institution to a family, sometimes back.
      const int64_t last_ms = c.closed_ms != 0 ? c.closed_ms - kDayMs : end_ms;
      int placement = c.placement;
      int64_t at = c.registered_ms;
      for (int moves = Chance(0.4) ? static_cast<int>(Uniform(1, 3)) : 0; moves > 0; --moves) {
        at = WorkTime((Uniform(at + 20 * kDayMs, at + 240 * kDayMs) / kDayMs) * kDayMs);
        if (at >= last_ms) break;
        const int to = placement == v1::PLACEMENT_RESIDENTIAL_INSTITUTION
                           ? static_cast<int>(Uniform(v1::PLACEMENT_FOSTER_FAMILY,
                                                      v1::PLACEMENT_FAMILY_OF_ORIGIN))
                           : v1::PLACEMENT_RESIDENTIAL_INSTITUTION;
        d.events.push_back({at, index, to, EventKind::kMove});
        placement = to;
      }
      if (c.closed_ms != 0) d.events.push_back({c.closed_ms, index, 0, EventKind::kClose});
      caseload[w].push_back(index);
      children_.push_back(std::move(c));
    }
    // Visits: spread over each worker's open cases and over the two years.
    const int conflicts = std::max(20, size_.children / 125);  // 400 for 50,000 children
    int slots = 0;
    for (int w = 0; w < n_workers; ++w) {
      Device& d = workers_[w];
      const int visits = size_.visits / n_workers + (w < size_.visits % n_workers ? 1 : 0);
      for (int v = 0; v < visits; ++v) {
        const ChildPlan* c = nullptr;
        int index = 0;
        int64_t from = 0, to = 0;
        do {
          index = caseload[w][static_cast<size_t>(Uniform(0, caseload[w].size() - 1))];
          c = &children_[index];
          from = c->registered_ms + kDayMs;
          to = c->closed_ms != 0 ? c->closed_ms - kDayMs : kNow - kDayMs;
        } while (to <= from);
        const int64_t at = WorkTime((Uniform(from, to) / kDayMs) * kDayMs);
        int32_t slot = -1;
        const int64_t deleted_at = at + Uniform(1, 3) * kDayMs;
        if (Chance(0.002) && deleted_at < kNow - kDayMs) {  // entered by mistake, then deleted
          slot = slots++;
          d.events.push_back({deleted_at, index, slot, EventKind::kDeleteVisit});
        }
        d.events.push_back({at, index, slot, EventKind::kVisit});
      }
      // Concurrent edits: the worker and the regional office change the same field of the same
      // record in the same week, neither having seen the other's edit.
      Device& office = offices_[static_cast<size_t>(w / kWorkersPerRegion)];
      for (int k = 0; k < conflicts / n_workers + 1; ++k) {
        const int index = caseload[w][static_cast<size_t>(Uniform(0, caseload[w].size() - 1))];
        const ChildPlan& c = children_[index];
        const int64_t from = c.registered_ms + 14 * kDayMs;
        const int64_t to = c.closed_ms != 0 ? c.closed_ms - kDayMs : kNow - 2 * kDayMs;
        if (to <= from) continue;
        int64_t at = Uniform(from, to);
        // Both inside one sync round: the office edits later the same week.
        at = std::min(at, kStart + ((at - kStart) / kRoundMs + 1) * kRoundMs - 4 * 3'600'000);
        const EventKind kind = k % 3 == 2 ? EventKind::kPhoneEdit : EventKind::kRiskEdit;
        d.events.push_back({at - 3 * 3'600'000, index, 0, kind});
        office.events.push_back({at, index, 1, kind});
      }
    }
    deleted_ids_.resize(static_cast<size_t>(slots));
    for (Device& d : workers_) {
      std::stable_sort(d.events.begin(), d.events.end(),
                       [](const Event& a, const Event& b) { return a.at_ms < b.at_ms; });
    }
    for (Device& d : offices_) {
      std::stable_sort(d.events.begin(), d.events.end(),
                       [](const Event& a, const Event& b) { return a.at_ms < b.at_ms; });
    }
  }

  std::string ChildName(const ChildPlan& c) const {
    return std::string(kGivenNames[c.name % std::size(kGivenNames)]);
  }
  std::string Surname(int n) const {
    return std::string(kFamilyNames[n % std::size(kFamilyNames)]) + " " +
           kFamilyNames[(n / 7) % std::size(kFamilyNames)];
  }

  std::string Phone(std::mt19937_64& rng) {
    return "+51 9" + std::to_string(10'000'000 + rng() % 89'999'999);
  }

  // The records of one event, written on device `d`.
  void Build(Device& d, const Event& e) {
    ChildPlan& c = children_[static_cast<size_t>(e.child)];
    switch (e.kind) {
      case EventKind::kRegister: {
        if (c.new_family) {
          v1::Record f;
          f.mutable_family()->set_id(c.family_id);
          f.mutable_family()->set_name("Familia " + Surname(c.name));
          f.mutable_family()->set_region(c.region);
          f.mutable_family()->set_address("Jr. Los Andes " + std::to_string(c.name % 900 + 100) +
                                          ", " + c.region);
          d.Create(f, e.at_ms, false);
        }
        v1::Record r;
        v1::Child* child = r.mutable_child();
        child->set_id(c.id);
        child->set_given_name(ChildName(c));
        child->set_family_name(Surname(c.name));
        const int64_t age_days = 365 + static_cast<int64_t>(d.rng() % (16 * 365));
        child->set_birth_date(FormatDate(e.at_ms / kDayMs - age_days));
        child->set_sex(c.name % 2 ? v1::SEX_FEMALE : v1::SEX_MALE);
        child->set_region(c.region);
        child->set_programme(c.programme);
        child->set_assigned_worker(c.worker);
        child->set_placement(static_cast<v1::Placement>(c.placement));
        child->set_status(v1::CASE_STATUS_OPEN);
        child->set_risk_level(static_cast<v1::RiskLevel>(1 + d.rng() % 3));
        child->set_family_id(c.family_id);
        d.Create(r, e.at_ms + 1, true);
        const v1::Relationship relationships[] = {v1::RELATIONSHIP_MOTHER,
                                                  v1::RELATIONSHIP_GRANDPARENT,
                                                  v1::RELATIONSHIP_AUNT_UNCLE};
        for (size_t k = 0; k < c.contact_ids.size(); ++k) {
          v1::Record p;
          v1::Contact* contact = p.mutable_contact();
          contact->set_id(c.contact_ids[k]);
          contact->set_family_id(c.family_id);
          contact->set_child_id(c.id);
          contact->set_given_name(kAdultNames[d.rng() % std::size(kAdultNames)]);
          contact->set_family_name(Surname(c.name));
          contact->set_relationship(relationships[k % 3]);
          contact->set_phone(Phone(d.rng));
          contact->set_consent_to_contact(true);
          d.Create(p, e.at_ms + 2 + static_cast<int64_t>(k), true);
        }
        return;
      }
      case EventKind::kVisit: {
        v1::Record r;
        v1::HomeVisit* v = r.mutable_home_visit();
        v->set_id(NewId(e.at_ms, d.rng));
        v->set_child_id(c.id);
        v->set_family_id(c.family_id);
        v->set_worker(c.worker);
        v->set_visited_at(UtcTimestamp(e.at_ms));
        const bool family_based = c.current_placement != v1::PLACEMENT_RESIDENTIAL_INSTITUTION;
        const uint64_t pick = d.rng() % 100;
        v->set_kind(!c.visited          ? v1::VISIT_KIND_ASSESSMENT
                    : pick < 3          ? v1::VISIT_KIND_OTHER
                    : pick < 40 && family_based ? v1::VISIT_KIND_POST_REINTEGRATION_MONITORING
                    : pick < 30         ? v1::VISIT_KIND_REINTEGRATION_PREPARATION
                                        : v1::VISIT_KIND_FOLLOW_UP);
        c.visited = true;
        for (size_t k = 0; k < 1 + d.rng() % 2 && k < c.contact_ids.size(); ++k) {
          v->add_attendees(c.contact_ids[k]);
        }
        std::string text = ChildName(c) + ": ";
        for (int k = 3 + static_cast<int>(d.rng() % 2); k > 0; --k) {
          text += kObservationParts[d.rng() % std::size(kObservationParts)];
        }
        text.pop_back();
        v->set_observations(text);
        v->set_risk_assessment(static_cast<v1::RiskLevel>(1 + d.rng() % 3));
        v->set_agreed_actions(kAgreedActions[d.rng() % std::size(kAgreedActions)]);
        if (d.rng() % 100 < 85) {
          v->set_next_visit_due(FormatDate(e.at_ms / kDayMs + 7 + static_cast<int64_t>(d.rng() % 24)));
        }
        v->set_latitude(-13.5 - static_cast<double>(d.rng() % 1000) / 1000.0);
        v->set_longitude(-71.9 - static_cast<double>(d.rng() % 1000) / 1000.0);
        if (e.arg >= 0) deleted_ids_[static_cast<size_t>(e.arg)] = v->id();
        d.Create(r, e.at_ms, e.arg >= 0);
        return;
      }
      case EventKind::kMove: {
        v1::Record p;
        v1::PlacementChange* pc = p.mutable_placement_change();
        pc->set_id(NewId(e.at_ms, d.rng));
        pc->set_child_id(c.id);
        pc->set_from_placement(static_cast<v1::Placement>(c.current_placement));
        pc->set_to_placement(static_cast<v1::Placement>(e.arg));
        pc->set_changed_on(UtcDate(e.at_ms));
        pc->set_reason(e.arg == v1::PLACEMENT_RESIDENTIAL_INSTITUTION
                           ? "Riesgo alto en el hogar; medida de protección."
                           : "Evaluación favorable del equipo; egreso a entorno familiar.");
        d.Create(p, e.at_ms, false);
        v1::Record r;
        r.mutable_child()->set_id(c.id);
        r.mutable_child()->set_placement(static_cast<v1::Placement>(e.arg));
        const bool home = e.arg == v1::PLACEMENT_FAMILY_OF_ORIGIN ||
                          e.arg == v1::PLACEMENT_KINSHIP_CARE;
        r.mutable_child()->set_status(home ? v1::CASE_STATUS_REINTEGRATED : v1::CASE_STATUS_OPEN);
        d.Write(r, {v1::Child::kPlacementFieldNumber, v1::Child::kStatusFieldNumber}, e.at_ms + 1,
                true);
        c.current_placement = e.arg;
        return;
      }
      case EventKind::kClose: {
        v1::Record r;
        r.mutable_child()->set_id(c.id);
        r.mutable_child()->set_status(v1::CASE_STATUS_CLOSED);
        d.Write(r, {v1::Child::kStatusFieldNumber}, e.at_ms, true);
        return;
      }
      case EventKind::kRiskEdit: {
        v1::Record r;
        r.mutable_child()->set_id(c.id);
        r.mutable_child()->set_risk_level(e.arg == 0 ? v1::RISK_LEVEL_HIGH : v1::RISK_LEVEL_MEDIUM);
        r.mutable_child()->set_notes(e.arg == 0 ? "Riesgo revisado en visita."
                                                : "Riesgo revisado en comité regional.");
        d.Write(r, {v1::Child::kRiskLevelFieldNumber, v1::Child::kNotesFieldNumber}, e.at_ms,
                true);
        return;
      }
      case EventKind::kPhoneEdit: {
        v1::Record r;
        r.mutable_contact()->set_id(c.contact_ids.front());
        r.mutable_contact()->set_phone(Phone(d.rng));
        d.Write(r, {v1::Contact::kPhoneFieldNumber}, e.at_ms, true);
        return;
      }
      case EventKind::kDeleteVisit: {
        v1::Record r;
        r.mutable_home_visit()->set_id(deleted_ids_[static_cast<size_t>(e.arg)]);
        r.mutable_home_visit()->set_deleted(true);
        d.Write(r, {kDeletedField}, e.at_ms, false);
        d.states.erase(r.home_visit().id());
        return;
      }
    }
  }

  // The office's pulled state of each record it edits before `round_end`.
  void Snapshot(Device& office, int64_t round_end) {
    for (size_t i = office.next_event; i < office.events.size(); ++i) {
      const Event& e = office.events[i];
      if (e.at_ms >= round_end) break;
      const ChildPlan& c = children_[static_cast<size_t>(e.child)];
      const bool child = e.kind == EventKind::kRiskEdit;
      const std::string& id = child ? c.id : c.contact_ids.front();
      std::optional<StoredRecord> stored = Must(
          store_.ReadRecord(child ? v1::RECORD_TYPE_CHILD : v1::RECORD_TYPE_CONTACT, id),
          "office pull");
      if (stored) office.states[id] = stored->state;
    }
  }

  // Writes `d`'s events before `round_end` and pushes them. Returns whether `d` has events left.
  bool Play(Device& d, int64_t round_end, int64_t now_ms) {
    while (d.next_event < d.events.size() && d.events[d.next_event].at_ms < round_end) {
      Build(d, d.events[d.next_event++]);
    }
    for (size_t begin = 0; begin < d.outbox.size(); begin += kMaxMutations) {
      const size_t end = std::min(d.outbox.size(), begin + kMaxMutations);
      v1::SyncRequest request;
      request.set_device_id(d.who.device_id);
      request.set_cursor(d.cursor);
      request.set_limit(kPullPage);
      request.set_clock(d.clock.last());
      for (size_t i = begin; i < end; ++i) *request.add_mutations() = std::move(d.outbox[i]);
      const auto start = SteadyClock::now();
      v1::SyncResponse response = Must(sync_.Sync(d.who, request, now_ms), "sync");
      stats_.push_seconds += SecondsSince(start);
      if (response.rejections_size() > 0) {
        Die("push of " + d.who.username + " refused: " + response.rejections(0).message() + " (" +
            response.rejections(0).field() + ")");
      }
      if (response.acked_seq() != request.mutations(request.mutations_size() - 1).seq()) {
        Die("push of " + d.who.username + " not acknowledged");
      }
      d.cursor = response.next_cursor();
      d.clock.Advance(response.server_clock());
      ++stats_.requests;
      stats_.mutations += static_cast<uint64_t>(request.mutations_size());
      stats_.conflicts += response.conflicts();
    }
    d.outbox.clear();
    return d.next_event < d.events.size();
  }

  CentralStore& store_;
  SyncService sync_;
  Size size_;
  std::mt19937_64 rng_{20260528};
  std::vector<Device> workers_, offices_;
  std::vector<ChildPlan> children_;
  std::vector<std::string> deleted_ids_;
  SeedStats stats_;
  int devices_ = 1;
};

// ---- The cached store.

fs::path BenchParent() {
  if (const char* dir = std::getenv("VINCULO_BENCH_DIR")) return dir;
  return fs::temp_directory_path();
}

// Every CREATE statement of the store at `db_file`, in order: a cached store is reused only while
// its schema is the one this build makes.
std::string SchemaOf(const std::string& db_file) {
  sql::Database db = Must(sql::Database::Open(db_file, {.read_only = true}), "open " + db_file);
  sql::Statement s =
      Must(db.Prepare("SELECT COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name"), "schema");
  std::string out;
  while (Must(s.Step(), "schema")) out += s.ColumnText(0) + ";\n";
  return out;
}

std::string CurrentSchema() {
  const fs::path dir = BenchParent() / ("vinculo-query-bench-schema-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  { Must(OpenSqliteCentralStore(dir.string(), true), "open a new store"); }
  std::string schema = SchemaOf((dir / "central.db").string());
  fs::remove_all(dir);
  return schema;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double JsonNumber(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

struct Setup {
  std::unique_ptr<CentralStore> store;
  fs::path dir;
  bool cached = false;
  double seed_seconds = 0, push_seconds = 0;
  double mutations = 0, requests = 0, conflicts = 0;
  uintmax_t store_bytes = 0;
};

// The seeded store of `size`: the cached one when it is complete and current, else a new one.
Setup OpenSeeded(Size size) {
  Setup s;
  s.dir = BenchParent() / ("vinculo-query-bench-" + std::string(size.mode) + "-v" +
                           std::to_string(kSeedVersion));
  const fs::path done = s.dir / "seed.json";
  const char* reseed = std::getenv("VINCULO_BENCH_RESEED");
  const bool want_reseed = reseed != nullptr && *reseed == '1';
  if (!want_reseed && fs::exists(done) &&
      SchemaOf((s.dir / "central.db").string()) == CurrentSchema()) {
    const std::string json = ReadText(done);
    s.cached = true;
    s.seed_seconds = JsonNumber(json, "seed_seconds");
    s.push_seconds = JsonNumber(json, "push_seconds");
    s.mutations = JsonNumber(json, "mutations");
    s.requests = JsonNumber(json, "requests");
    s.conflicts = JsonNumber(json, "conflicts");
    std::printf("reusing the seeded store %s (seeded in %.1f s)\n", s.dir.c_str(), s.seed_seconds);
  } else {
    if (fs::exists(s.dir)) std::printf("the cached store is stale or incomplete: seeding again\n");
    fs::remove_all(s.dir);
    std::printf("seeding %s: %d children, %d visits, through SyncService...\n", s.dir.c_str(),
                size.children, size.visits);
    std::fflush(stdout);
    {
      std::unique_ptr<CentralStore> store =
          Must(OpenSqliteCentralStore(s.dir.string(), true), "create the store");
      Seeder seeder(*store, size);
      const SeedStats stats = seeder.Run();
      s.seed_seconds = stats.seconds;
      s.push_seconds = stats.push_seconds;
      s.mutations = static_cast<double>(stats.mutations);
      s.requests = static_cast<double>(stats.requests);
      s.conflicts = static_cast<double>(stats.conflicts);
    }
    std::ofstream out(done);
    out << "{\"seed_seconds\":" << s.seed_seconds << ",\"push_seconds\":" << s.push_seconds
        << ",\"mutations\":" << s.mutations << ",\"requests\":" << s.requests
        << ",\"conflicts\":" << s.conflicts << "}\n";
  }
  // Folds the WAL in, so that the size is the store's and every run starts alike.
  {
    sql::Database db = Must(sql::Database::Open((s.dir / "central.db").string()), "open");
    Must(db.Exec("PRAGMA wal_checkpoint(TRUNCATE);"), "checkpoint");
  }
  s.store_bytes = fs::file_size(s.dir / "central.db");
  s.store = Must(OpenSqliteCentralStore(s.dir.string(), false), "open the seeded store");
  return s;
}

// ---- The queries.

// One query's timings; WriteJson makes its figure.
struct QueryTiming {
  std::string name;
  double median_ms = 0, p99_ms = 0, query_median_ms = 0;
  size_t runs = 0, rows = 0, reply_bytes = 0;
};

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Rows in a query reply, for the table.
size_t RowsOf(const google::protobuf::Message& m) {
  if (auto* r = dynamic_cast<const v1::VisitsResponse*>(&m)) return r->visits_size();
  if (auto* r = dynamic_cast<const v1::ChildHistory*>(&m)) {
    return 1 + r->contacts_size() + r->visits_size() + r->placements_size();
  }
  if (auto* r = dynamic_cast<const v1::CaseloadResponse*>(&m)) return r->rows_size();
  if (auto* r = dynamic_cast<const v1::OverdueResponse*>(&m)) return r->cases_size();
  if (auto* r = dynamic_cast<const v1::OutcomesResponse*>(&m)) return r->rows_size();
  if (auto* r = dynamic_cast<const v1::ConflictsResponse*>(&m)) return r->conflicts_size();
  if (auto* r = dynamic_cast<const v1::AuditResponse*>(&m)) return r->entries_size();
  return 0;
}

class Timer {
 public:
  Timer(int repetitions, double budget_s) : repetitions_(repetitions), budget_s_(budget_s) {}

  // Runs `query` once to warm up, then up to `repetitions` times (at least 5, within the budget),
  // timing the query alone and the query with its JSON reply.
  template <typename Query>
  void Time(const std::string& name, Query query) {
    QueryTiming f{.name = name};
    std::vector<double> total, alone;
    const auto started = SteadyClock::now();
    for (int i = -1; i < repetitions_; ++i) {
      const auto start = SteadyClock::now();
      auto result = query();
      const auto queried = SteadyClock::now();
      if (!result) Die(name + ": " + result.error().ToString());
      const HttpResponse reply = MessageReply(*result, Format::kJson);
      const auto end = SteadyClock::now();
      if (reply.status != 200) Die(name + ": status " + std::to_string(reply.status));
      f.rows = RowsOf(*result);
      f.reply_bytes = reply.body.size();
      if (i < 0) continue;  // the warm-up
      alone.push_back(std::chrono::duration<double, std::milli>(queried - start).count());
      total.push_back(std::chrono::duration<double, std::milli>(end - start).count());
      if (total.size() >= 5 && SecondsSince(started) > budget_s_) break;
    }
    f.runs = total.size();
    f.median_ms = Percentile(total, 0.5);
    f.p99_ms = Percentile(total, 0.99);
    f.query_median_ms = Percentile(alone, 0.5);
    std::printf("%-38s %9.2f %9.2f %9.2f %5zu %7zu %10zu  %s\n", f.name.c_str(), f.median_ms,
                f.p99_ms, f.query_median_ms, f.runs, f.rows, f.reply_bytes,
                f.median_ms <= kTargetMs && f.p99_ms <= kTargetMs ? "met" : "MISSED");
    std::fflush(stdout);
    timings_.push_back(std::move(f));
  }

  const std::vector<QueryTiming>& timings() const { return timings_; }

 private:
  int repetitions_;
  double budget_s_;
  std::vector<QueryTiming> timings_;
};

Principal Who(const std::string& username, Role role, const std::string& region) {
  return {.username = username, .role = role, .region = region, .device_id = {},
          .remote = "10.20.9.9"};
}

void RunQueries(CentralStore& store, Timer& timer, int64_t audit_middle) {
  QueryService q(store);
  // The supervisor of Cusco (a fifth of the data) and the administrator (all of it).
  Principal sup = Who("supervisora.cusco", Role::kSupervisor, "Cusco");
  Principal admin = Who("admin", Role::kAdmin, "");
  for (Principal* p : {&sup, &admin}) {
    const std::vector<DeviceRecord> devices = Must(store.ListDevices(), "devices");
    for (const DeviceRecord& d : devices) {
      if (d.username == p->username) p->device_id = d.device_id;
    }
  }
  // Parameters taken from the data: a worker, a child with visits, a cursor half-way through.
  const v1::VisitsResponse recent =
      Must(q.Visits(sup, {.from = "2026-05-01", .to = "2026-05-27", .limit = 50}), "sample");
  if (recent.visits_size() == 0) Die("no visits in May 2026 to sample");
  const std::string worker = recent.visits(0).worker();
  const std::string child = recent.visits(0).child_id();
  const v1::VisitsResponse middle =
      Must(q.Visits(sup, {.from = "2025-05-28", .limit = 1}), "cursor");
  const std::string deep_cursor = middle.next_page();
  std::vector<std::string> children;  // the children whose records are read, in turn
  for (const v1::HomeVisit& v : recent.visits()) children.push_back(v.child_id());

  std::printf("\n%-38s %9s %9s %9s %5s %7s %10s\n", "query (as supervisor of Cusco / admin)",
              "median", "p99", "query", "runs", "rows", "JSON bytes");
  std::printf("%-38s %9s %9s %9s\n", "", "ms", "ms", "only ms");

  timer.Time("visits first page (supervisor)", [&] { return q.Visits(sup, {}); });
  timer.Time("visits first page (admin)", [&] { return q.Visits(admin, {}); });
  timer.Time("visits by worker (supervisor)", [&] { return q.Visits(sup, {.worker = worker}); });
  timer.Time("visits by child (supervisor)", [&] { return q.Visits(sup, {.child_id = child}); });
  timer.Time("visits in a month (supervisor)",
             [&] { return q.Visits(sup, {.from = "2026-03-01", .to = "2026-03-31"}); });
  timer.Time("visits in a month (admin)",
             [&] { return q.Visits(admin, {.from = "2026-03-01", .to = "2026-03-31"}); });
  timer.Time("visits by kind (supervisor)",
             [&] { return q.Visits(sup, {.kind = "reintegration-preparation"}); });
  timer.Time("visits by worker in a month (supervisor)", [&] {
    return q.Visits(sup, {.worker = worker, .from = "2026-03-01", .to = "2026-03-31"});
  });
  timer.Time("visits deep page (supervisor)",
             [&] { return q.Visits(sup, {.after = deep_cursor}); });
  size_t turn = 0;
  timer.Time("child record (supervisor)", [&] {
    return q.ChildRecord(sup, children[turn++ % children.size()], kNow);
  });
  timer.Time("caseload month (supervisor)",
             [&] { return q.Caseload(sup, "", "2026-04-01", "2026-04-30", kNow); });
  timer.Time("caseload month (admin)",
             [&] { return q.Caseload(admin, "", "2026-04-01", "2026-04-30", kNow); });
  // The overdue list a page (500) at a time, as the dashboard shows it; and a page 10,000 cases
  // in, by its token.
  const OverdueParams overdue{.as_of = "2026-05-28", .days = 30};
  timer.Time("overdue first page (supervisor)", [&] { return q.Overdue(sup, overdue, kNow); });
  timer.Time("overdue first page (admin)", [&] { return q.Overdue(admin, overdue, kNow); });
  OverdueParams deep = overdue;
  deep.limit = 5000;
  for (int page = 0; page < 2; ++page) {
    deep.after = Must(q.Overdue(admin, deep, kNow), "overdue cursor").next_page();
  }
  deep.limit = overdue.limit;
  timer.Time("overdue deep page (admin)", [&] { return q.Overdue(admin, deep, kNow); });
  for (const char* by : {"month", "programme", "region"}) {
    const OutcomesParams params{.from = "2025-05-01", .to = "2026-04-30", .by = by};
    if (std::string(by) != "region") {
      timer.Time(std::string("outcomes by ") + by + " (supervisor)",
                 [&] { return q.Outcomes(sup, params); });
    }
    timer.Time(std::string("outcomes by ") + by + " (admin)",
               [&] { return q.Outcomes(admin, params); });
  }
  timer.Time("conflicts (supervisor)", [&] { return q.Conflicts(sup, "open"); });
  timer.Time("conflicts (admin)", [&] { return q.Conflicts(admin, "all"); });
  timer.Time("audit first page (admin)", [&] { return q.Audit(admin, "", 500); });
  // Half-way through the audit log: every seeded write left an entry.
  const std::string audit_cursor = std::to_string(audit_middle);
  timer.Time("audit deep page (admin)", [&] { return q.Audit(admin, audit_cursor, 500); });
}

// Milliseconds in the JSON file: three decimals.
std::string Millis(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", ms);
  return buffer;
}

void WriteJson(const std::string& path, Size size, const Setup& setup,
               const std::vector<QueryTiming>& timings) {
  std::vector<bench::Figure> figures;
  char buffer[512];
  for (const QueryTiming& t : timings) {
    std::snprintf(buffer, sizeof buffer,
                  "\"query_only\":%.3f,\"runs\":%zu,\"rows\":%zu,\"json_bytes\":%zu",
                  t.query_median_ms, t.runs, t.rows, t.reply_bytes);
    figures.push_back({.name = t.name,
                       .value = t.median_ms,
                       .unit = "ms",
                       .stat = "median",
                       .p99 = t.p99_ms,
                       .target = "<= 200 ms",
                       .met = t.median_ms <= kTargetMs && t.p99_ms <= kTargetMs,
                       .extra_members = buffer});
  }
  std::snprintf(buffer, sizeof buffer,
                "\"setup\":{\"visits\":%d,\"children\":%d,\"seed_seconds\":%.1f,"
                "\"seed_push_seconds\":%.1f,\"seed_mutations\":%.0f,\"seed_requests\":%.0f,"
                "\"seed_conflicts\":%.0f,\"store_bytes\":%ju,\"cached\":%s}",
                size.visits, size.children, setup.seed_seconds, setup.push_seconds,
                setup.mutations, setup.requests, setup.conflicts, setup.store_bytes,
                setup.cached ? "true" : "false");
  const Status written = bench::WriteFiguresJson(path, "query", size.mode, figures, Millis, buffer);
  if (!written.ok()) Die(written.error().ToString());
}

int Main(int argc, char** argv) {
  bench::DieProgramName() = "query_bench";
  std::string json_out;
  Size size = kFullSize;
  int repetitions = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json-out" && i + 1 < argc) {
      json_out = argv[++i];
    } else if (arg == "--quick") {
      size = kQuickSize;
    } else if (arg == "--repetitions" && i + 1 < argc) {
      repetitions = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: query_bench --json-out FILE [--quick] [--repetitions N]\n");
      return 2;
    }
  }
  if (json_out.empty()) {
    std::fprintf(stderr, "usage: query_bench --json-out FILE [--quick] [--repetitions N]\n");
    return 2;
  }
  Setup setup = OpenSeeded(size);
  std::printf("store: %s, %.1f MB; seeded in %.1f s (%.0f mutations in %.0f requests, %.0f "
              "mutations/s; %.1f s inside SyncService::Sync; %.0f conflicts)%s\n",
              (setup.dir / "central.db").c_str(), static_cast<double>(setup.store_bytes) / 1e6,
              setup.seed_seconds, setup.mutations, setup.requests,
              setup.mutations / setup.seed_seconds, setup.push_seconds, setup.conflicts,
              setup.cached ? " [cached]" : "");
  Timer timer(repetitions, size.visits >= kFullSize.visits ? 20.0 : 5.0);
  RunQueries(*setup.store, timer, static_cast<int64_t>(setup.mutations / 2));
  WriteJson(json_out, size, setup, timer.timings());
  size_t missed = 0;
  for (const QueryTiming& t : timer.timings()) {
    missed += t.median_ms > kTargetMs || t.p99_ms > kTargetMs;
  }
  std::printf("\n%zu of %zu queries within 200 ms (median and p99); wrote %s\n",
              timer.timings().size() - missed, timer.timings().size(), json_out.c_str());
  return 0;
}

}  // namespace
}  // namespace vinculo::server

int main(int argc, char** argv) { return vinculo::server::Main(argc, argv); }
