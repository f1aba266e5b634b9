// Real processes, real kills: a device pushes 20,000 visits while the server is SIGKILLed at random
// moments, again and again; after each restart the device syncs on. In the end the server holds
// exactly 20,000 visits and a fresh device pulls exactly those.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "client/https_transport.h"
#include "client/local_store.h"
#include "client/sync_client.h"
#include "server/sqlite_central_store.h"
#include "tests/common/seed.h"
#include "tests/integration/server_process.h"

namespace vinculo {
namespace {

using server::testing::TempDir;
using testing::ServerProcess;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::Record Visit(const std::string& child, int n) {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_child_id(child);
  v->set_worker("ana");
  v->set_visited_at("2026-06-03T10:15:00-05:00");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  v->set_observations("visita " + std::to_string(n));
  return r;
}

struct Device {
  std::unique_ptr<client::LocalStore> store;
  std::unique_ptr<client::Transport> transport;
};

Device NewDevice(const TempDir& dir, const std::string& name, const ServerProcess& server) {
  Device d;
  auto store = client::LocalStore::Create(dir / (name + ".db"),
                                          {.server_url = server.url(), .ca_file = server.ca()},
                                          Now());
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  d.store = std::make_unique<client::LocalStore>(std::move(store).value());
  d.transport = *client::HttpsTransport::Create(server.url(), server.ca());
  EXPECT_TRUE(client::Login(*d.transport, *d.store, "ana", ServerProcess::Password("ana"), Now())
                  .has_value());
  return d;
}

TEST(ServerKill, TwentyThousandVisitsSurviveTwentyServerKills) {
  const uint64_t seed = PropertySeed();
  SCOPED_TRACE(SeedTrace(seed));
  std::mt19937_64 rng(seed);
  TempDir dir;
  ServerProcess server(dir, {"--quiet"});
  server.AddUser("ana", "field_worker", "Cusco");
  server.Start();

  Device device = NewDevice(dir, "phone", server);
  v1::Record child;
  child.mutable_child()->set_given_name("Lucía");
  child.mutable_child()->set_region("Cusco");
  const std::string child_id = *device.store->Add(child, Now());
  std::vector<v1::Record> visits;
  for (int i = 0; i < 20'000; ++i) visits.push_back(Visit(child_id, i));
  ASSERT_TRUE(device.store->AddAll(visits, Now()).has_value());

  int kills = 0, killed_mid_sync = 0;
  while (kills < 20) {
    std::atomic<bool> finished{false};
    std::thread syncing([&] {
      // Small batches so that every kill lands among many commits, and that the push still runs
      // for most of the twenty kills now that the server commits a request in a few ms.
      (void)client::Sync(*device.transport, *device.store, {.push_batch = 20, .pull_limit = 500},
                         Now);
      finished = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
    killed_mid_sync += finished ? 0 : 1;
    server.Kill();
    ++kills;
    syncing.join();
    server.Start();
  }
  // The network heals: sync until nothing is pending.
  ASSERT_TRUE(client::Sync(*device.transport, *device.store, {}, Now).has_value());
  EXPECT_EQ(device.store->ReadStatus()->pending, 0u);
  std::cout << "[ faults ] " << kills << " server kills, " << killed_mid_sync
            << " while a sync was running" << std::endl;
  EXPECT_GE(killed_mid_sync, 10);

  Device fresh = NewDevice(dir, "fresh", server);
  ASSERT_TRUE(client::Sync(*fresh.transport, *fresh.store, {}, Now).has_value());
  EXPECT_EQ(fresh.store->List(v1::RECORD_TYPE_HOME_VISIT)->size(), 20'000u);
  EXPECT_EQ(fresh.store->List(v1::RECORD_TYPE_CHILD)->size(), 1u);

  server.Stop();
  auto central = server::OpenSqliteCentralStore(server.data_dir(), false);
  ASSERT_TRUE(central.has_value());
  EXPECT_EQ(*(*central)->CountRecords(v1::RECORD_TYPE_HOME_VISIT), 20'000u);
}

}  // namespace
}  // namespace vinculo
