// The regional office's nightly sync, unattended: 50,000 records typed in at the office are pushed
// by the real `vinculo sync` against a real server; the process is SIGKILLed half-way, started
// again, and finishes with nothing lost or doubled. A fresh device, itself killed half-way through
// its pull, ends up with exactly the same 50,000 records.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "common/record.h"
#include "server/sqlite_central_store.h"
#include "tests/regional/regional_test_util.h"

namespace vinculo {
namespace {

using server::testing::TempDir;
using testing::CliDevice;
using testing::ServerProcess;

constexpr int kRecords = 50'000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct ServerCounts {
  uint64_t children = 0;
  uint64_t last_server_seq = 0;
  uint64_t device_last_seq = 0;
  size_t conflicts = 0;
};

ServerCounts Counts(const ServerProcess& server, const std::string& device_id) {
  ServerCounts c;
  Result<std::unique_ptr<server::CentralStore>> store =
      server::OpenSqliteCentralStore(server.data_dir(), false);
  EXPECT_TRUE(store.has_value());
  c.children = *(*store)->CountRecords(v1::RECORD_TYPE_CHILD);
  {
    Result<std::unique_ptr<server::StoreTransaction>> txn = (*store)->Begin();
    EXPECT_TRUE(txn.has_value());
    c.last_server_seq = *(*txn)->LastServerSeq();
  }
  for (const server::DeviceRecord& d : *(*store)->ListDevices()) {
    if (d.device_id == device_id) c.device_last_seq = d.last_seq;
  }
  c.conflicts = (*store)->ListConflicts()->size();
  return c;
}

TEST(NightlySync, KilledHalfwayResumesWithNothingLostOrDoubled) {
  TempDir dir;
  ServerProcess server(dir, {"--quiet"});
  server.AddUser("oficina-cusco", "regional_office", "Cusco");
  server.Start();

  // The office machine: logged in once; the token also kept in a 0600 file for the service.
  CliDevice office(dir, "office", server);
  const std::string token_file = dir / "sync.token";
  ASSERT_EQ(office.Login("oficina-cusco", {"--token-file", token_file}), 0) << office.output();

  // 50,000 children entered at the office, in one transaction.
  std::string office_id;
  {
    client::LocalStore store = office.Open();
    office_id = store.device_id();
    std::vector<v1::Record> records;
    records.reserve(kRecords);
    for (int i = 0; i < kRecords; ++i) {
      v1::Record r;
      v1::Child* c = r.mutable_child();
      c->set_given_name("Niña " + std::to_string(i));
      c->set_family_name("Quispe");
      c->set_region("Cusco");
      c->set_status(v1::CASE_STATUS_OPEN);
      records.push_back(std::move(r));
    }
    ASSERT_TRUE(store.AddAll(records, NowMs()).has_value());
    ASSERT_EQ(store.ReadStatus()->pending, static_cast<uint64_t>(kRecords));
  }

  // The night's sync, killed after 20 of its 50 pages.
  const int killed = office.SyncKilledAfter(20, {"--batch", "1000", "--token-file", token_file});
  ASSERT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) << killed;
  const ServerCounts half = Counts(server, office_id);
  EXPECT_GE(half.children, 20'000u);
  EXPECT_LT(half.children, static_cast<uint64_t>(kRecords)) << "killed too late to test resuming";
  {
    client::LocalStore store = office.Open();
    const client::DeviceStatus status = *store.ReadStatus();
    EXPECT_GE(status.acked_seq, 20'000u);
    EXPECT_EQ(status.pending, kRecords - status.acked_seq);
  }

  // The next run resumes from the last committed page.
  ASSERT_EQ(office.Run({"sync", "--quiet", "--batch", "1000", "--token-file", token_file}), 0)
      << office.output();
  const ServerCounts done = Counts(server, office_id);
  EXPECT_EQ(done.children, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(done.last_server_seq, static_cast<uint64_t>(kRecords)) << "a change applied twice";
  EXPECT_EQ(done.device_last_seq, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(done.conflicts, 0u);
  std::string office_export;
  {
    client::LocalStore store = office.Open();
    const client::DeviceStatus status = *store.ReadStatus();
    EXPECT_EQ(status.pending, 0u);
    EXPECT_EQ(status.acked_seq, static_cast<uint64_t>(kRecords));
    EXPECT_EQ(status.cursor, static_cast<uint64_t>(kRecords));
    for (const v1::RecordState& s : *store.ExportAll()) office_export += s.SerializeAsString();
    EXPECT_EQ(store.List(v1::RECORD_TYPE_CHILD)->size(), static_cast<size_t>(kRecords));
  }

  // A fresh machine of the same office pulls everything, killed half-way through too.
  CliDevice fresh(dir, "fresh", server);
  ASSERT_EQ(fresh.Login("oficina-cusco"), 0) << fresh.output();
  const int pull_killed = fresh.SyncKilledAfter(10, {"--page", "2000"});
  ASSERT_TRUE(WIFSIGNALED(pull_killed)) << pull_killed;
  {
    client::LocalStore store = fresh.Open();
    const uint64_t cursor = store.ReadStatus()->cursor;
    EXPECT_GE(cursor, 20'000u);
    EXPECT_LT(cursor, static_cast<uint64_t>(kRecords));
    EXPECT_EQ(store.List(v1::RECORD_TYPE_CHILD)->size(), cursor);
  }
  ASSERT_EQ(fresh.Run({"sync", "--quiet", "--page", "2000"}), 0) << fresh.output();
  client::LocalStore store = fresh.Open();
  EXPECT_EQ(store.List(v1::RECORD_TYPE_CHILD)->size(), static_cast<size_t>(kRecords));
  std::string fresh_export;
  for (const v1::RecordState& s : *store.ExportAll()) fresh_export += s.SerializeAsString();
  EXPECT_TRUE(fresh_export == office_export) << "the two machines hold different records";
}

TEST(NightlySync, LooseTokenFileIsRefusedBeforeAnythingIsSent) {
  TempDir dir;
  ServerProcess server(dir, {"--quiet"});
  server.AddUser("oficina-cusco", "regional_office", "Cusco");
  server.Start();
  CliDevice office(dir, "office", server);
  const std::string token_file = dir / "sync.token";
  ASSERT_EQ(office.Login("oficina-cusco", {"--token-file", token_file}), 0) << office.output();
  ::chmod(token_file.c_str(), 0640);
  EXPECT_EQ(office.Run({"sync", "--token-file", token_file}), 1);
  EXPECT_NE(office.output().find("error: token file " + token_file +
                                 " has mode 0640, which lets its group or others read it"),
            std::string::npos)
      << office.output();
  ::chmod(token_file.c_str(), 0600);
  EXPECT_EQ(office.Run({"sync", "--quiet", "--token-file", token_file}), 0) << office.output();
  // A token file of another (revoked) device's token is refused like any bad token: exit 4.
  std::ofstream(token_file) << "0000000000000000000000000000000000000000000000000000000000000000\n";
  ::chmod(token_file.c_str(), 0600);
  EXPECT_EQ(office.Run({"sync", "--token-file", token_file}), 4) << office.output();
}

TEST(NightlySync, ServerDownRetriesThenExitsUnreachable) {
  TempDir dir;
  ServerProcess server(dir, {"--quiet"});
  server.AddUser("oficina-cusco", "regional_office", "Cusco");
  server.Start();
  CliDevice office(dir, "office", server);
  ASSERT_EQ(office.Login("oficina-cusco"), 0) << office.output();
  server.Stop();
  EXPECT_EQ(office.Run({"sync", "--retries", "2", "--max-backoff", "0.2"}), 3) << office.output();
  EXPECT_NE(office.output().find("retry 1 in "), std::string::npos) << office.output();
  EXPECT_NE(office.output().find("retry 2 in "), std::string::npos) << office.output();
  EXPECT_EQ(office.output().find("retry 3 in "), std::string::npos) << office.output();
}

}  // namespace
}  // namespace vinculo
