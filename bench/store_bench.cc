// Benchmarks of the device store (client/local_store.h) on real files. docs/performance.md records
// the figures, the targets and what bounds them; `make bench` (bench/run.sh) runs them.
//
//   BM_VisitAdd/disk   one LocalStore::Add of a realistic home visit, outbox included, on a
//                      store in the temp dir (VINCULO_BENCH_DIR overrides it): what a field
//                      worker waits for.
//   BM_VisitAdd/tmpfs  the same on /dev/shm, where fsync costs nothing: the CPU share of the above.
//   BM_Caseload        LocalStore::Caseload over 10,000 children and 100,000 visits, the file on
//                      disk and in the OS page cache (warm).
//
// Times are wall-clock (UseRealTime): a commit waits for the disk, which CPU time does not count.
//
// Environment, for profiling:
//   VINCULO_BENCH_DIR=dir          make the stores under `dir` instead of the system temp dir
//   VINCULO_BENCH_KEEP=1           keep the stores made (their paths are printed)
//   VINCULO_CASELOAD_STORE=file    time Caseload on this existing store instead of building one

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client/local_store.h"
#include "common/civil_time.h"

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28 in Unix ms
constexpr char kToday[] = "2026-05-28";
constexpr int64_t kDayMs = 86'400'000;
constexpr int kCaseloadChildren = 10'000;
constexpr int kCaseloadVisits = 100'000;

// 321 characters (331 bytes of UTF-8) of what a worker writes after a visit.
constexpr char kObservations[] =
    "Lucía asistió a la visita con su abuela materna y su tío. Se observa una mejora en la "
    "asistencia escolar y en el vínculo con la abuela, aunque persisten dificultades económicas "
    "en el hogar. La familia pidió apoyo para útiles escolares. La niña dice sentirse segura y "
    "contó que ayuda en la chacra. Sin señales de maltrato.";
constexpr char kAgreedActions[] =
    "Coordinar con la DEMUNA la beca escolar; volver en dos semanas con la psicóloga.";
constexpr const char* kAttendees[] = {"01970e6a-3c1f-7b2a-9d4e-5f6a7b8c9d0e",
                                      "01970e6a-3c1f-7b2a-9d4e-5f6a7b8c9d0f"};

// Where stores are made: VINCULO_BENCH_DIR, else the system temp dir (on this machine the disk).
fs::path DiskParent() {
  if (const char* dir = std::getenv("VINCULO_BENCH_DIR")) return dir;
  return fs::temp_directory_path();
}

// A fresh directory, removed with everything in it when destroyed.
class ScratchDir {
 public:
  ScratchDir(const fs::path& parent, const std::string& name)
      : path_(parent / ("vinculo-bench-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    if (const char* keep = std::getenv("VINCULO_BENCH_KEEP"); keep != nullptr && *keep == '1') {
      std::fprintf(stderr, "kept %s\n", path_.c_str());
      return;
    }
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

LocalStore NewStore(const std::string& path) {
  Result<LocalStore> store = LocalStore::Create(
      path, {.server_url = "https://vinculo.example.org:8443", .ca_file = "ca.pem"}, kNow);
  if (!store) {
    std::fprintf(stderr, "create %s: %s\n", path.c_str(), store.error().ToString().c_str());
    std::abort();
  }
  return std::move(store).value();
}

std::string MustAdd(LocalStore& store, const v1::Record& record, int64_t now_ms) {
  Result<std::string> id = store.Add(record, now_ms);
  if (!id) {
    std::fprintf(stderr, "add: %s\n", id.error().ToString().c_str());
    std::abort();
  }
  return std::move(id).value();
}

v1::Record Child(int n, bool closed) {
  v1::Record r;
  v1::Child* c = r.mutable_child();
  c->set_given_name(n % 2 == 0 ? "Lucía" : "Mateo");
  c->set_family_name("Quispe Mamani " + std::to_string(n));
  c->set_birth_date(FormatDate(14'000 + n % 5'000));
  c->set_sex(n % 2 == 0 ? v1::SEX_FEMALE : v1::SEX_MALE);
  c->set_region("Cusco");
  c->set_programme("acogimiento familiar");
  c->set_assigned_worker("ana.quispe");
  c->set_placement(v1::PLACEMENT_KINSHIP_CARE);
  c->set_status(closed ? v1::CASE_STATUS_CLOSED : v1::CASE_STATUS_OPEN);
  c->set_risk_level(v1::RISK_LEVEL_MEDIUM);
  return r;
}

// A home visit as a worker records it: ~300 characters of observations, two attendees, GPS.
v1::Record Visit(const std::string& child_id, int64_t visited_ms) {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_child_id(child_id);
  v->set_worker("ana.quispe");
  v->set_visited_at(UtcTimestamp(visited_ms));
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  for (const char* a : kAttendees) v->add_attendees(a);
  v->set_observations(kObservations);
  v->set_risk_assessment(v1::RISK_LEVEL_MEDIUM);
  v->set_agreed_actions(kAgreedActions);
  v->set_next_visit_due(FormatDate(visited_ms / kDayMs + 14));
  v->set_latitude(-13.53195);
  v->set_longitude(-71.96746);
  return r;
}

// ---- BM_VisitAdd

void BM_VisitAdd(benchmark::State& state, bool on_tmpfs) {
  ScratchDir dir(on_tmpfs ? fs::path("/dev/shm") : DiskParent(), "visit-add");
  LocalStore store = NewStore(dir.File("store.db"));
  std::vector<std::string> children;
  for (int i = 0; i < 20; ++i) children.push_back(MustAdd(store, Child(i, false), kNow));
  int64_t now_ms = kNow;
  std::vector<double> latencies_us;
  size_t n = 0;
  for (auto _ : state) {
    const v1::Record visit = Visit(children[n % children.size()], kNow - 3'600'000);
    ++n;
    const auto start = std::chrono::steady_clock::now();
    Result<std::string> id = store.Add(visit, ++now_ms);
    const auto end = std::chrono::steady_clock::now();
    if (!id) {
      state.SkipWithError(id.error().ToString().c_str());
      break;
    }
    latencies_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  if (latencies_us.empty()) return;
  std::sort(latencies_us.begin(), latencies_us.end());
  auto at = [&](double q) {
    return latencies_us[static_cast<size_t>(q * static_cast<double>(latencies_us.size() - 1))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p90_us"] = at(0.90);
  state.counters["p99_us"] = at(0.99);
}
BENCHMARK_CAPTURE(BM_VisitAdd, disk, false)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK_CAPTURE(BM_VisitAdd, tmpfs, true)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

// ---- BM_Caseload

// The caseload dataset: 10,000 children (one in ten closed) and 100,000 visits spread at random
// over them and over the two years before kToday, each written by LocalStore::Add like any other
// write. Built once per process, on first use; removed at exit. VINCULO_CASELOAD_STORE names an
// existing store to use instead (build_seconds stays 0).
struct CaseloadDataset {
  std::unique_ptr<ScratchDir> dir;
  std::string path;
  double build_seconds = 0;

  CaseloadDataset() {
    if (const char* existing = std::getenv("VINCULO_CASELOAD_STORE")) {
      path = existing;
      return;
    }
    dir = std::make_unique<ScratchDir>(DiskParent(), "caseload");
    path = dir->File("store.db");
    const auto start = std::chrono::steady_clock::now();
    LocalStore store = NewStore(path);
    std::mt19937_64 rng(20260528);
    std::vector<std::string> children;
    children.reserve(kCaseloadChildren);
    int64_t now_ms = kNow - 730 * kDayMs;
    for (int i = 0; i < kCaseloadChildren; ++i) {
      children.push_back(MustAdd(store, Child(i, i % 10 == 9), ++now_ms));
    }
    std::uniform_int_distribution<size_t> pick(0, children.size() - 1);
    std::uniform_int_distribution<int64_t> when(kNow - 730 * kDayMs, kNow - kDayMs);
    for (int i = 0; i < kCaseloadVisits; ++i) {
      MustAdd(store, Visit(children[pick(rng)], when(rng)), kNow + i);
    }
    build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "caseload dataset: %d children, %d visits written by Add in %.1f s\n",
                 kCaseloadChildren, kCaseloadVisits, build_seconds);
  }
};

void BM_Caseload(benchmark::State& state) {
  static CaseloadDataset dataset;
  Result<LocalStore> store = LocalStore::Open(dataset.path);
  if (!store) {
    state.SkipWithError(store.error().ToString().c_str());
    return;
  }
  size_t entries = 0;
  for (auto _ : state) {
    Result<std::vector<CaseloadEntry>> caseload = store->Caseload(kToday);
    if (!caseload) {
      state.SkipWithError(caseload.error().ToString().c_str());
      break;
    }
    entries = caseload->size();
    benchmark::DoNotOptimize(caseload->data());
  }
  state.counters["entries"] = static_cast<double>(entries);
  state.counters["build_s"] = dataset.build_seconds;
}
BENCHMARK(BM_Caseload)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace
}  // namespace vinculo::client

BENCHMARK_MAIN();
