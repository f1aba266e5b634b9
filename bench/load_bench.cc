// The server under load, and a phone on 2G (issue 7). docs/performance.md, "Many devices, and a
// phone on 2G", records the figures and what bounds them.
//
//   load_bench --json-out FILE [--quick] [--devices N] [--rate R] ...
//
// 1. Many devices. A real vinculo-server process (TLS on 127.0.0.1, tests/integration/
//    server_process.h) and N simulated devices (1,000; 100 with --quick), each a field worker of
//    its own with a TLS connection of its own, driven by one Asio thread of this process.
//    A SYNC is one device's POST /v1/sync carrying 20 new home visits and its pull cursor, answered
//    with the acknowledgement and the page of changes after the cursor; it counts only when the
//    reply acknowledges all 20 (acked_seq) and refuses none. A sync's latency runs from the moment
//    its request starts to be written to the moment its reply is read and parsed; in the paced
//    phase it runs from the moment the sync was due, so a server that falls behind is charged for
//    the wait (no coordinated omission).
//    Setup, not timed: users are added to the store before the server starts (scrypt at a cheap
//    cost, as in the tests); each device then connects (TCP + TLS), logs in over POST /v1/login,
//    and pushes its child's record in a first sync. The timed phases reuse the kept-alive
//    connections.
//    - capacity: every device syncs back to back, `--capacity-rounds` times: syncs/s is the number
//      of syncs over the time from the first request to the last reply.
//    - paced: syncs are due at `--rate` per second in all (device i % N makes the i-th), each device
//      `--paced-rounds` times: the latency p50 and p99 at that rate.
//    Server peak RSS is VmHWM of /proc/PID/status at the end: the high-water mark of the whole run.
// 2. 2G. One field worker's device (the real LocalStore and client::Sync over HttpsTransport)
//    records 50 visits offline and syncs them through bench/link_proxy.h (one shared 50 kbit/s
//    link each way, 600 ms round trip, a round trip per new connection). The clock runs from the
//    call of client::Sync to its return: TCP connection, TLS handshake and every request included.
//    The device logged in and synced its child earlier (directly); a second figure times a login
//    followed by the sync, on a fresh device, through the same link.
//
// Flags for experiments: --devices-per-region N (colleagues' visits in every pull), --rate R,
// --capacity-rounds N, --paced-rounds N, --server-threads N, --server-max-group N (1: group commit
// off), --server BINARY (another build's vinculo-server, for before/after figures).
//
// The bench runs as one gtest test, because server_process.h's helpers expect one.

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_records.h"
#include "bench/bench_report.h"
#include "bench/link_proxy.h"
#include "client/https_transport.h"
#include "client/local_store.h"
#include "client/sync_client.h"
#include "common/civil_time.h"
#include "common/gzip.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/uuid.h"
#include "server/auth.h"
#include "server/sqlite_central_store.h"
// server_process.h runs the binary VINCULO_SERVER names: this build's, or --server's.
namespace vinculo::bench {
const char* ServerBinary();
}  // namespace vinculo::bench
#define VINCULO_SERVER ::vinculo::bench::ServerBinary()
#include "tests/integration/server_process.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Stream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// ---- Flags

struct Flags {
  std::string json_out;
  std::string server = VINCULO_SERVER_DEFAULT;  // the vinculo-server binary to measure
  bool quick = false;
  int devices = 1000;              // --quick: 100
  int devices_per_region = 1;      // workers sharing a region (and so each other's pulls)
  int visits_per_sync = 20;
  int capacity_rounds = 3;         // syncs per device, back to back
  int paced_rounds = 3;            // syncs per device, paced
  double rate = 2000;              // syncs/s offered in the paced phase
  int server_threads = 2;          // vinculo-server serve --threads
  int server_max_group = 0;        // vinculo-server serve --max-group (0: the server's default)
  int visits_2g = 50;
};

// ---- Records, as a field worker writes them

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A child as bench/bench_records.h makes them, with the given id.
v1::Record Child(const std::string& id, const std::string& region, const std::string& worker,
                 int n) {
  RecordMaker maker(static_cast<uint64_t>(n));
  v1::Record r = maker.Child(n, region, worker);
  r.mutable_child()->set_id(id);
  return r;
}

// A home visit as bench/bench_records.h makes them for every sync benchmark (varied Spanish
// observations, so that gzip is not flattered), under the id given ("" lets LocalStore make one).
v1::Record Visit(RecordMaker& maker, const std::string& id, const std::string& child_id,
                 const std::string& worker, int64_t visited_ms) {
  v1::Record r = maker.Visit(child_id, worker, visited_ms);
  r.mutable_home_visit()->set_id(id);
  return r;
}

// ---- A simulated device: its mutations are made with the core exactly as LocalStore makes them.

struct SimDevice {
  int index = 0;
  std::string id;
  std::string username;
  std::string region;
  std::string child_id;
  std::string token;
  uint64_t seq = 0;
  HybridClock clock;
  uint64_t cursor = 0;
  // The timed syncs' requests, serialized without their cursor (appended when sent: protobuf
  // concatenation sets the field), and the seq of each one's last mutation.
  std::vector<std::string> bodies;
  std::vector<uint64_t> last_seqs;
  std::string warm_up_body;
  // The connection, open from setup to the end.
  std::unique_ptr<Stream> stream;
  beast::flat_buffer buffer;
};

v1::Mutation NewRecord(SimDevice& d, const v1::Record& record, int64_t now_ms) {
  const std::vector<uint32_t> fields = SetFields(record);
  return MakeMutation(v1::RecordState(), record, fields, d.clock.Tick(static_cast<uint64_t>(now_ms)),
                      ++d.seq);
}

std::string RequestBody(SimDevice& d, const std::vector<v1::Record>& records, int64_t now_ms) {
  v1::SyncRequest request;
  request.set_device_id(d.id);
  request.set_limit(1000);
  // As the reference client does: its own visits come back as digests, first pulls with one
  // stamp per record. The simulated device does not check the digests; the server's work is the
  // same. No held_through: the load writes only new visits, which come whole to every device.
  request.set_accepts_echoes(true);
  request.set_accepts_echo_pages(true);
  request.set_accepts_uniform_stamps(true);
  request.set_accepts_base_stamps(true);
  for (const v1::Record& r : records) *request.add_mutations() = NewRecord(d, r, now_ms);
  request.set_clock(d.clock.last());
  return request.SerializeAsString();
}

std::string WithCursor(const std::string& body, uint64_t cursor) {
  v1::SyncRequest tail;
  tail.set_cursor(cursor);
  return body + tail.SerializeAsString();
}

// ---- HTTP over TLS, one exchange at a time per connection

struct Reply {
  int status = 0;
  std::string body;  // gzip removed
};

asio::awaitable<Result<Reply>> Exchange(SimDevice& d, const std::string& target,
                                        const std::string& body, bool with_token) {
  http::request<http::string_body> request(http::verb::post, target, 11);
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::user_agent, "vinculo-load-bench");
  request.set(http::field::content_type, "application/x-protobuf");
  request.set(http::field::accept, "application/x-protobuf");
  request.set(http::field::accept_encoding, "gzip");
  if (with_token) request.set(http::field::authorization, "Bearer " + d.token);
  request.keep_alive(true);
  request.body() = body;
  request.prepare_payload();
  beast::get_lowest_layer(*d.stream).expires_after(std::chrono::seconds(120));
  auto [wec, written] = co_await http::async_write(*d.stream, request, kUseTuple);
  if (wec) co_return Error::Unavailable("write: " + wec.message());
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  auto [rec, read] = co_await http::async_read(*d.stream, d.buffer, parser, kUseTuple);
  if (rec) co_return Error::Unavailable("read: " + rec.message());
  http::response<http::string_body> response = parser.release();
  Reply reply;
  reply.status = static_cast<int>(response.result_int());
  if (response[http::field::content_encoding] == "gzip") {
    Result<std::string> inflated = GzipDecompress(response.body(), 64u << 20);
    if (!inflated) co_return inflated.error();
    reply.body = std::move(inflated).value();
  } else {
    reply.body = std::move(response.body());
  }
  co_return reply;
}

asio::awaitable<Status> Connect(SimDevice& d, ssl::context& tls, tcp::endpoint server) {
  d.stream = std::make_unique<Stream>(co_await asio::this_coro::executor, tls);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(d.stream->native_handle()), "127.0.0.1");
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(*d.stream);
  tcp_layer.expires_after(std::chrono::seconds(60));
  auto [cec] = co_await tcp_layer.async_connect(server, kUseTuple);
  if (cec) co_return Error::Unavailable("connect: " + cec.message());
  tcp_layer.socket().set_option(tcp::no_delay(true));
  auto [hec] = co_await d.stream->async_handshake(ssl::stream_base::client, kUseTuple);
  if (hec) co_return Error::Unavailable("TLS handshake: " + hec.message());
  co_return Status::Ok();
}

// Pushes `body` with the device's cursor; checks that the reply acknowledges up to `last_seq` and
// refuses nothing; moves the cursor.
asio::awaitable<Status> SyncOnce(SimDevice& d, const std::string& body, uint64_t last_seq) {
  Result<Reply> reply = co_await Exchange(d, "/v1/sync", WithCursor(body, d.cursor), true);
  if (!reply) co_return reply.error();
  if (reply->status != 200) {
    co_return Error::Internal("sync answered HTTP " + std::to_string(reply->status));
  }
  v1::SyncResponse response;
  if (!response.ParseFromString(reply->body)) co_return Error::DataLoss("not a SyncResponse");
  if (response.acked_seq() != last_seq || response.rejections_size() != 0) {
    co_return Error::Internal("acked " + std::to_string(response.acked_seq()) + " of " +
                              std::to_string(last_seq) + ", " +
                              std::to_string(response.rejections_size()) + " rejected" +
                              (response.rejections_size() > 0
                                   ? ": " + response.rejections(0).message()
                                   : std::string()));
  }
  d.cursor = response.next_cursor();
  co_return Status::Ok();
}

// Connects, logs in, and pushes the device's child (the first sync, which also sets the cursor).
asio::awaitable<Status> SetUp(SimDevice& d, ssl::context& tls, tcp::endpoint server) {
  if (Status s = co_await Connect(d, tls, server); !s.ok()) co_return s;
  v1::LoginRequest login;
  login.set_username(d.username);
  login.set_password(testing::ServerProcess::Password(d.username));
  login.set_device_id(d.id);
  Result<Reply> reply = co_await Exchange(d, "/v1/login", login.SerializeAsString(), false);
  if (!reply) co_return reply.error();
  v1::LoginResponse response;
  if (reply->status != 200 || !response.ParseFromString(reply->body)) {
    co_return Error::Unauthenticated("login answered HTTP " + std::to_string(reply->status));
  }
  d.token = response.token();
  co_return co_await SyncOnce(d, d.warm_up_body, 1);
}

// ---- Statistics

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t at = static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(at, values.size() - 1)];
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A line of /proc/PID/status, in kB ("VmHWM", "VmRSS"); 0 when unreadable.
int64_t ProcStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  }
  return 0;
}

// User + system CPU time of a process (or, with `task` "/task/TID", of one of its threads) so far,
// in seconds.
double ProcCpuSeconds(pid_t pid, const std::string& task = "") {
  std::ifstream in("/proc/" + std::to_string(pid) + task + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of each thread of a process so far, by thread id.
std::map<std::string, double> ThreadCpuSeconds(pid_t pid) {
  std::map<std::string, double> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string tid = entry.path().filename().string();
    out[tid] = ProcCpuSeconds(pid, "/task/" + tid);
  }
  return out;
}

// The CPU each thread used between two ThreadCpuSeconds readings, most first.
std::vector<double> ThreadSecondsUsed(const std::map<std::string, double>& before,
                                      const std::map<std::string, double>& after) {
  std::vector<double> used;
  for (const auto& [tid, seconds] : after) {
    auto was = before.find(tid);
    used.push_back(seconds - (was == before.end() ? 0.0 : was->second));
  }
  std::sort(used.rbegin(), used.rend());
  return used;
}

// The share of the last 60 s in which some runnable task waited for a CPU (/proc/pressure/cpu,
// "some avg60"), in percent: how much other work competed with the benchmark.
double CpuPressurePercent() {
  std::ifstream in("/proc/pressure/cpu");
  std::string line;
  std::getline(in, line);
  const size_t at = line.find("avg60=");
  return at == std::string::npos ? -1 : std::stod(line.substr(at + 6));
}

std::string Number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

void PrintTable(const std::vector<Figure>& figures) {
  std::printf("\n%-44s %12s %-8s %-16s %s\n", "figure", "value", "unit", "target", "");
  for (const Figure& f : figures) {
    std::string value = Number(f.value);
    if (f.p99) value = "p50 " + Number(f.value) + " p99 " + Number(*f.p99);
    std::printf("%-44s %12s %-8s %-16s %s\n", f.name.c_str(), value.c_str(), f.unit.c_str(),
                f.target.c_str(),
                f.target.empty() ? "" : (f.met.value_or(false) ? "met" : "MISSED"));
    if (!f.note.empty()) std::printf("    %s\n", f.note.c_str());
  }
  std::fflush(stdout);
}

// ---- 1. Many devices

struct PhaseResult {
  int syncs = 0;
  int errors = 0;
  std::string first_error;
  double seconds = 0;
  std::vector<double> latencies_ms;
  double server_cpu_s = 0;
  std::vector<double> thread_cpu_s;  // each server thread's CPU, most first
};

void Fail(PhaseResult& r, const Status& s) {
  ++r.errors;
  if (r.first_error.empty()) r.first_error = s.error().ToString();
}

// Device `d` makes `rounds` syncs, each as soon as the last one's reply came.
asio::awaitable<void> BackToBack(SimDevice& d, int rounds, PhaseResult& result) {
  for (size_t r = 0; r < static_cast<size_t>(rounds); ++r) {
    const auto begin = Clock::now();
    Status s = co_await SyncOnce(d, d.bodies[r], d.last_seqs[r]);
    if (!s.ok()) {
      Fail(result, s);
      co_return;
    }
    result.latencies_ms.push_back(Millis(Clock::now() - begin));
    ++result.syncs;
  }
}

// Device `d` makes its paced syncs: the i-th sync of all is due at start + i / rate, and device
// d makes syncs d, d + n, d + 2n... Latency runs from when a sync was due.
asio::awaitable<void> Paced(SimDevice& d, const Flags& flags, size_t n, Clock::time_point start,
                            PhaseResult& result) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto interval = std::chrono::duration<double>(1.0 / flags.rate);
  for (int r = 0; r < flags.paced_rounds; ++r) {
    const size_t i = static_cast<size_t>(r) * n + static_cast<size_t>(d.index);
    const auto due =
        start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
    timer.expires_at(due);
    co_await timer.async_wait(kUseTuple);
    const size_t body = static_cast<size_t>(flags.capacity_rounds + r);
    Status s = co_await SyncOnce(d, d.bodies[body], d.last_seqs[body]);
    if (!s.ok()) {
      Fail(result, s);
      co_return;
    }
    result.latencies_ms.push_back(Millis(Clock::now() - due));
    ++result.syncs;
  }
}

void ManyDevices(const Flags& flags, std::vector<Figure>& figures) {
  // Before the devices: their streams must go before the io_context and TLS context they use.
  asio::io_context ioc(1);
  ssl::context tls(ssl::context::tls_client);
  server::testing::TempDir dir;
  std::vector<std::string> serve_flags{"--quiet", "--threads", std::to_string(flags.server_threads),
                                       "--max-connections",
                                       std::to_string(std::max(2000, flags.devices + 100))};
  if (flags.server_max_group > 0) {
    serve_flags.push_back("--max-group");
    serve_flags.push_back(std::to_string(flags.server_max_group));
  }
  testing::ServerProcess process(dir, serve_flags);
  const int n = flags.devices;
  std::vector<SimDevice> devices(static_cast<size_t>(n));
  const auto setup_start = Clock::now();
  {
    // Users straight into the store before the server starts: scrypt at the tests' cheap cost
    // (the default costs ~0.1 s a hash, which would make setup minutes long).
    Result<std::unique_ptr<server::CentralStore>> store =
        server::OpenSqliteCentralStore(process.data_dir(), /*create=*/true);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    RecordMaker maker(7);
    const int64_t now = WallMs();
    for (int i = 0; i < n; ++i) {
      SimDevice& d = devices[static_cast<size_t>(i)];
      d.index = i;
      d.id = NewUuidV7(static_cast<uint64_t>(now)).value();
      char name[32];
      std::snprintf(name, sizeof name, "worker%04d", i);
      d.username = name;
      std::snprintf(name, sizeof name, "R%04d", i / flags.devices_per_region);
      d.region = name;
      Result<std::string> hash = server::HashPassword(testing::ServerProcess::Password(d.username),
                                                      {.n = 1024, .r = 8, .p = 1});
      ASSERT_TRUE(hash.has_value());
      ASSERT_TRUE((*store)
                      ->AddUser({.username = d.username,
                                 .password_hash = *hash,
                                 .role = server::Role::kFieldWorker,
                                 .region = d.region,
                                 .created_ms = now})
                      .ok());
      d.child_id = NewUuidV7(static_cast<uint64_t>(now)).value();
      d.warm_up_body = RequestBody(d, {Child(d.child_id, d.region, d.username, i)}, now);
      const int rounds = flags.capacity_rounds + flags.paced_rounds;
      for (int r = 0; r < rounds; ++r) {
        std::vector<v1::Record> visits;
        for (int v = 0; v < flags.visits_per_sync; ++v) {
          const int64_t visited = now - 86'400'000 + (r * flags.visits_per_sync + v) * 60'000;
          visits.push_back(Visit(maker, NewUuidV7(static_cast<uint64_t>(now)).value(),
                                 d.child_id, d.username, visited));
        }
        d.bodies.push_back(RequestBody(d, visits, now));
        d.last_seqs.push_back(d.seq);
      }
    }
  }
  const double build_s = Seconds(Clock::now() - setup_start);
  process.Start();
  const pid_t pid = process.pid();

  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  tls.set_verify_mode(ssl::verify_peer);
  tls.load_verify_file(process.ca());
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), process.port());

  // Setup over the network: 64 devices at a time connect, log in and push their child.
  PhaseResult setup;
  const auto connect_start = Clock::now();
  {
    size_t next = 0;
    auto worker = [&]() -> asio::awaitable<void> {
      while (next < devices.size()) {
        SimDevice& d = devices[next++];
        if (Status s = co_await SetUp(d, tls, endpoint); !s.ok()) Fail(setup, s);
      }
    };
    for (int w = 0; w < 64; ++w) asio::co_spawn(ioc, worker(), asio::detached);
    ioc.run();
    ioc.restart();
  }
  const double connect_s = Seconds(Clock::now() - connect_start);
  ASSERT_EQ(setup.errors, 0) << setup.first_error;
  std::printf("setup: %d devices built in %.1f s; connected, logged in and first-synced in %.1f s\n",
              n, build_s, connect_s);
  std::fflush(stdout);

  // Capacity: every device syncs back to back.
  PhaseResult capacity;
  {
    const double cpu_before = ProcCpuSeconds(pid);
    const std::map<std::string, double> threads_before = ThreadCpuSeconds(pid);
    const auto start = Clock::now();
    for (SimDevice& d : devices) {
      asio::co_spawn(ioc, BackToBack(d, flags.capacity_rounds, capacity), asio::detached);
    }
    ioc.run();
    ioc.restart();
    capacity.seconds = Seconds(Clock::now() - start);
    capacity.server_cpu_s = ProcCpuSeconds(pid) - cpu_before;
    capacity.thread_cpu_s = ThreadSecondsUsed(threads_before, ThreadCpuSeconds(pid));
  }

  // Paced: the i-th sync is due at start + i / rate, made by device i % n.
  PhaseResult paced;
  {
    const double cpu_before = ProcCpuSeconds(pid);
    const auto start = Clock::now() + std::chrono::milliseconds(100);
    for (SimDevice& d : devices) {
      asio::co_spawn(ioc, Paced(d, flags, devices.size(), start, paced), asio::detached);
    }
    ioc.run();
    ioc.restart();
    paced.seconds = Seconds(Clock::now() - start);
    paced.server_cpu_s = ProcCpuSeconds(pid) - cpu_before;
  }
  const double peak_mb = static_cast<double>(ProcStatusKb(pid, "VmHWM")) / 1024.0;
  const double pressure = CpuPressurePercent();

  const std::string label = std::to_string(n) + " devices: ";
  const double syncs_per_s = capacity.syncs / std::max(capacity.seconds, 1e-9);
  const double p50 = Percentile(paced.latencies_ms, 0.50);
  const double p99 = Percentile(paced.latencies_ms, 0.99);
  const int errors = capacity.errors + paced.errors;
  figures.push_back({.name = label + "syncs/s",
                     .value = std::round(syncs_per_s),
                     .unit = "syncs/s",
                     .target = ">= 2000",
                     .met = syncs_per_s >= 2000 && errors == 0,
                     .note = std::to_string(capacity.syncs) + " syncs of " +
                             std::to_string(flags.visits_per_sync) + " visits, every device back "
                             "to back, in " + Number(capacity.seconds) + " s"});
  figures.push_back({.name = label + "sync latency",
                     .value = p50,
                     .unit = "ms",
                     .stat = "p50",
                     .p99 = p99,
                     .target = "p99 <= 100 ms",
                     .met = p99 <= 100 && errors == 0,
                     .note = "paced at " + Number(flags.rate) + " syncs/s offered (" +
                             std::to_string(paced.syncs) + " syncs in " +
                             Number(paced.seconds) + " s), from when each sync was due"});
  figures.push_back({.name = label + "server peak RSS",
                     .value = std::round(peak_mb),
                     .unit = "MB",
                     .target = "<= 300 MB",
                     .met = peak_mb <= 300,
                     .note = "VmHWM of vinculo-server over the whole run"});
  figures.push_back({.name = label + "sync latency, back to back",
                     .value = Percentile(capacity.latencies_ms, 0.50),
                     .unit = "ms",
                     .stat = "p50",
                     .p99 = Percentile(capacity.latencies_ms, 0.99),
                     .note = "every device's next sync as soon as its last reply came: queueing"});
  figures.push_back({.name = label + "server CPU per sync",
                     .value = 1000.0 * capacity.server_cpu_s / std::max(capacity.syncs, 1),
                     .unit = "ms",
                     .note = "user + system time of vinculo-server over the back-to-back phase"});
  std::string per_thread;
  for (double t : capacity.thread_cpu_s) {
    if (t <= 0) continue;
    per_thread += (per_thread.empty() ? "" : ", ") +
                  Number(1000.0 * t / std::max(capacity.syncs, 1));
  }
  figures.push_back({.name = label + "busiest server thread CPU per sync",
                     .value = capacity.thread_cpu_s.empty()
                                  ? 0
                                  : 1000.0 * capacity.thread_cpu_s.front() /
                                        std::max(capacity.syncs, 1),
                     .unit = "ms",
                     .note = "back-to-back phase; one thread serves at most 1000 / this syncs/s. "
                             "Each thread, ms per sync: " + per_thread});
  figures.push_back({.name = label + "sync errors",
                     .value = static_cast<double>(errors),
                     .unit = "syncs",
                     .target = "0",
                     .met = errors == 0,
                     .note = capacity.first_error.empty() ? paced.first_error
                                                          : capacity.first_error});
  figures.push_back({.name = "machine: CPU pressure during the run",
                     .value = pressure,
                     .unit = "%",
                     .note = "/proc/pressure/cpu some avg60 at the end of the paced phase: the "
                             "time runnable tasks waited for a CPU (other work on the machine)"});
  figures.push_back({.name = label + "setup: connect, TLS, login, first sync",
                     .value = connect_s,
                     .unit = "s",
                     .note = "64 devices at a time; not timed in the figures above"});
}

// ---- 2. A phone on 2G

client::LocalStore MustCreateStore(const std::string& path, const std::string& url,
                                   const std::string& ca) {
  Result<client::LocalStore> store =
      client::LocalStore::Create(path, {.server_url = url, .ca_file = ca}, WallMs());
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return std::move(store).value();
}

struct TwoGResult {
  double seconds = 0;
  LinkStats link;
  std::string error;
};

// Syncs `store` through a fresh link proxy; logs in first when `login` is set.
TwoGResult SyncOver2G(testing::ServerProcess& process, client::LocalStore& store,
                      const std::string& username, bool login) {
  TwoGResult out;
  Result<std::unique_ptr<LinkProxy>> proxy = LinkProxy::Start("127.0.0.1", process.port());
  if (!proxy) {
    out.error = proxy.error().ToString();
    return out;
  }
  const std::string url = "https://127.0.0.1:" + std::to_string((*proxy)->port());
  Result<std::unique_ptr<client::Transport>> transport =
      client::HttpsTransport::Create(url, process.ca());
  if (!transport) {
    out.error = transport.error().ToString();
    return out;
  }
  const auto start = Clock::now();
  if (login) {
    Result<client::LoginResult> in = client::Login(
        **transport, store, username, testing::ServerProcess::Password(username), WallMs());
    if (!in) out.error = in.error().ToString();
  }
  if (out.error.empty()) {
    Result<client::SyncSummary> synced = client::Sync(**transport, store, {}, WallMs);
    if (!synced) out.error = synced.error().ToString();
  }
  out.seconds = Seconds(Clock::now() - start);
  out.link = (*proxy)->stats();
  return out;
}

void TwoG(const Flags& flags, std::vector<Figure>& figures) {
  server::testing::TempDir dir;
  testing::ServerProcess process(dir, {"--quiet"});
  process.AddUser("ana.quispe", "field_worker", "Cusco");  // the default scrypt cost: a real login
  process.Start();
  RecordMaker maker(11);
  for (const bool login : {false, true}) {
    const std::string store_path = dir / (login ? "fresh.db" : "phone.db");
    client::LocalStore store = MustCreateStore(store_path, process.url(), process.ca());
    // Set-up on a fast link: log in, record the child, sync it.
    Result<std::unique_ptr<client::Transport>> direct =
        client::HttpsTransport::Create(process.url(), process.ca());
    ASSERT_TRUE(direct.has_value());
    ASSERT_TRUE(client::Login(**direct, store, "ana.quispe",
                              testing::ServerProcess::Password("ana.quispe"), WallMs())
                    .has_value());
    const int64_t now = WallMs();
    Result<std::string> child =
        store.Add(Child("", "Cusco", "ana.quispe", login ? 2 : 1), now);
    ASSERT_TRUE(child.has_value()) << child.error().ToString();
    ASSERT_TRUE(client::Sync(**direct, store, {}, WallMs).has_value());
    if (login) {
      // A fresh start: the token is forgotten, so the sync over 2G must log in first.
      ASSERT_TRUE(store.SetCredentials("ana.quispe", "").ok());
    }
    // 50 visits recorded offline.
    for (int v = 0; v < flags.visits_2g; ++v) {
      Result<std::string> id = store.Add(
          Visit(maker, "", *child, "ana.quispe", now - 86'400'000 + v * 600'000), WallMs());
      ASSERT_TRUE(id.has_value()) << id.error().ToString();
    }
    const TwoGResult r = SyncOver2G(process, store, "ana.quispe", login);
    const std::string bytes = std::to_string(r.link.bytes_up) + " bytes up, " +
                              std::to_string(r.link.bytes_down) + " down, " +
                              std::to_string(r.link.connections) + " connection(s)";
    if (!login) {
      figures.push_back({.name = "2G: " + std::to_string(flags.visits_2g) + " visits",
                         .value = r.seconds,
                         .unit = "s",
                         .target = "<= 5 s",
                         .met = r.error.empty() && r.seconds <= 5,
                         .note = r.error.empty() ? "already logged in; " + bytes : r.error});
    } else {
      figures.push_back({.name = "2G: login, then " + std::to_string(flags.visits_2g) + " visits",
                         .value = r.seconds,
                         .unit = "s",
                         .note = r.error.empty() ? bytes : r.error});
    }
  }
}

Flags g_flags;
std::vector<Figure> g_figures;

}  // namespace

const char* ServerBinary() { return g_flags.server.c_str(); }

namespace {

class LoadBench : public ::testing::Test {
 public:
  void TestBody() override {
    ManyDevices(g_flags, g_figures);
    TwoG(g_flags, g_figures);
  }
};

int Usage() {
  std::fprintf(stderr,
               "usage: load_bench --json-out FILE [--quick] [--devices N] [--devices-per-region N]"
               " [--rate SYNCS_PER_S] [--capacity-rounds N] [--paced-rounds N]"
               " [--server-threads N] [--server-max-group N] [--server BINARY]\n");
  return 2;
}

}  // namespace
}  // namespace vinculo::bench

int main(int argc, char** argv) {
  using namespace vinculo::bench;
  DieProgramName() = "load_bench";
  Flags& f = g_flags;
  bool devices_set = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--json-out") {
      f.json_out = next();
    } else if (arg == "--quick") {
      f.quick = true;
    } else if (arg == "--devices") {
      f.devices = std::stoi(next());
      devices_set = true;
    } else if (arg == "--devices-per-region") {
      f.devices_per_region = std::max(1, std::stoi(next()));
    } else if (arg == "--rate") {
      f.rate = std::stod(next());
    } else if (arg == "--capacity-rounds") {
      f.capacity_rounds = std::stoi(next());
    } else if (arg == "--paced-rounds") {
      f.paced_rounds = std::stoi(next());
    } else if (arg == "--server-threads") {
      f.server_threads = std::stoi(next());
    } else if (arg == "--server") {
      f.server = next();
    } else if (arg == "--server-max-group") {
      f.server_max_group = std::stoi(next());
    } else {
      return Usage();
    }
  }
  if (f.json_out.empty() || f.devices < 1 || f.rate <= 0) return Usage();
  if (f.quick && !devices_set) f.devices = 100;
  int gtest_argc = 1;
  ::testing::InitGoogleTest(&gtest_argc, argv);
  ::testing::RegisterTest("LoadBench", "Run", nullptr, nullptr, __FILE__, __LINE__,
                          []() -> ::testing::Test* { return new LoadBench(); });
  const int status = RUN_ALL_TESTS();
  PrintTable(g_figures);
  const vinculo::Status written =
      WriteFiguresJson(f.json_out, "load", f.quick ? "quick" : "full", g_figures, Number);
  if (!written.ok()) Die(written.error().ToString());
  std::printf("wrote %s\n", f.json_out.c_str());
  return status;
}
