// Micro-benchmarks of the sync hot paths, per record (Google Benchmark). docs/performance.md
// ("Sync, end to end") reads them beside the end-to-end figures of sync_bench.cc.
//
//   BM_MergeNew           MergeState of a pulled visit into a device that lacks it
//   BM_MergeSame          MergeState of a visit into a device that holds it already (an echo)
//   BM_ApplyMutation      ApplyMutation of a new visit's mutation: the server's merge
//   BM_EncodeState        RecordState serialization (what a stored row and a pulled change are)
//   BM_DecodeState        RecordState parsing
//   BM_EncodeMutation     Mutation serialization (an outbox entry, a pushed change)
//   BM_DecodeMutation     Mutation parsing
//   BM_ZstdBody/L         zstd at level L of a sync body of 50 visits (a pull page of their
//                         states), per visit; bytes_per_visit is the compressed size. The level
//                         HTTP bodies use is kZstdBodyLevel (common/zstd.h)
//   BM_DeviceAddAll       LocalStore::AddAll, 500 visits per transaction, file on disk
//   BM_DeviceApplyPage    LocalStore::ApplySyncResponse of a 1,000-change page, file on disk
//   BM_ServerPush         SyncService::Sync of 500 pushed visits into central.db on disk
//
// Times are wall-clock (UseRealTime) for the store benchmarks, since commits wait on the disk;
// every benchmark reports per record (items_per_second, and the time divided by the batch).
// Stores go in $VINCULO_BENCH_DIR or the system temp dir.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_records.h"
#include "client/local_store.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/uuid.h"
#include "common/zstd.h"
#include "server/auth.h"
#include "server/sqlite_central_store.h"
#include "server/sync_service.h"

namespace vinculo::bench {
namespace {

namespace fs = std::filesystem;
using client::LocalStore;

constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28 in Unix ms
constexpr char kDevice[] = "01970e6a-0000-7000-8000-0000000000aa";
constexpr char kRegion[] = "Cusco";
constexpr char kWorker[] = "ana";

fs::path BenchDir(const std::string& name) {
  const char* parent = std::getenv("VINCULO_BENCH_DIR");
  fs::path dir = fs::path(parent ? parent : fs::temp_directory_path().string()) /
                 ("vinculo-micro-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "micro_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

void Must(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "micro_bench: %s\n", s.error().ToString().c_str());
    std::abort();
  }
}

// A device in memory holding one child and `visits` visits, as its outbox and its states.
struct Sample {
  std::string child_id;
  std::vector<v1::Mutation> mutations;  // the visits' mutations, seq order
  std::vector<v1::RecordState> states;  // the visits' states
};

Sample MakeSample(int visits, uint64_t seed) {
  LocalStore store = Must(LocalStore::Create(
      ":memory:", {.server_url = "https://x", .ca_file = "ca", .device_id = kDevice}, kNow));
  RecordMaker maker(seed);
  Sample s;
  s.child_id = Must(store.Add(maker.Child(0, kRegion, kWorker), kNow));
  std::vector<v1::Record> batch;
  for (int i = 0; i < visits; ++i) {
    batch.push_back(maker.Visit(s.child_id, kWorker, kNow - (i % 700) * kBenchDayMs));
  }
  Must(store.AddAll(batch, kNow));
  s.mutations = Must(store.Pending(static_cast<size_t>(visits) + 1));
  s.mutations.erase(s.mutations.begin());  // the child
  s.states = Must(store.List(v1::RECORD_TYPE_HOME_VISIT));
  return s;
}

const Sample& SharedSample() {
  static const Sample* const kSample = new Sample(MakeSample(1000, 3));
  return *kSample;
}

// ---- The core

void BM_MergeNew(benchmark::State& state) {
  const Sample& s = SharedSample();
  size_t i = 0;
  for (auto _ : state) {
    v1::RecordState local;
    benchmark::DoNotOptimize(MergeState(&local, s.states[i++ % s.states.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MergeNew);

void BM_MergeSame(benchmark::State& state) {
  const Sample& s = SharedSample();
  std::vector<v1::RecordState> held = s.states;
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % held.size();
    benchmark::DoNotOptimize(MergeState(&held[k], s.states[k]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MergeSame);

void BM_ApplyMutation(benchmark::State& state) {
  const Sample& s = SharedSample();
  size_t i = 0;
  for (auto _ : state) {
    v1::RecordState stored;
    benchmark::DoNotOptimize(ApplyMutation(&stored, s.mutations[i++ % s.mutations.size()], kDevice));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApplyMutation);

// ---- Encoding

void BM_EncodeState(benchmark::State& state) {
  const Sample& s = SharedSample();
  size_t i = 0, bytes = 0;
  std::string out;
  for (auto _ : state) {
    s.states[i++ % s.states.size()].SerializeToString(&out);
    bytes += out.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EncodeState);

void BM_DecodeState(benchmark::State& state) {
  const Sample& s = SharedSample();
  std::vector<std::string> encoded;
  for (const v1::RecordState& st : s.states) encoded.push_back(st.SerializeAsString());
  size_t i = 0, bytes = 0;
  v1::RecordState out;
  for (auto _ : state) {
    const std::string& e = encoded[i++ % encoded.size()];
    benchmark::DoNotOptimize(out.ParseFromString(e));
    bytes += e.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_DecodeState);

void BM_EncodeMutation(benchmark::State& state) {
  const Sample& s = SharedSample();
  size_t i = 0, bytes = 0;
  std::string out;
  for (auto _ : state) {
    s.mutations[i++ % s.mutations.size()].SerializeToString(&out);
    bytes += out.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EncodeMutation);

void BM_DecodeMutation(benchmark::State& state) {
  const Sample& s = SharedSample();
  std::vector<std::string> encoded;
  for (const v1::Mutation& m : s.mutations) encoded.push_back(m.SerializeAsString());
  size_t i = 0, bytes = 0;
  v1::Mutation out;
  for (auto _ : state) {
    const std::string& e = encoded[i++ % encoded.size()];
    benchmark::DoNotOptimize(out.ParseFromString(e));
    bytes += e.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_DecodeMutation);

// A body of the size an incremental sync sends, compressed at the level given: what each level
// costs per visit in time (both ends pay it) and in bytes.
void BM_ZstdBody(benchmark::State& state) {
  constexpr int kVisits = 50;
  const Sample& s = SharedSample();
  v1::SyncResponse page;
  for (int i = 0; i < kVisits; ++i) {
    v1::Change* c = page.add_changes();
    c->set_server_seq(static_cast<uint64_t>(i) + 1);
    *c->mutable_state() = s.states[static_cast<size_t>(i)];
  }
  const std::string body = page.SerializeAsString();
  const int level = static_cast<int>(state.range(0));
  size_t compressed = 0;
  for (auto _ : state) {
    const std::string out = ZstdCompress(body, level);
    compressed = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kVisits);
  state.counters["bytes_per_visit"] = static_cast<double>(compressed) / kVisits;
}
BENCHMARK(BM_ZstdBody)->Arg(1)->Arg(3)->Arg(6);

// ---- Store writes

void BM_DeviceAddAll(benchmark::State& state) {
  constexpr int kBatch = 500;
  const fs::path dir = BenchDir("add-all");
  LocalStore store = Must(LocalStore::Create((dir / "store.db").string(),
                                             {.server_url = "https://x", .ca_file = "ca"}, kNow));
  RecordMaker maker(5);
  const std::string child = Must(store.Add(maker.Child(0, kRegion, kWorker), kNow));
  std::vector<v1::Record> batch;
  for (int i = 0; i < kBatch; ++i) batch.push_back(maker.Visit(child, kWorker, kNow - i * 3'600'000));
  for (auto _ : state) Must(store.AddAll(batch, kNow));
  state.SetItemsProcessed(state.iterations() * kBatch);
  fs::remove_all(dir);
}
BENCHMARK(BM_DeviceAddAll)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(20);

// The pulled page: 1,000 new visits, as the server sends them.
void BM_DeviceApplyPage(benchmark::State& state) {
  constexpr int kPage = 1000;
  static const Sample* const kPageSample = new Sample(MakeSample(kPage * 20, 11));
  const fs::path dir = BenchDir("apply-page");
  LocalStore store = Must(LocalStore::Create((dir / "store.db").string(),
                                             {.server_url = "https://x", .ca_file = "ca"}, kNow));
  uint64_t cursor = 0;
  size_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    v1::SyncResponse page;
    for (int i = 0; i < kPage; ++i) {
      v1::Change* c = page.add_changes();
      c->set_server_seq(++cursor);
      *c->mutable_state() = kPageSample->states[next++ % kPageSample->states.size()];
    }
    page.set_next_cursor(cursor);
    page.set_server_clock(MakeHlc(kNow, 0));
    state.ResumeTiming();
    Must(store.ApplySyncResponse(page, kNow));
  }
  state.SetItemsProcessed(state.iterations() * kPage);
  fs::remove_all(dir);
}
BENCHMARK(BM_DeviceApplyPage)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(20);

// 500 pushed visits per request into a central store on disk: the server's whole per-request work
// but HTTP and TLS (validation, merge, region lookup, audit, the echo page).
void BM_ServerPush(benchmark::State& state) {
  constexpr int kBatch = 500;
  constexpr int kIterations = 20;
  static const Sample* const kPushSample = new Sample(MakeSample(kBatch * kIterations, 13));
  const fs::path dir = BenchDir("server-push");
  std::unique_ptr<server::CentralStore> store =
      Must(server::OpenSqliteCentralStore((dir / "data").string(), true));
  Must(store->AddUser({.username = kWorker, .password_hash = "x", .region = kRegion}));
  Must(store->IssueDeviceToken(kDevice, kWorker, "hash", kNow + 86'400'000, kNow, "store"));
  server::SyncService service(*store, {});
  const server::Principal who{.username = kWorker,
                              .role = server::Role::kFieldWorker,
                              .region = kRegion,
                              .device_id = kDevice};
  // The child first: seq 1 in the sample's store.
  v1::SyncRequest first;
  first.set_device_id(kDevice);
  v1::Mutation child;
  child.set_seq(1);
  {
    RecordMaker maker(13);
    v1::Record record = maker.Child(0, kRegion, kWorker);
    record.mutable_child()->set_id(kPushSample->child_id);
    child = MakeMutation(v1::RecordState(), record, SetFields(record), MakeHlc(kNow, 0), 1);
  }
  *first.add_mutations() = child;
  const int64_t now = kNow + 1000;
  Must(service.Sync(who, first, now));
  uint64_t cursor = 0;
  size_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    v1::SyncRequest request;
    request.set_device_id(kDevice);
    request.set_cursor(cursor);
    request.set_limit(1000);
    for (int i = 0; i < kBatch; ++i) *request.add_mutations() = kPushSample->mutations[next++];
    state.ResumeTiming();
    v1::SyncResponse reply = Must(service.Sync(who, request, now));
    cursor = reply.next_cursor();
    benchmark::DoNotOptimize(reply.SerializeAsString());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  fs::remove_all(dir);
}
BENCHMARK(BM_ServerPush)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
}  // namespace vinculo::bench

BENCHMARK_MAIN();
