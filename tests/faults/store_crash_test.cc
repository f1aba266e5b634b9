// Crash safety of the device store (client/local_store.h): a writer process is SIGKILLed at random
// instants while it adds, updates and deletes records, and after every kill the store must open,
// pass SQLite's integrity check, and hold exactly the fold of its outbox — every committed write
// with its outbox entry, nothing half-written, no seq lost or reused.
//
// A SIGKILL loses no data the kernel already has, so this tests atomicity (the store's transactions
// and SQLite's WAL recovery), not durability across power loss (fsync), which needs a VFS or block
// device that drops unsynced writes.
//
// Four runs in five wait until the writer is in its write loop before the random delay starts, so
// that the kill lands mid-write however slow start-up is on a loaded machine; the fifth counts from
// fork, so that kills also land while the store is being opened.
//
// The kill times and writer seeds come from one printed seed; VINCULO_SEED=<seed> replays the same
// plan (where a kill lands still depends on timing). VINCULO_CRASH_RUNS overrides the run count.

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/local_store.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/sqlite.h"
#include "common/validate.h"
#include "tests/common/seed.h"

#ifndef VINCULO_STORE_WRITER
#error "VINCULO_STORE_WRITER must name the store_writer executable (see tests/CMakeLists.txt)"
#endif

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;

constexpr int64_t kNow = 1'780'000'000'000;   // 2026-05-28 in Unix ms
constexpr int kMaxDelayUs = 30'000;           // the kill comes 0–30 ms after fork or readiness
constexpr char kWriterCount[] = "100000000";  // never reached: the kill always comes first

int CrashRuns() {
  if (const char* s = std::getenv("VINCULO_CRASH_RUNS")) return std::atoi(s);
  return 100;
}

// ---- The write-ahead log, read directly: did the kill leave a transaction half-written in it?

uint32_t Word(const unsigned char* p, bool big_endian) {
  return big_endian ? (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3])
                    : (uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0]);
}

// SQLite's WAL checksum (https://www.sqlite.org/fileformat2.html#walformat), continued over `n`
// bytes (a multiple of 8) from `s`.
void WalChecksum(const unsigned char* p, size_t n, bool big_endian, uint32_t s[2]) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    s[0] += Word(p + i, big_endian) + s[1];
    s[1] += Word(p + i + 4, big_endian) + s[0];
  }
}

struct WalTail {
  int committed_frames = 0;    // valid frames up to and including the last commit frame
  int uncommitted_frames = 0;  // valid frames after it: a transaction cut off mid-write
};

// Reads the WAL next to `db_path` as the next opener will see it: the frames of the current WAL
// generation (salts match) whose running checksum holds.
WalTail InspectWal(const std::string& db_path) {
  std::ifstream in(db_path + "-wal", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  WalTail tail;
  if (bytes.size() < 32) return tail;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t magic = Word(p, true);
  if (magic != 0x377f0682 && magic != 0x377f0683) return tail;
  const bool big_endian = (magic & 1) != 0;
  const size_t page_size = Word(p + 8, true) == 1 ? 65536 : Word(p + 8, true);
  uint32_t sum[2] = {0, 0};
  WalChecksum(p, 24, big_endian, sum);
  if (sum[0] != Word(p + 24, true) || sum[1] != Word(p + 28, true)) return tail;
  int valid = 0;
  for (size_t at = 32; at + 24 + page_size <= bytes.size(); at += 24 + page_size) {
    const unsigned char* frame = p + at;
    if (std::memcmp(frame + 8, p + 16, 8) != 0) break;  // salts: an older generation
    WalChecksum(frame, 8, big_endian, sum);
    WalChecksum(frame + 24, page_size, big_endian, sum);
    if (sum[0] != Word(frame + 16, true) || sum[1] != Word(frame + 20, true)) break;
    ++valid;
    if (Word(frame + 4, true) != 0) tail.committed_frames = valid;  // a commit frame
  }
  tail.uncommitted_frames = valid - tail.committed_frames;
  return tail;
}

// ---- What the checks count over all runs.

struct Tally {
  int runs = 0;
  int killed_in_loop = 0;  // the writer had reached its write loop when SIGKILL came
  int committed = 0;       // ... and had committed at least one write in this run
  int torn_wal = 0;        // the kill left frames of an uncommitted transaction in the WAL
  uint64_t creates = 0, updates = 0, deletes = 0;  // mutations in the final outbox
};

class StoreCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vinculo-crash-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "store.db").string();
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cout << "[ crash ] the store is kept for inspection in " << dir_ << std::endl;
    } else {
      fs::remove_all(dir_);
    }
  }

  // Starts the writer on the store. Returns its pid and sets *ready_fd to a pipe that yields one
  // byte once the writer is in its write loop (and EOF once it is gone); the caller closes it.
  pid_t StartWriter(uint64_t seed, int* ready_fd) {
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    const std::string seed_text = std::to_string(seed);
    const std::string fd_text = std::to_string(fds[1]);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      ::execl(VINCULO_STORE_WRITER, VINCULO_STORE_WRITER, path_.c_str(), kWriterCount,
              seed_text.c_str(), fd_text.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    *ready_fd = fds[0];
    return pid;
  }

  // Opens the store after a kill and checks every invariant; `history` holds the serialized outbox
  // seen by the previous check, which the new outbox must extend. Returns next_seq.
  uint64_t CheckStore(const std::string& device_id, std::vector<std::string>* history,
                      Tally* tally);

  fs::path dir_;
  std::string path_;
};

uint64_t StoreCrashTest::CheckStore(const std::string& device_id, std::vector<std::string>* history,
                                    Tally* tally) {
  Result<LocalStore> store = LocalStore::Open(path_);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  if (!store) return 0;

  Result<sql::Database> db = sql::Database::Open(path_);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  if (!db) return 0;
  {
    Result<sql::Statement> check = db->Prepare("PRAGMA integrity_check");
    EXPECT_TRUE(check.has_value());
    if (!check) return 0;
    std::string verdict;
    while (Result<bool> row = check->Step()) {
      if (!*row) break;
      verdict += check->ColumnText(0) + ";";
    }
    EXPECT_EQ(verdict, "ok;");
  }

  const DeviceStatus status = *store->ReadStatus();
  EXPECT_EQ(status.device_id, device_id);
  EXPECT_EQ(status.acked_seq, 0u);
  EXPECT_EQ(status.cursor, 0u);
  EXPECT_TRUE(store->Rejected()->empty());

  // The outbox: seqs 1..next_seq-1, no gap, nothing acknowledged so nothing removed, HLCs rising.
  Result<std::vector<v1::Mutation>> pending = store->Pending(SIZE_MAX);
  EXPECT_TRUE(pending.has_value()) << pending.error().ToString();
  if (!pending) return 0;
  EXPECT_EQ(pending->size(), status.next_seq - 1);
  EXPECT_EQ(status.pending, status.next_seq - 1);
  std::set<HlcValue> outbox_hlcs;
  HlcValue last_hlc = 0;
  for (size_t i = 0; i < pending->size(); ++i) {
    const v1::Mutation& m = (*pending)[i];
    EXPECT_EQ(m.seq(), i + 1);
    EXPECT_GT(m.hlc(), last_hlc) << "seq " << m.seq();
    last_hlc = m.hlc();
    outbox_hlcs.insert(m.hlc());
  }
  if (HasFailure()) return 0;

  // Committed history is never rewritten or lost: the outbox extends the one seen last time.
  EXPECT_GE(pending->size(), history->size()) << "committed mutations vanished";
  for (size_t i = 0; i < std::min(pending->size(), history->size()); ++i) {
    EXPECT_EQ((*pending)[i].SerializeAsString(), (*history)[i]) << "seq " << i + 1 << " changed";
  }
  history->clear();
  for (const v1::Mutation& m : *pending) history->push_back(m.SerializeAsString());

  // Every mutation's record is there, carrying that write or a later one on each written field.
  for (const v1::Mutation& m : *pending) {
    const v1::RecordType type = TypeOf(m.record());
    Result<v1::RecordState> state = store->Get(type, RecordId(m.record()), true);
    EXPECT_TRUE(state.has_value()) << "seq " << m.seq() << ": " << state.error().ToString();
    if (!state) continue;
    for (uint32_t f : m.fields()) {
      const v1::Stamp& stamp = FieldStampOf(*state, f);
      EXPECT_GE(stamp.hlc(), m.hlc()) << "seq " << m.seq() << " field " << f;
      EXPECT_EQ(stamp.device(), device_id);
    }
  }

  // The store is exactly the fold of its outbox: replaying every mutation in seq order onto empty
  // records gives every stored record, byte for byte, and no other.
  std::map<std::pair<int, std::string>, v1::RecordState> replayed;
  uint64_t creates = 0, updates = 0, deletes = 0;
  for (const v1::Mutation& m : *pending) {
    const auto key = std::pair{static_cast<int>(TypeOf(m.record())), RecordId(m.record())};
    const bool is_new = !replayed.contains(key);
    Result<ApplyOutcome> applied = ApplyMutation(&replayed[key], m, device_id);
    EXPECT_TRUE(applied.has_value()) << "seq " << m.seq() << ": " << applied.error().ToString();
    if (!applied) continue;
    EXPECT_TRUE(applied->conflicts.empty()) << "seq " << m.seq();
    const bool is_delete =
        m.fields_size() == 1 && m.fields(0) == kDeletedField && IsDeleted(m.record());
    (is_new ? creates : is_delete ? deletes : updates) += 1;
  }
  Result<std::vector<v1::RecordState>> all = store->ExportAll();
  EXPECT_TRUE(all.has_value()) << all.error().ToString();
  if (!all) return 0;
  EXPECT_EQ(all->size(), replayed.size());
  EXPECT_EQ(status.records, all->size());
  std::set<std::string> child_ids;
  for (const v1::RecordState& s : *all) {
    if (TypeOf(s.record()) == v1::RECORD_TYPE_CHILD) child_ids.insert(RecordId(s.record()));
  }
  for (const v1::RecordState& s : *all) {
    const std::string& id = RecordId(s.record());
    auto it = replayed.find({static_cast<int>(TypeOf(s.record())), id});
    EXPECT_TRUE(it != replayed.end()) << id << " is stored but no outbox mutation wrote it";
    if (it == replayed.end()) continue;
    EXPECT_TRUE(MessageDifferencer::Equals(s, it->second))
        << id << " differs from its outbox\nstored: " << s.ShortDebugString()
        << "\nreplayed: " << it->second.ShortDebugString();
    // Nothing applied without its outbox entry.
    for (const v1::FieldStamp& fs : s.stamps()) {
      EXPECT_TRUE(outbox_hlcs.contains(fs.stamp().hlc())) << id << " field " << fs.field();
      EXPECT_EQ(fs.stamp().device(), device_id);
    }
    if (!IsDeleted(s.record())) {
      Status valid = CheckRecord(s.record());
      EXPECT_TRUE(valid.ok()) << id << ": " << valid.error().ToString();
    }
    if (s.record().has_home_visit()) {
      EXPECT_TRUE(child_ids.contains(s.record().home_visit().child_id()))
          << "visit " << id << " refers to a child the store lost";
    }
  }

  // The query columns agree with the state they were copied from.
  {
    Result<sql::Statement> rows = db->Prepare(
        "SELECT type, id, deleted, COALESCE(child_id, ''), COALESCE(at_text, ''), "
        "COALESCE(due, '') FROM records ORDER BY type, id");
    EXPECT_TRUE(rows.has_value());
    if (!rows) return 0;
    size_t i = 0;
    for (Result<bool> row = rows->Step(); row && *row; row = rows->Step(), ++i) {
      EXPECT_LT(i, all->size());
      if (i >= all->size()) break;
      const v1::Record& r = (*all)[i].record();
      EXPECT_EQ(rows->ColumnInt(0), TypeOf(r));
      EXPECT_EQ(rows->ColumnText(1), RecordId(r));
      EXPECT_EQ(rows->ColumnInt(2) != 0, IsDeleted(r)) << RecordId(r);
      if (r.has_home_visit()) {
        EXPECT_EQ(rows->ColumnText(3), r.home_visit().child_id());
        EXPECT_EQ(rows->ColumnText(4), r.home_visit().visited_at());
        EXPECT_EQ(rows->ColumnText(5), r.home_visit().next_visit_due());
      }
    }
    EXPECT_EQ(i, all->size());
  }
  EXPECT_TRUE(store->Caseload("2026-05-28").has_value());

  tally->creates = creates;
  tally->updates = updates;
  tally->deletes = deletes;
  return status.next_seq;
}

TEST_F(StoreCrashTest, SigkillMidWriteLosesNothingCommittedAndShowsNothingHalfWritten) {
  const auto started = std::chrono::steady_clock::now();
  const uint64_t seed = PropertySeed();
  SCOPED_TRACE(SeedTrace(seed));
  std::mt19937_64 rng(seed);

  std::string device_id;
  {
    Result<LocalStore> created = LocalStore::Create(
        path_, {.server_url = "https://127.0.0.1:8443", .ca_file = "ca.pem"}, kNow);
    ASSERT_TRUE(created.has_value()) << created.error().ToString();
    device_id = created->device_id();
  }

  const int runs = CrashRuns();
  Tally tally;
  std::vector<std::string> history;
  uint64_t next_seq = 1;
  for (int run = 0; run < runs; ++run) {
    const uint64_t writer_seed = rng();
    const int delay_us = std::uniform_int_distribution<int>(0, kMaxDelayUs)(rng);
    const bool from_fork = std::uniform_int_distribution<int>(0, 4)(rng) == 0;
    SCOPED_TRACE("run " + std::to_string(run) + ", kill " + std::to_string(delay_us) +
                 " us after " + (from_fork ? "fork" : "the writer is ready"));

    int ready_fd = -1;
    const pid_t pid = StartWriter(writer_seed, &ready_fd);
    ASSERT_GT(pid, 0) << "fork or pipe failed";
    if (!from_fork) {
      pollfd ready{.fd = ready_fd, .events = POLLIN, .revents = 0};
      ::poll(&ready, 1, 10'000);  // a writer that dies first fails the exit-status check below
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
    char byte = 0;
    const bool was_in_loop = ::read(ready_fd, &byte, 1) == 1;  // the writer is gone: no blocking
    ::close(ready_fd);
    // A writer that exited on its own failed (it never reaches its count): its error is on stderr.
    ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
        << "the writer exited by itself with status "
        << (WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1);

    const WalTail wal = InspectWal(path_);
    const uint64_t before = next_seq;
    next_seq = CheckStore(device_id, &history, &tally);
    if (HasFailure()) return;  // the store is kept; later runs would only repeat the failure
    ASSERT_GE(next_seq, before) << "committed writes were lost";
    ++tally.runs;
    if (was_in_loop) ++tally.killed_in_loop;
    if (next_seq > before) ++tally.committed;
    if (wal.uncommitted_frames > 0) ++tally.torn_wal;
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ crash ] " << tally.runs << " writers SIGKILLed in " << seconds
            << " s: " << tally.killed_in_loop << " in their write loop (" << tally.committed
            << " after committing in that run), " << tally.runs - tally.killed_in_loop
            << " while opening the store; " << tally.torn_wal
            << " left an uncommitted transaction in the WAL; outbox " << next_seq - 1
            << " mutations (" << tally.creates << " creates, " << tally.updates << " updates, "
            << tally.deletes << " deletes)" << std::endl;

  // The test only means something if most kills land while the writer is writing.
  EXPECT_GE(tally.killed_in_loop * 2, tally.runs) << "too few kills landed mid-write";
  EXPECT_GT(tally.updates, 0u);
  EXPECT_GT(tally.deletes, 0u);
}

}  // namespace
}  // namespace vinculo::client
