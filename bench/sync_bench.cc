// The end-to-end sync benchmark: a real vinculo-server process over TLS on loopback, real device
// stores on disk, every byte counted on the TCP connection. docs/performance.md ("Sync, end to
// end") records a full run, the targets and what bounds each figure.
//
//   sync_bench --json-out FILE [--quick] [--keep]
//
// Figures (full mode; --quick divides the sizes by ten and runs 50 incremental rounds):
//   L              plain SQLite inserts of the same visit rows, with the same table and indexes
//                  (read from a real store's schema), batched as our path batches them, WAL and
//                  synchronous = FULL: one for the server's rows (the bound for push), one for the
//                  device's (the bound for pull).
//   push           100,000 visits from one device's outbox to the server (client/sync_client.h
//                  over HttpsTransport, the defaults of `vinculo sync`).
//   pull           those visits (and their children) into a fresh device by the real `vinculo
//                  sync` binary, in a child process: its peak RSS is its ru_maxrss, taken by
//                  bench/peak_rss (see RunChild for why not straight from wait4).
//   incremental    on an open connection, per round: another device changes 50 visits and syncs;
//                  this device changes 50 others and syncs, pushing its 50 and pulling the
//                  other's 50. Median and p99 of this device's sync.
//   bytes          TCP payload bytes through a counting proxy between client and server (both
//                  directions; TLS records and HTTP headers included, TCP/IP headers not), per
//                  visit, compressed (zstd, the default) and not (a second region, 1/5 the size).
//
// VINCULO_SERVER, VINCULO_CLI, VINCULO_PEAK_RSS and VINCULO_MAKE_CERTS (the binaries and the
// certificate script) are set by CMake. Scratch files go in $VINCULO_BENCH_DIR or the system temp dir, which must be on the
// disk being measured.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_records.h"
#include "bench/bench_report.h"
#include "client/https_transport.h"
#include "client/local_store.h"
#include "client/store_schema.h"
#include "client/sync_client.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/sqlite.h"
#include "common/uuid.h"
#include "common/zstd.h"
#include "server/sqlite_central_store.h"

namespace vinculo::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using client::LocalStore;

constexpr char kRegion[] = "Cusco";
constexpr char kWorker[] = "ana";
constexpr char kOtherRegion[] = "Puno";
constexpr char kOtherWorker[] = "beto";
constexpr size_t kPushBatch = 500;   // `vinculo sync` defaults
constexpr uint32_t kPullPage = 1000;
constexpr int kEditsPerSide = 50;    // an incremental round syncs 2 × 50 changed visits

struct Sizes {
  int visits;              // pushed and pulled compressed
  int children;
  int rounds;              // incremental rounds compressed
  int plain_visits;        // pushed and pulled without compression (the other region)
  int plain_rounds;
};
constexpr Sizes kFull{100'000, 1'000, 200, 20'000, 50};
constexpr Sizes kQuick{10'000, 100, 50, 2'000, 20};

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- Child processes

struct ChildResult {
  int status = -1;        // exit status, -1 when killed
  std::string output;     // stdout and stderr together
  double seconds = 0;
  long max_rss_kb = 0;    // the program's peak RSS, when asked for (RunChild's measure_rss)
};

// Runs argv[0] with `input` on its standard input; returns its output and exit status. With
// `measure_rss`, it runs under bench/peak_rss, which reports the program's own peak RSS: ru_maxrss
// of a child forked from this process would be this process's (Linux keeps ru_maxrss across exec,
// and a forked child starts with all of its parent's pages mapped), which grows with the dataset.
ChildResult RunChild(std::vector<std::string> argv, const std::string& input,
                     bool measure_rss = false) {
  const fs::path rss_file =
      fs::temp_directory_path() / ("sync_bench_rss." + std::to_string(getpid()));
  if (measure_rss) {
    argv.insert(argv.begin(), {VINCULO_PEAK_RSS, rss_file.string()});
  }
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) Die("pipe failed");
  // Made before fork: the child of a process with threads must not allocate before execv.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const Clock::time_point start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    close(in_pipe[1]);
    close(out_pipe[0]);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (!input.empty()) (void)!write(in_pipe[1], input.data(), input.size());
  close(in_pipe[1]);
  ChildResult result;
  char buffer[4096];
  for (ssize_t n; (n = read(out_pipe[0], buffer, sizeof buffer)) > 0;) {
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  result.seconds = Seconds(start);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (measure_rss) {
    std::ifstream in(rss_file);
    if (!(in >> result.max_rss_kb)) Die("peak_rss wrote no figure for " + argv[2]);
    in.close();
    fs::remove(rss_file);
  }
  return result;
}

// ---- The counting proxy: relays TCP between clients and the server and counts the bytes each
// way. TLS passes through untouched, so the counts are what a link would carry above TCP.

class CountingProxy {
 public:
  explicit CountingProxy(uint16_t target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 64) != 0) {
      Die("proxy: cannot listen");
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (pipe(stop_pipe_) != 0) Die("pipe failed");
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~CountingProxy() {
    (void)!write(stop_pipe_[1], "x", 1);
    acceptor_.join();
    std::vector<std::thread> relays;
    {
      std::lock_guard<std::mutex> lock(mu_);
      relays.swap(relays_);
    }
    for (std::thread& t : relays) t.join();
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

  uint16_t port() const { return port_; }
  uint64_t up() const { return up_.load(); }      // client → server
  uint64_t down() const { return down_.load(); }  // server → client
  uint64_t total() const { return up() + down(); }

 private:
  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(target_port_);
      if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(client);
        close(server);
        continue;
      }
      const int one = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard<std::mutex> lock(mu_);
      relays_.emplace_back([this, client, server] { Relay(client, server); });
    }
  }

  void Relay(int client, int server) {
    char buffer[64 * 1024];
    bool client_open = true, server_open = true;
    while (client_open || server_open) {
      pollfd fds[3] = {{client_open ? client : -1, POLLIN, 0},
                       {server_open ? server : -1, POLLIN, 0},
                       {stop_pipe_[0], POLLIN, 0}};
      if (poll(fds, 3, -1) < 0) continue;
      if (fds[2].revents != 0) break;
      for (int side = 0; side < 2; ++side) {
        if (fds[side].revents == 0) continue;
        const int from = side == 0 ? client : server;
        const int to = side == 0 ? server : client;
        const ssize_t n = read(from, buffer, sizeof buffer);
        if (n <= 0) {
          shutdown(to, SHUT_WR);
          (side == 0 ? client_open : server_open) = false;
          continue;
        }
        (side == 0 ? up_ : down_) += static_cast<uint64_t>(n);
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t w = write(to, buffer + sent, static_cast<size_t>(n - sent));
          if (w <= 0) break;
          sent += w;
        }
      }
    }
    close(client);
    close(server);
  }

  uint16_t target_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<uint64_t> up_{0}, down_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> relays_;
};

// ---- The server process

// CPU seconds process `pid` has used: the sum over its threads of the nanoseconds each has run
// (/proc/PID/task/TID/schedstat), or, on a kernel without schedstat, fields 14 and 15 of
// /proc/PID/stat (user + system, in clock ticks of 10 ms).
double ProcessCpuSeconds(pid_t pid) {
  const fs::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  double run_ns = 0;
  bool any = false;
  for (const fs::directory_entry& task : fs::directory_iterator(tasks, error)) {
    std::ifstream schedstat(task.path() / "schedstat");
    double ns = 0;
    if (schedstat >> ns) {
      run_ns += ns;
      any = true;
    }
  }
  if (any) return run_ns / 1e9;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t comm_end = stat.rfind(')');  // the command name may hold spaces
  if (comm_end == std::string::npos) return 0;
  std::istringstream fields(stat.substr(comm_end + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  double user = 0, system = 0;
  fields >> user >> system;
  return (user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds the calling thread has used.
double ThreadCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

class ServerProcess {
 public:
  explicit ServerProcess(const fs::path& dir)
      : data_(dir / "data"), certs_(dir / "certs"), log_(dir / "server.log"),
        port_file_(dir / "port") {
    ChildResult certs =
        RunChild({"/bin/bash", VINCULO_MAKE_CERTS, certs_, "localhost", "127.0.0.1"}, "");
    if (certs.status != 0) Die("make-certs.sh failed: " + certs.output);
  }
  ~ServerProcess() { Stop(); }

  void AddUser(const std::string& name, const std::string& region) {
    ChildResult r = RunChild({VINCULO_SERVER, "user", "add", "--username", name, "--role",
                              "field_worker", "--region", region, "--data", data_},
                             Password(name) + "\n");
    if (r.status != 0) Die("user add failed: " + r.output);
  }
  static std::string Password(const std::string& name) { return "secreto-" + name; }

  void Start() {
    // Opened before fork: the child of a process with threads must not allocate before execl.
    const int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const std::string cert = certs_ + "/server.pem", key = certs_ + "/server.key";
    pid_ = fork();
    if (pid_ == 0) {
      // Stopped with the benchmark even when it dies (Die exits without running destructors).
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(log, 1);
      dup2(log, 2);
      execl(VINCULO_SERVER, VINCULO_SERVER, "serve", "--data", data_.c_str(), "--listen",
            "127.0.0.1:0", "--cert", cert.c_str(), "--key", key.c_str(), "--port-file",
            port_file_.c_str(), "--quiet",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    if (log >= 0) close(log);
    for (int i = 0; i < 1000; ++i) {
      std::ifstream in(port_file_);
      int port = 0;
      if (in >> port && port > 0) {
        port_ = static_cast<uint16_t>(port);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Die("vinculo-server did not start; see " + log_);
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  uint16_t port() const { return port_; }
  // CPU seconds the server process has used so far (ProcessCpuSeconds).
  double CpuSeconds() const { return ProcessCpuSeconds(pid_); }
  std::string ca() const { return certs_ + "/ca.pem"; }
  std::string central_db() const { return data_ + "/central.db"; }

 private:
  std::string data_, certs_, log_, port_file_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

std::string Url(uint16_t port) { return "https://127.0.0.1:" + std::to_string(port); }

// ---- L: plain SQLite inserts

// The CREATE statements of the database at `path`, in creation order: table `records`, its indexes
// and triggers, and the other tables (empty in L; a trigger on `records` may write to one).
std::vector<std::string> RecordsSchema(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Die("cannot open " + path);
  }
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     // The whole schema in creation order: the records table, its indexes, and
                     // any triggers on it with the tables they write (they run in L as in the
                     // store).
                     "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL "
                     "AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
                     -1, &s, nullptr);
  std::vector<std::string> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  if (out.empty()) Die("no records table in " + path);
  return out;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    Die("sqlite: " + std::string(error ? error : "?") + " in " + sql);
  }
}

// One row's values, bound in column order to `insert`.
struct Row {
  std::vector<std::optional<std::string>> text;  // text columns, nullopt = NULL
  std::vector<std::optional<int64_t>> ints;
  std::string blob;
};

// Inserts `rows` into a new database at `path` holding `schema`, `batch` rows per transaction, with
// the store's own connection settings `pragmas` (WAL, synchronous = FULL, its page cache and
// checkpoints). Returns rows per second. `bind` binds one row to the prepared insert.
double InsertRate(const std::string& path, const char* pragmas,
                  const std::vector<std::string>& schema, const std::string& insert_sql,
                  size_t count, size_t batch,
                  const std::function<void(sqlite3_stmt*, size_t)>& bind) {
  fs::remove(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  Exec(db, pragmas);
  for (const std::string& sql : schema) Exec(db, sql);
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(db, insert_sql.c_str(), -1, &insert, nullptr) != SQLITE_OK) {
    Die(std::string("prepare: ") + sqlite3_errmsg(db));
  }
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < count;) {
    Exec(db, "BEGIN IMMEDIATE");
    for (size_t end = std::min(count, i + batch); i < end; ++i) {
      bind(insert, i);
      if (sqlite3_step(insert) != SQLITE_DONE) Die(std::string("insert: ") + sqlite3_errmsg(db));
      sqlite3_reset(insert);
    }
    Exec(db, "COMMIT");
  }
  const double seconds = Seconds(start);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return static_cast<double>(count) / seconds;
}

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  if (v.empty()) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
}

// Visit states as both stores hold them: values and one stamp per field, made outside the timing.
std::vector<v1::RecordState> VisitStates(RecordMaker& maker, size_t count,
                                         const std::vector<std::string>& child_ids,
                                         const std::string& device_id, int64_t now_ms) {
  std::vector<v1::RecordState> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    v1::RecordState state;
    *state.mutable_record() = maker.Visit(child_ids[i % child_ids.size()], kWorker,
                                          now_ms - static_cast<int64_t>(i % 700) * kBenchDayMs);
    v1::HomeVisit* v = state.mutable_record()->mutable_home_visit();
    v->set_id(Must(NewUuidV7(static_cast<uint64_t>(now_ms)), "uuid"));
    const HlcValue hlc = MakeHlc(static_cast<uint64_t>(now_ms) + i, 0);
    for (uint32_t f : SetFields(state.record())) {
      v1::FieldStamp* fs = state.add_stamps();
      fs->set_field(f);
      *fs->mutable_stamp() = MakeStamp(hlc, device_id);
    }
    out.push_back(std::move(state));
  }
  return out;
}

struct LFigures {
  double server = 0;  // rows/s, server rows, kPushBatch per transaction
  double device = 0;  // rows/s, device rows, kPullPage per transaction
};

LFigures MeasureL(const fs::path& dir, const std::string& central_db, const std::string& device_db,
                  size_t count, int64_t now_ms) {
  RecordMaker maker(7);
  std::vector<std::string> children;
  for (int i = 0; i < 1000; ++i) {
    children.push_back(Must(NewUuidV7(static_cast<uint64_t>(now_ms)), "uuid"));
  }
  const std::string device_id = Must(NewUuidV7(static_cast<uint64_t>(now_ms)), "uuid");
  const std::vector<v1::RecordState> states = VisitStates(maker, count, children, device_id, now_ms);
  std::vector<std::string> blobs;
  std::vector<RecordRefs> refs;
  blobs.reserve(count);
  refs.reserve(count);
  for (const v1::RecordState& s : states) {
    blobs.push_back(s.SerializeAsString());
    refs.push_back(RefsOf(s.record()));
  }
  LFigures out;
  out.server = InsertRate(
      (dir / "l-server.db").string(), server::kCentralStorePragmas, RecordsSchema(central_db),
      "INSERT INTO records (type, id, state, region, deleted, child_id, family_id, worker, at_ms, "
      "at_text, due, kind, status, placement, from_placement, programme, server_seq) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
      count, kPushBatch, [&](sqlite3_stmt* s, size_t i) {
        const RecordRefs& r = refs[i];
        sqlite3_bind_int(s, 1, v1::RECORD_TYPE_HOME_VISIT);
        BindText(s, 2, states[i].record().home_visit().id());
        sqlite3_bind_blob(s, 3, blobs[i].data(), static_cast<int>(blobs[i].size()), SQLITE_STATIC);
        sqlite3_bind_text(s, 4, kRegion, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, 0);
        BindText(s, 6, r.child_id);
        BindText(s, 7, r.family_id);
        BindText(s, 8, r.worker);
        sqlite3_bind_int64(s, 9, r.at_ms.value_or(0));
        BindText(s, 10, r.at_text);
        BindText(s, 11, r.due);
        sqlite3_bind_int(s, 12, r.visit_kind);
        sqlite3_bind_int(s, 13, r.case_status);
        sqlite3_bind_int(s, 14, r.placement);
        sqlite3_bind_int(s, 15, r.from_placement);
        BindText(s, 16, r.programme);
        sqlite3_bind_int64(s, 17, static_cast<int64_t>(i + 1));
      });
  out.device = InsertRate(
      (dir / "l-device.db").string(), client::kStorePragmas, RecordsSchema(device_db),
      "INSERT INTO records (type, id, state, deleted, child_id, family_id, at_ms, at_text, due) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
      count, kPullPage, [&](sqlite3_stmt* s, size_t i) {
        const RecordRefs& r = refs[i];
        sqlite3_bind_int(s, 1, v1::RECORD_TYPE_HOME_VISIT);
        BindText(s, 2, states[i].record().home_visit().id());
        sqlite3_bind_blob(s, 3, blobs[i].data(), static_cast<int>(blobs[i].size()), SQLITE_STATIC);
        sqlite3_bind_int(s, 4, 0);
        BindText(s, 5, r.child_id);
        BindText(s, 6, r.family_id);
        sqlite3_bind_int64(s, 7, r.at_ms.value_or(0));
        BindText(s, 8, r.at_text);
        BindText(s, 9, r.due);
      });
  fs::remove(dir / "l-server.db");
  fs::remove(dir / "l-device.db");
  return out;
}

// ---- Devices

struct Device {
  LocalStore store;
  std::unique_ptr<client::Transport> transport;
};

Device NewDevice(const fs::path& path, const std::string& url, const std::string& ca,
                 const std::string& user, client::TransportOptions options) {
  Device d{Must(LocalStore::Create(path.string(), {.server_url = url, .ca_file = ca}, WallMs()),
                "create " + path.string()),
           Must(client::HttpsTransport::Create(url, ca, options), "transport")};
  Must(client::Login(*d.transport, d.store, user, ServerProcess::Password(user), WallMs()),
       "login " + user);
  return d;
}

client::SyncSummary SyncOnce(client::Transport& transport, LocalStore& store) {
  client::SyncOptions options{.push_batch = kPushBatch, .pull_limit = kPullPage};
  return Must(client::Sync(transport, store, options, WallMs), "sync");
}

// Adds `count` children to `store`'s outbox in one transaction; returns their ids.
std::vector<std::string> AddChildren(LocalStore& store, RecordMaker& maker, int count,
                                     const std::string& region, const std::string& worker) {
  std::vector<v1::Record> batch;
  for (int i = 0; i < count; ++i) batch.push_back(maker.Child(i, region, worker));
  return Must(store.AddAll(batch, WallMs()), "add children");
}

// Adds `count` visits to `children` (spread over two years) to `store`'s outbox, in bulk
// transactions; returns their ids.
std::vector<std::string> AddVisits(LocalStore& store, RecordMaker& maker, int count,
                                   const std::vector<std::string>& children,
                                   const std::string& worker) {
  const int64_t now = WallMs();
  std::vector<v1::Record> batch;
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count;) {
    batch.clear();
    for (int end = std::min(count, i + 5000); i < end; ++i) {
      const int64_t at = now - 3'600'000 - static_cast<int64_t>(maker.Uniform(730)) * kBenchDayMs;
      batch.push_back(maker.Visit(children[static_cast<size_t>(i) % children.size()], worker, at));
    }
    for (std::string& id : Must(store.AddAll(batch, now), "add visits")) ids.push_back(id);
  }
  return ids;
}

// Edits `count` visits of `ids` starting at `*next` (wrapping round).
void EditVisits(LocalStore& store, RecordMaker& maker, const std::vector<std::string>& ids,
                size_t* next, int count) {
  static const std::vector<uint32_t> kFields = [] {
    const google::protobuf::Descriptor* d = v1::HomeVisit::descriptor();
    return std::vector<uint32_t>{static_cast<uint32_t>(d->FindFieldByName("observations")->number()),
                                 static_cast<uint32_t>(d->FindFieldByName("next_visit_due")->number())};
  }();
  for (int i = 0; i < count; ++i) {
    const std::string& id = ids[(*next)++ % ids.size()];
    Must(store.Update(v1::RECORD_TYPE_HOME_VISIT, id, maker.VisitEdit(WallMs()), kFields, WallMs()),
         "edit visit");
  }
}

double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return 0;
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

// ---- Report

std::string Number(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

std::string ReadFirstLine(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) {
      const size_t colon = line.find(':');
      std::string v = colon == std::string::npos ? line : line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
      return v;
    }
  }
  return "";
}

std::string MachineJson() {
  utsname u{};
  uname(&u);
  std::ostringstream out;
  out << "{\"cpu\":" << JsonString(ReadFirstLine("/proc/cpuinfo", "model name"))
      << ",\"nproc\":" << std::thread::hardware_concurrency()
      << ",\"mem\":" << JsonString(ReadFirstLine("/proc/meminfo", "MemTotal"))
      << ",\"kernel\":" << JsonString(std::string(u.sysname) + " " + u.release)
      << ",\"sqlite\":" << JsonString(sqlite3_libversion()) << "}";
  return out.str();
}

void Report(const std::vector<Figure>& figures, bool quick, const std::string& json_out) {
  std::printf("\n%-52s %14s  %-10s %-8s %-18s %s\n", "figure", "value", "unit", "ratio/L",
              "target", "met");
  for (const Figure& f : figures) {
    std::string value = f.value >= 100 ? Number(std::round(f.value)) : Number(f.value);
    if (f.p99) value += " (p99 " + Number(*f.p99) + ")";
    std::printf("%-52s %14s  %-10s %-8s %-18s %s\n", f.name.c_str(), value.c_str(),
                f.unit.c_str(), f.ratio_to_L ? Number(*f.ratio_to_L).c_str() : "",
                f.target.c_str(), f.met ? (*f.met ? "yes" : "NO") : "");
  }
  const Status written = WriteFiguresJson(json_out, "sync", quick ? "quick" : "full", figures,
                                          Number, "\"machine\":" + MachineJson());
  if (!written.ok()) Die(written.error().ToString());
}

// ---- The run

int Main(int argc, char** argv) {
  DieProgramName() = "sync_bench";
  std::string json_out;
  bool quick = false, keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json-out" && i + 1 < argc) {
      json_out = argv[++i];
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: sync_bench --json-out FILE [--quick] [--keep]\n");
      return 2;
    }
  }
  if (json_out.empty()) {
    std::fprintf(stderr, "usage: sync_bench --json-out FILE [--quick] [--keep]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  // L's connections run as the stores' do (no memory statistics, WAL writes gathered).
  sql::ConfigureSqlite();
  const Sizes sizes = quick ? kQuick : kFull;
  const char* parent = std::getenv("VINCULO_BENCH_DIR");
  const fs::path dir = fs::path(parent ? parent : fs::temp_directory_path().string()) /
                       ("vinculo-sync-bench-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto progress = [](const std::string& line) {
    std::fprintf(stderr, "[sync_bench] %s\n", line.c_str());
  };
  std::vector<Figure> figures;

  ServerProcess server(dir);
  server.AddUser(kWorker, kRegion);
  server.AddUser(kOtherWorker, kOtherRegion);
  server.Start();
  CountingProxy proxy(server.port());
  const std::string proxy_url = Url(proxy.port());
  const std::string direct_url = Url(server.port());
  const client::TransportOptions compressed{};  // zstd both ways, as `vinculo sync`
  client::TransportOptions uncompressed{};
  uncompressed.request_coding.clear();
  uncompressed.accept_encoding.clear();

  // L, on rows shaped like the ones the run writes, with the schemas of real stores.
  progress("L: plain SQLite inserts of " + std::to_string(sizes.visits) + " visit rows");
  {
    const fs::path schema_store = dir / "schema-device.db";
    Must(LocalStore::Create(schema_store.string(), {.server_url = direct_url, .ca_file = "ca"},
                            WallMs()),
         "device schema");
  }
  const LFigures l = MeasureL(dir, server.central_db(), (dir / "schema-device.db").string(),
                              static_cast<size_t>(sizes.visits), WallMs());
  figures.push_back({.name = "L: SQLite insert, server rows",
                     .value = l.server,
                     .unit = "records/s",
                     .note = "central.db's records table and 5 indexes, 500 rows per transaction"});
  figures.push_back({.name = "L: SQLite insert, device rows",
                     .value = l.device,
                     .unit = "records/s",
                     .note = "the device store's records table and index, 1000 rows per "
                             "transaction"});

  // How compressible the visits' free text is: what zstd can do for a page of real notes depends
  // on it, so the figure is printed beside the bytes.
  {
    RecordMaker text_maker(99);
    std::string page;
    for (size_t i = 0; i < kPushBatch; ++i) {
      page += text_maker.Observations();
      page += text_maker.AgreedActions();
    }
    figures.push_back({.name = "free text of 500 visits, zstd ratio",
                       .value = static_cast<double>(page.size()) /
                                static_cast<double>(ZstdCompress(page).size()),
                       .unit = "x",
                       .note = std::to_string(page.size() / kPushBatch) +
                               " bytes of observations and agreed actions per visit"});
  }

  // Push: one device's outbox of visits, through the proxy, compressed (the default).
  progress("push: preparing " + std::to_string(sizes.visits) + " visits on device A");
  RecordMaker maker(42);
  Device a = NewDevice(dir / "a.db", proxy_url, server.ca(), kWorker, compressed);
  // The children first (not timed), as a worker's caseload is on the server before her visits.
  const std::vector<std::string> a_children =
      AddChildren(a.store, maker, sizes.children, kRegion, kWorker);
  SyncOnce(*a.transport, a.store);
  const std::vector<std::string> a_visits =
      AddVisits(a.store, maker, sizes.visits, a_children, kWorker);
  progress("push: syncing");
  uint64_t bytes_before = proxy.total();
  Clock::time_point start = Clock::now();
  const double client_cpu_before = ThreadCpuSeconds(), server_cpu_before = server.CpuSeconds();
  client::SyncSummary pushed = SyncOnce(*a.transport, a.store);
  double seconds = Seconds(start);
  // Where the push's time goes: the client's thread and the server's process, in CPU seconds.
  // Rounds are serial, so the two add up to most of the wall time.
  const double push_client_cpu = ThreadCpuSeconds() - client_cpu_before;
  const double push_server_cpu = server.CpuSeconds() - server_cpu_before;
  progress("push: client CPU " + Number(push_client_cpu) + " s, server CPU " +
           Number(push_server_cpu) + " s, wall " + Number(seconds) + " s");
  const double push_bytes = static_cast<double>(proxy.total() - bytes_before);
  const double push_rate = static_cast<double>(pushed.pushed) / seconds;
  progress("push: " + client::SyncSummaryLine(pushed) + " in " + Number(seconds) + " s");
  figures.push_back({.name = "full push " + std::to_string(sizes.visits / 1000) + "k over TLS",
                     .value = push_rate,
                     .unit = "records/s",
                     .ratio_to_L = push_rate / l.server,
                     .target = ">= 0.5 x L",
                     .met = push_rate / l.server >= 0.5,
                     .note = std::to_string(pushed.pushed) + " visits in " +
                             Number(seconds) + " s, " + std::to_string(pushed.rounds) +
                             " requests; ratio to the server-rows L"});
  figures.push_back({.name = "push bytes per visit, compressed",
                     .value = push_bytes / static_cast<double>(pushed.pushed),
                     .unit = "bytes",
                     .target = "<= 200",
                     .met = push_bytes / static_cast<double>(pushed.pushed) <= 200,
                     .note = "both directions, TLS and HTTP headers included"});

  // Pull: a fresh device, the real CLI in a child process.
  progress("pull: vinculo init, login, sync in a child process");
  const fs::path home = dir / "b-home";
  const std::string home_flag = "--home=" + home.string();
  ChildResult init = RunChild({VINCULO_CLI, home_flag, "init", "--server", proxy_url, "--ca",
                               server.ca()},
                              "");
  if (init.status != 0) Die("vinculo init: " + init.output);
  ChildResult login = RunChild({VINCULO_CLI, home_flag, "login", "--username", kWorker},
                               ServerProcess::Password(kWorker) + "\n");
  if (login.status != 0) Die("vinculo login: " + login.output);
  bytes_before = proxy.total();
  ChildResult pull = RunChild({VINCULO_CLI, home_flag, "sync", "--quiet"}, "", true);
  if (pull.status != 0) Die("vinculo sync: " + pull.output);
  const double pull_bytes = static_cast<double>(proxy.total() - bytes_before);
  uint64_t pulled = 0;
  if (size_t at = pull.output.find("pulled "); at != std::string::npos) {
    pulled = std::strtoull(pull.output.c_str() + at + 7, nullptr, 10);
  }
  if (pulled == 0) Die("vinculo sync pulled nothing: " + pull.output);
  const double pull_rate = static_cast<double>(pulled) / pull.seconds;
  progress("pull: " + pull.output.substr(0, pull.output.find('\n')) + " in " +
           Number(pull.seconds) + " s, max RSS " + std::to_string(pull.max_rss_kb) + " KiB");
  figures.push_back({.name = "full pull " + std::to_string(sizes.visits / 1000) +
                             "k into a fresh device",
                     .value = pull_rate,
                     .unit = "records/s",
                     .ratio_to_L = pull_rate / l.device,
                     .target = ">= 0.5 x L",
                     .met = pull_rate / l.device >= 0.5,
                     .note = std::to_string(pulled) + " records (children included) in " +
                             Number(pull.seconds) + " s by `vinculo sync`, process start " +
                             "included; ratio to the device-rows L"});
  figures.push_back({.name = "pull bytes per visit, compressed",
                     .value = pull_bytes / static_cast<double>(pulled),
                     .unit = "bytes",
                     .target = "<= 200",
                     .met = pull_bytes / static_cast<double>(pulled) <= 200,
                     .note = "both directions, TLS and HTTP headers included"});
  const double rss_mb = static_cast<double>(pull.max_rss_kb) / 1024.0;
  figures.push_back({.name = "client peak RSS during the pull",
                     .value = rss_mb,
                     .unit = "MiB",
                     .target = "<= 64 MB",
                     .met = rss_mb <= 64,
                     .note = "ru_maxrss of `vinculo sync`, taken by bench/peak_rss"});

  // Incremental: A through the proxy on its open connection, B direct.
  progress("incremental: " + std::to_string(sizes.rounds) + " rounds");
  Device b{Must(LocalStore::Open((home / "store.db").string()), "open B"),
           Must(client::HttpsTransport::Create(direct_url, server.ca(), compressed), "transport")};
  if (!fs::exists(home / "store.db")) Die("B's store is not where expected");
  auto incremental = [&](Device& mine, Device& other, const std::vector<std::string>& ids,
                         int rounds, std::vector<double>* ms, double* bytes, uint64_t* records) {
    size_t next_mine = 0, next_other = ids.size() / 2;
    double client_cpu = 0, server_cpu = 0;  // during this device's syncs
    double up_bytes = 0;                    // of *bytes, those from this device to the server
    for (int r = 0; r < rounds; ++r) {
      EditVisits(other.store, maker, ids, &next_other, kEditsPerSide);
      SyncOnce(*other.transport, other.store);
      EditVisits(mine.store, maker, ids, &next_mine, kEditsPerSide);
      const uint64_t before = proxy.total(), up_before = proxy.up();
      const Clock::time_point t = Clock::now();
      const double client_before = ThreadCpuSeconds(), server_before = server.CpuSeconds();
      client::SyncSummary s = SyncOnce(*mine.transport, mine.store);
      ms->push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      client_cpu += ThreadCpuSeconds() - client_before;
      server_cpu += server.CpuSeconds() - server_before;
      *bytes += static_cast<double>(proxy.total() - before);
      up_bytes += static_cast<double>(proxy.up() - up_before);
      *records += s.pushed + s.pulled;
    }
    const double per_round_ms = 1000.0 / std::max(rounds, 1);
    progress("incremental: client CPU " + Number(client_cpu * per_round_ms) + " ms, server CPU " +
             Number(server_cpu * per_round_ms) + " ms a round; " +
             Number(up_bytes / std::max(rounds, 1)) + " bytes up and " +
             Number((*bytes - up_bytes) / std::max(rounds, 1)) + " down a round");
  };
  std::vector<double> round_ms;
  double inc_bytes = 0;
  uint64_t inc_records = 0;
  SyncOnce(*a.transport, a.store);  // settle, so that the first round is like the others
  incremental(a, b, a_visits, sizes.rounds, &round_ms, &inc_bytes, &inc_records);
  const double median = Percentile(round_ms, 0.5);
  figures.push_back({.name = "incremental sync 100 records",
                     .value = median,
                     .unit = "ms",
                     .stat = "median",
                     .p99 = Percentile(round_ms, 0.99),
                     .target = "median <= 10 ms",
                     .met = median <= 10,
                     .note = std::to_string(sizes.rounds) + " rounds of 50 pushed + 50 pulled "
                             "changed visits on an open connection; " +
                             std::to_string(inc_records) + " records synced in all"});
  figures.push_back({.name = "incremental bytes per synced visit, compressed",
                     .value = inc_bytes / (static_cast<double>(sizes.rounds) * 2 * kEditsPerSide),
                     .unit = "bytes",
                     .target = "<= 200",
                     .met = inc_bytes / (static_cast<double>(sizes.rounds) * 2 * kEditsPerSide) <=
                            200,
                     .note = "per changed visit (pushed or pulled), both directions"});

  // Without compression: the other region, its own devices, uncompressed both ways.
  progress("uncompressed: push and pull of " + std::to_string(sizes.plain_visits) +
           " visits, " + std::to_string(sizes.plain_rounds) + " incremental rounds");
  Device c = NewDevice(dir / "c.db", proxy_url, server.ca(), kOtherWorker, uncompressed);
  RecordMaker other_maker(43);
  const std::vector<std::string> c_children =
      AddChildren(c.store, other_maker, sizes.children / 5, kOtherRegion, kOtherWorker);
  SyncOnce(*c.transport, c.store);
  const std::vector<std::string> c_visits =
      AddVisits(c.store, other_maker, sizes.plain_visits, c_children, kOtherWorker);
  bytes_before = proxy.total();
  start = Clock::now();
  client::SyncSummary c_pushed = SyncOnce(*c.transport, c.store);
  seconds = Seconds(start);
  const double plain_push_bytes =
      static_cast<double>(proxy.total() - bytes_before) / static_cast<double>(c_pushed.pushed);
  figures.push_back({.name = "push bytes per visit, uncompressed",
                     .value = plain_push_bytes,
                     .unit = "bytes",
                     .note = std::to_string(c_pushed.pushed) + " mutations at " +
                             Number(std::round(static_cast<double>(c_pushed.pushed) / seconds)) +
                             " records/s"});
  Device d = NewDevice(dir / "d.db", proxy_url, server.ca(), kOtherWorker, uncompressed);
  bytes_before = proxy.total();
  start = Clock::now();
  client::SyncSummary d_pulled = SyncOnce(*d.transport, d.store);
  seconds = Seconds(start);
  const double plain_pull_bytes =
      static_cast<double>(proxy.total() - bytes_before) / static_cast<double>(d_pulled.pulled);
  figures.push_back({.name = "pull bytes per visit, uncompressed",
                     .value = plain_pull_bytes,
                     .unit = "bytes",
                     .note = std::to_string(d_pulled.pulled) + " records at " +
                             Number(std::round(static_cast<double>(d_pulled.pulled) / seconds)) +
                             " records/s (in process)"});
  {
    std::vector<double> plain_ms;
    double plain_bytes = 0;
    uint64_t plain_records = 0;
    SyncOnce(*c.transport, c.store);
    incremental(c, d, c_visits, sizes.plain_rounds, &plain_ms, &plain_bytes, &plain_records);
    const double per = plain_bytes / (static_cast<double>(sizes.plain_rounds) * 2 * kEditsPerSide);
    figures.push_back({.name = "incremental bytes per synced visit, uncompressed",
                       .value = per,
                       .unit = "bytes",
                       .note = "median round " + Number(Percentile(plain_ms, 0.5)) + " ms over " +
                               std::to_string(sizes.plain_rounds) + " rounds"});
  }

  server.Stop();
  Report(figures, quick, json_out);
  if (keep) {
    std::fprintf(stderr, "kept %s\n", dir.c_str());
  } else {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  return 0;
}

}  // namespace
}  // namespace vinculo::bench

int main(int argc, char** argv) { return vinculo::bench::Main(argc, argv); }
