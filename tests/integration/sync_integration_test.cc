// A real vinculo-server on 127.0.0.1 with a test certificate, and real device stores syncing with it
// through TLS (client/https_transport.h): the promises of the sync protocol, end to end.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "client/https_transport.h"
#include "client/local_store.h"
#include "client/sync_client.h"
#include "common/record.h"
#include "tests/integration/cutting_proxy.h"
#include "tests/integration/server_process.h"

namespace vinculo {
namespace {

using client::LocalStore;
using server::testing::TempDir;
using testing::CuttingProxy;
using testing::ServerProcess;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A device: its own store in the test's directory, and a transport to the server.
struct Device {
  Device(const TempDir& dir, const std::string& name, const std::string& server_url,
         const std::string& ca_file)
      : url(server_url), ca(ca_file) {
    Result<LocalStore> s =
        LocalStore::Create(dir / (name + ".db"), {.server_url = url, .ca_file = ca}, Now());
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    store = std::make_unique<LocalStore>(std::move(s).value());
    Connect(url);
  }
  void Connect(const std::string& to) {
    Result<std::unique_ptr<client::Transport>> t = client::HttpsTransport::Create(to, ca);
    EXPECT_TRUE(t.has_value()) << t.error().ToString();
    transport = std::move(t).value();
  }
  Status Login(const std::string& user, const std::string& password) {
    Result<client::LoginResult> r = client::Login(*transport, *store, user, password, Now());
    if (!r) return r.error();
    return Status::Ok();
  }
  Result<client::SyncSummary> Sync(uint32_t pull_limit = 1000) {
    return client::Sync(*transport, *store, {.push_batch = 500, .pull_limit = pull_limit}, Now);
  }
  std::string Export() {
    std::string out;
    for (const v1::RecordState& s : *store->ExportAll()) out += s.SerializeAsString();
    return out;
  }

  std::string url, ca;
  std::unique_ptr<LocalStore> store;
  std::unique_ptr<client::Transport> transport;
};

v1::Record Child(const std::string& given, const std::string& region = "Cusco") {
  v1::Record r;
  v1::Child* c = r.mutable_child();
  c->set_given_name(given);
  c->set_family_name("Quispe Mamani");
  c->set_region(region);
  c->set_status(v1::CASE_STATUS_OPEN);
  c->set_placement(v1::PLACEMENT_RESIDENTIAL_INSTITUTION);
  return r;
}

v1::Record Contact(const std::string& child_id, const std::string& phone) {
  v1::Record r;
  v1::Contact* c = r.mutable_contact();
  c->set_child_id(child_id);
  c->set_given_name("Rosa");
  c->set_family_name("Quispe");
  c->set_relationship(v1::RELATIONSHIP_GRANDPARENT);
  c->set_phone(phone);
  return r;
}

v1::Record Visit(const std::string& child_id, int n) {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_child_id(child_id);
  v->set_worker("ana");
  v->set_visited_at("2026-06-03T10:15:00-05:00");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  v->set_observations("Visita " + std::to_string(n) + ": la niña está bien, come con la abuela.");
  v->set_next_visit_due("2026-06-17");
  return r;
}

class SyncIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_, std::vector<std::string>{"--quiet"});
    server_->AddUser("ana", "field_worker", "Cusco");
    server_->AddUser("beto", "field_worker", "Cusco");
    server_->Start();
  }

  std::unique_ptr<Device> NewDevice(const std::string& name, const std::string& user) {
    auto d = std::make_unique<Device>(dir_, name, server_->url(), server_->ca());
    Status s = d->Login(user, ServerProcess::Password(user));
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return d;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SyncIntegrationTest, TwoDevicesConvergeAfterOfflineEditsInAnySyncOrder) {
  for (bool a_first : {true, false}) {
    SCOPED_TRACE(a_first ? "A syncs first" : "B syncs first");
    auto a = NewDevice(a_first ? "a1" : "a2", "ana");
    auto b = NewDevice(a_first ? "b1" : "b2", "beto");
    const std::string child = *a->store->Add(Child("Lucía"), Now());
    const std::string contact = *a->store->Add(Contact(child, "+51 984 111 222"), Now());
    ASSERT_TRUE(a->Sync().has_value());
    ASSERT_TRUE(b->Sync().has_value());

    // Offline: both record visits and both correct the grandmother's phone number.
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->store->Add(Visit(child, i), Now()));
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(b->store->Add(Visit(child, 10 + i), Now()));
    v1::Record phone_a = Contact(child, "+51 984 333 444");
    v1::Record phone_b = Contact(child, "+51 984 555 666");
    ASSERT_TRUE(a->store->Update(v1::RECORD_TYPE_CONTACT, contact, phone_a, {7}, Now()).ok());
    ASSERT_TRUE(b->store->Update(v1::RECORD_TYPE_CONTACT, contact, phone_b, {7}, Now()).ok());

    Device& first = a_first ? *a : *b;
    Device& second = a_first ? *b : *a;
    ASSERT_TRUE(first.Sync().has_value());
    Result<client::SyncSummary> s = second.Sync();
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    EXPECT_EQ(s->conflicts, 1u);
    ASSERT_TRUE(first.Sync().has_value());

    EXPECT_EQ(a->Export(), b->Export());
    EXPECT_EQ(a->store->List(v1::RECORD_TYPE_HOME_VISIT)->size(), a_first ? 5u : 10u);
    EXPECT_EQ(a->store->ReadStatus()->pending, 0u);
  }
}

TEST_F(SyncIntegrationTest, SyncCutOffMidResponseAndRetriedDuplicatesNothing) {
  // Another device's 1,000 visits wait on the server, so that a's first reply is a full page (the
  // server does not send a's own new records back to it).
  auto other = NewDevice("other", "ana");
  const std::string other_child = *other->store->Add(Child("Mateo"), Now());
  std::vector<v1::Record> waiting;
  for (int i = 0; i < 1000; ++i) waiting.push_back(Visit(other_child, i));
  ASSERT_TRUE(other->store->AddAll(waiting, Now()).has_value());
  ASSERT_TRUE(other->Sync().has_value());

  auto a = NewDevice("a", "ana");
  const std::string child = *a->store->Add(Child("Lucía"), Now());
  std::vector<v1::Record> visits;
  for (int i = 0; i < 800; ++i) visits.push_back(Visit(child, i));
  ASSERT_TRUE(a->store->AddAll(visits, Now()).has_value());

  CuttingProxy proxy(server_->port());
  a->Connect("https://127.0.0.1:" + std::to_string(proxy.port()));
  proxy.CutNextAfter(8'000);  // past the handshake, in the middle of the first (gzipped) reply
  Result<client::SyncSummary> cut = a->Sync();
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().code, ErrorCode::kUnavailable) << cut.error().ToString();
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_GT(a->store->ReadStatus()->pending, 0u);  // nothing was acknowledged to the device

  Result<client::SyncSummary> retried = a->Sync();
  ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
  EXPECT_EQ(a->store->ReadStatus()->pending, 0u);

  // A fresh device sees each visit exactly once.
  auto fresh = NewDevice("fresh", "beto");
  ASSERT_TRUE(fresh->Sync().has_value());
  EXPECT_EQ(fresh->store->List(v1::RECORD_TYPE_HOME_VISIT)->size(), 1800u);
  EXPECT_EQ(fresh->Export(), a->Export());
}

TEST_F(SyncIntegrationTest, SyncsOfOneDeviceShareOneConnection) {
  // 2,500 visits wait on the server: the fresh device pulls them in three pages, the later ones
  // asked for while the earlier are applied; then incremental syncs both ways.
  auto other = NewDevice("other", "ana");
  const std::string child = *other->store->Add(Child("Mateo"), Now());
  std::vector<v1::Record> waiting;
  for (int i = 0; i < 2'500; ++i) waiting.push_back(Visit(child, i));
  ASSERT_TRUE(other->store->AddAll(waiting, Now()).has_value());
  ASSERT_TRUE(other->Sync().has_value());

  auto a = NewDevice("a", "beto");
  CuttingProxy proxy(server_->port());
  a->Connect("https://127.0.0.1:" + std::to_string(proxy.port()));
  Result<client::SyncSummary> pulled = a->Sync();
  ASSERT_TRUE(pulled.has_value()) << pulled.error().ToString();
  EXPECT_EQ(pulled->pulled, 2'501u);
  EXPECT_GE(pulled->rounds, 3u);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(a->store->Add(Visit(child, 10'000 + round), Now()).has_value());
    ASSERT_TRUE(other->store->Add(Visit(child, 20'000 + round), Now()).has_value());
    ASSERT_TRUE(other->Sync().has_value());
    Result<client::SyncSummary> s = a->Sync();
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    EXPECT_EQ(s->pushed, 1u);
    EXPECT_EQ(s->pulled, 1u);  // the other's visit; its own comes back as a matching echo
  }
  // One TLS handshake for all of it: a new connection per sync (or per page) would cost a
  // handshake's round trips each time, which on 2G is most of an incremental sync.
  EXPECT_EQ(proxy.connections(), 1);
  ASSERT_TRUE(other->Sync().has_value());
  EXPECT_EQ(a->Export(), other->Export());
}

TEST_F(SyncIntegrationTest, AReplySentForButNeverReadIsNeverTakenForAnother) {
  auto other = NewDevice("other", "ana");
  const std::string child = *other->store->Add(Child("Mateo"), Now());
  std::vector<v1::Record> waiting;
  for (int i = 0; i < 50; ++i) waiting.push_back(Visit(child, i));
  ASSERT_TRUE(other->store->AddAll(waiting, Now()).has_value());
  ASSERT_TRUE(other->Sync().has_value());

  auto a = NewDevice("a", "beto");
  CuttingProxy proxy(server_->port());
  a->Connect("https://127.0.0.1:" + std::to_string(proxy.port()));
  auto pull = [&](uint32_t limit) {
    v1::SyncRequest request;
    request.set_device_id(a->store->device_id());
    request.set_limit(limit);
    client::HttpRequest http{.path = client::kSyncPath,
                             .content_type = client::kProtobufContentType,
                             .body = request.SerializeAsString()};
    http.headers.emplace_back("Authorization", "Bearer " + *a->store->Token());
    return http;
  };
  // A page of 1 is sent for, as a sync does before applying the page before it; the sync then
  // stops (say the store refused that page) and the reply is never read. The next exchange must
  // get its own reply (a page of 7), not the page of 1 waiting on the connection.
  a->transport->SendAhead(pull(1));
  Result<client::HttpResponse> reply = a->transport->Send(pull(7));
  ASSERT_TRUE(reply.has_value()) << reply.error().ToString();
  v1::SyncResponse page;
  ASSERT_TRUE(page.ParseFromString(reply->body));
  EXPECT_EQ(page.changes_size(), 7);
  EXPECT_EQ(proxy.connections(), 2);  // the connection holding the unread reply was dropped
  // And a sync on the same transport goes on from the store's cursor, applying everything.
  Result<client::SyncSummary> s = a->Sync(/*pull_limit=*/20);
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->pulled, 51u);
  EXPECT_EQ(a->Export(), other->Export());
}

TEST_F(SyncIntegrationTest, DeviceCatchingUpOnTenThousandChangesGetsThemInPages) {
  auto a = NewDevice("a", "ana");
  const std::string child = *a->store->Add(Child("Lucía"), Now());
  std::vector<v1::Record> visits;
  for (int i = 0; i < 9'999; ++i) visits.push_back(Visit(child, i));
  ASSERT_TRUE(a->store->AddAll(visits, Now()).has_value());
  ASSERT_TRUE(a->Sync().has_value());

  auto fresh = NewDevice("fresh", "beto");
  uint32_t pages = 0;
  Result<client::SyncSummary> s = client::Sync(
      *fresh->transport, *fresh->store,
      {.push_batch = 500, .pull_limit = 1000,
       .on_progress = [&](const client::SyncProgress& p) {
         ++pages;
         EXPECT_LE(p.pulled, 1000u * pages);
       }},
      Now);
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->pulled, 10'000u);
  EXPECT_GE(pages, 10u);
  EXPECT_EQ(fresh->store->List(v1::RECORD_TYPE_HOME_VISIT)->size(), 9'999u);
  ASSERT_TRUE(a->Sync().has_value());  // pulls its own records back: nothing changes
  EXPECT_EQ(fresh->Export(), a->Export());
}

TEST_F(SyncIntegrationTest, WrongPasswordRevokedDeviceAndBadTokensAreRefused) {
  Device d(dir_, "d", server_->url(), server_->ca());
  Status wrong = d.Login("ana", "not-the-password");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);

  ASSERT_TRUE(d.Login("ana", ServerProcess::Password("ana")).ok());
  ASSERT_TRUE(d.Sync().has_value());

  // A forged token.
  ASSERT_TRUE(d.store->SetCredentials("ana", std::string(64, 'f')).ok());
  EXPECT_EQ(d.Sync().error().code, ErrorCode::kUnauthenticated);

  // A revoked device: its token stops working, and it cannot log in again.
  ASSERT_TRUE(d.Login("ana", ServerProcess::Password("ana")).ok());
  std::string out;
  ASSERT_EQ(server_->Admin({"device", "revoke", d.store->device_id()}, "", &out), 0) << out;
  Result<client::SyncSummary> revoked = d.Sync();
  ASSERT_FALSE(revoked.has_value());
  EXPECT_EQ(revoked.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(d.Login("ana", ServerProcess::Password("ana")).error().code,
            ErrorCode::kPermissionDenied);
}

TEST_F(SyncIntegrationTest, ExpiredTokenIsRefused) {
  server_->Stop();
  TempDir other;
  ServerProcess short_lived(other, {"--quiet", "--token-lifetime", "1"});
  short_lived.AddUser("ana", "field_worker", "Cusco");
  short_lived.Start();
  Device d(other, "d", short_lived.url(), short_lived.ca());
  ASSERT_TRUE(d.Login("ana", ServerProcess::Password("ana")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Result<client::SyncSummary> s = d.Sync();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(s.error().message.find("expired"), std::string::npos) << s.error().message;
}

TEST_F(SyncIntegrationTest, WriteOutsideTheRegionIsRejectedVisiblyAndTheRestSyncs) {
  auto a = NewDevice("a", "ana");
  ASSERT_TRUE(a->store->Add(Child("Lucía", "Lima"), Now()));
  const std::string mine = *a->store->Add(Child("Mateo"), Now());
  Result<client::SyncSummary> s = a->Sync();
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->rejected, 1u);
  EXPECT_EQ(s->pushed, 1u);
  std::vector<client::RejectedMutation> rejected = *a->store->Rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].code, "forbidden");
  EXPECT_EQ(rejected[0].field, "child.region");
  auto b = NewDevice("b", "beto");
  ASSERT_TRUE(b->Sync().has_value());
  EXPECT_EQ(b->store->List(v1::RECORD_TYPE_CHILD)->size(), 1u);
  EXPECT_TRUE(b->store->Get(v1::RECORD_TYPE_CHILD, mine).has_value());
}

TEST_F(SyncIntegrationTest, ClientVerifiesTheServerCertificate) {
  // A CA that did not sign the server's certificate.
  TempDir other;
  std::string out;
  ASSERT_EQ(testing::RunProcess({"/bin/bash", VINCULO_MAKE_CERTS, other / "certs"}, "", &out), 0);
  Device d(dir_, "d", server_->url(), other / "certs/ca.pem");
  Status s = d.Login("ana", ServerProcess::Password("ana"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message.find("certificate verify failed"), std::string::npos)
      << s.error().message;

  // The right CA, but a certificate for another host name.
  TempDir elsewhere;
  ServerProcess misnamed(elsewhere, {"--quiet"}, {"elsewhere.example"});
  misnamed.AddUser("ana", "field_worker", "Cusco");
  misnamed.Start();
  Device wrong_name(elsewhere, "e", misnamed.url(), misnamed.ca());
  Status n = wrong_name.Login("ana", ServerProcess::Password("ana"));
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("certificate verify failed"), std::string::npos)
      << n.error().message;

  // The name the certificate carries works.
  Device by_name(dir_, "f", "https://localhost:" + std::to_string(server_->port()), server_->ca());
  EXPECT_TRUE(by_name.Login("ana", ServerProcess::Password("ana")).ok());
}

// While three devices push concurrently, a fourth pulls in small pages over and over. If a change
// ever became visible below a cursor already handed out, the reader would skip it for good.
TEST_F(SyncIntegrationTest, ConcurrentPushesNeverAppearBelowAHandedOutCursor) {
  auto seed = NewDevice("seed", "ana");
  const std::string child = *seed->store->Add(Child("Lucía"), Now());
  ASSERT_TRUE(seed->Sync().has_value());
  std::vector<std::unique_ptr<Device>> writers;
  for (int w = 0; w < 3; ++w) writers.push_back(NewDevice("w" + std::to_string(w), "ana"));
  auto reader = NewDevice("reader", "beto");

  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      Device& d = *writers[w];
      for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 10; ++i) ASSERT_TRUE(d.store->Add(Visit(child, w * 1000 + i), Now()));
        ASSERT_TRUE(client::Sync(*d.transport, *d.store, {.push_batch = 7, .pull_limit = 50}, Now)
                        .has_value());
      }
    });
  }
  int reads = 0;
  std::thread pulling([&] {
    while (!done) {
      ASSERT_TRUE(client::Sync(*reader->transport, *reader->store, {.pull_limit = 13}, Now)
                      .has_value());
      ++reads;
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  pulling.join();
  ASSERT_TRUE(reader->Sync(13).has_value());
  EXPECT_GT(reads, 1);
  EXPECT_EQ(reader->store->List(v1::RECORD_TYPE_HOME_VISIT)->size(), 600u);
  ASSERT_TRUE(seed->Sync().has_value());
  EXPECT_EQ(reader->Export(), seed->Export());
}

TEST_F(SyncIntegrationTest, ServerStopsGracefullyAndKeepsEverything) {
  auto a = NewDevice("a", "ana");
  ASSERT_TRUE(a->store->Add(Child("Lucía"), Now()));
  ASSERT_TRUE(a->Sync().has_value());
  EXPECT_EQ(server_->Stop() & 0x7f, 0);  // exited, not killed
  server_->Start();
  auto b = NewDevice("b", "beto");
  ASSERT_TRUE(b->Sync().has_value());
  EXPECT_EQ(b->store->List(v1::RECORD_TYPE_CHILD)->size(), 1u);
}

}  // namespace
}  // namespace vinculo
