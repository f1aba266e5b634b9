// `vinculo-server backup` while a device syncs in a loop, then the documented restore: the backup
// put in place as central.db of a new data directory, served by a second server, from which a
// fresh device pulls exactly the records the original held at that instant.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <thread>

#include "client/https_transport.h"
#include "client/local_store.h"
#include "client/sync_client.h"
#include "common/record.h"
#include "tests/regional/regional_test_util.h"

namespace vinculo {
namespace {

namespace fs = std::filesystem;
using server::testing::TempDir;
using testing::CliDevice;
using testing::ServerProcess;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every record a fresh device of `user` pulls from `server`, by id, serialized.
std::map<std::string, std::string> Pull(const TempDir& dir, const std::string& name,
                                        ServerProcess& server, const std::string& user) {
  CliDevice device(dir, name, server);
  EXPECT_EQ(device.Login(user), 0) << device.output();
  EXPECT_EQ(device.Run({"sync", "--quiet"}), 0) << device.output();
  std::map<std::string, std::string> out;
  for (const v1::RecordState& s : *device.Open().ExportAll()) {
    out[RecordId(s.record())] = s.SerializeAsString();
  }
  return out;
}

// The records count a `vinculo-server backup` line reports.
uint64_t ReportedRecords(const std::string& output) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(output, m, std::regex(": (\\d+) records, last change (\\d+)")))
      << output;
  return m.empty() ? 0 : std::stoull(m[1]);
}

// A new data directory holding `backup` as its central.db: the restore of the operations guide.
void RestoreInto(const TempDir& dir, const std::string& backup) {
  fs::create_directories(fs::path(dir / "data"));
  fs::copy_file(backup, fs::path(dir / "data") / "central.db");
}

TEST(Backup, TakenDuringSyncRestoresToAServerServingTheSameData) {
  TempDir dir;
  ServerProcess server(dir, {"--quiet"});
  server.AddUser("ana", "field_worker", "Cusco");
  server.AddUser("oficina", "regional_office", "Cusco");
  server.Start();

  // A device writing and syncing in a loop, in a thread, until told to stop (bounded).
  Result<client::LocalStore> created = client::LocalStore::Create(
      dir / "writer.db", {.server_url = server.url(), .ca_file = server.ca()}, NowMs());
  ASSERT_TRUE(created.has_value());
  client::LocalStore writer = std::move(created).value();
  Result<std::unique_ptr<client::Transport>> transport =
      client::HttpsTransport::Create(server.url(), server.ca());
  ASSERT_TRUE(transport.has_value());
  ASSERT_TRUE(client::Login(**transport, writer, "ana", ServerProcess::Password("ana"), NowMs())
                  .has_value());
  std::atomic<bool> stop = false;
  std::atomic<int> rounds = 0;
  std::atomic<bool> failed = false;
  std::thread loop([&] {
    for (int i = 0; i < 400 && !stop; ++i) {
      std::vector<v1::Record> batch;
      for (int j = 0; j < 50; ++j) {
        v1::Record r;
        r.mutable_child()->set_given_name("Niño " + std::to_string(i * 50 + j));
        r.mutable_child()->set_region("Cusco");
        batch.push_back(std::move(r));
      }
      if (!writer.AddAll(batch, NowMs()) ||
          !client::Sync(**transport, writer, {.push_batch = 25}, NowMs)) {
        failed = true;
        return;
      }
      ++rounds;
    }
  });
  while (rounds < 5 && !failed) std::this_thread::sleep_for(std::chrono::milliseconds(20));

  std::string out;
  const int backup_status = server.Admin({"backup", "--to", dir / "during.db"}, "", &out);
  const int rounds_at_backup = rounds;
  // Let the device go on a little after the backup, so the original moves past it.
  while (rounds < rounds_at_backup + 3 && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  loop.join();
  ASSERT_FALSE(failed) << "the syncing device failed while the backup ran";
  ASSERT_EQ(backup_status, 0) << out;
  const uint64_t in_backup = ReportedRecords(out);
  EXPECT_GE(in_backup, 250u);
  EXPECT_EQ(fs::status(dir / "during.db").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  const std::map<std::string, std::string> original = Pull(dir, "from-original", server, "oficina");
  EXPECT_GT(original.size(), in_backup) << "the device wrote nothing after the backup";

  // Restore the backup taken during sync and serve it.
  TempDir restored_dir;
  RestoreInto(restored_dir, dir / "during.db");
  ServerProcess restored(restored_dir, {"--quiet"});
  ASSERT_EQ(restored.Admin({"user", "list"}, "", &out), 0) << out;
  EXPECT_NE(out.find("oficina"), std::string::npos) << out;
  restored.Start();
  const std::map<std::string, std::string> from_backup =
      Pull(restored_dir, "from-restored", restored, "oficina");
  // A consistent instant: exactly the records the backup reported, each as the original holds it
  // (the device only added records, so a record in the backup is unchanged since).
  EXPECT_EQ(from_backup.size(), in_backup);
  for (const auto& [id, state] : from_backup) {
    auto it = original.find(id);
    ASSERT_NE(it, original.end()) << id << " is in the backup but not on the original";
    EXPECT_TRUE(it->second == state) << id;
  }
  restored.Stop();

  // A backup of the quiet server restores to exactly what the original serves.
  ASSERT_EQ(server.Admin({"backup", "--to", dir / "quiet.db"}, "", &out), 0) << out;
  EXPECT_EQ(ReportedRecords(out), original.size());
  TempDir quiet_dir;
  RestoreInto(quiet_dir, dir / "quiet.db");
  ServerProcess quiet(quiet_dir, {"--quiet"});
  quiet.Start();
  EXPECT_TRUE(Pull(quiet_dir, "from-quiet", quiet, "oficina") == original);
}

TEST(Backup, NoStoreNoBackup) {
  TempDir dir;
  ServerProcess server(dir, {"--quiet"});
  std::string out;
  EXPECT_EQ(server.Admin({"backup", "--to", dir / "b.db"}, "", &out), 1);
  EXPECT_NE(out.find("no central store in"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "b.db"));
}

}  // namespace
}  // namespace vinculo
