// Group commit (Api::HandleGroup, CentralStore::BeginGroup): several devices' syncs in one store
// transaction and one fsync, each sync in a savepoint of its own. What must hold: each device gets
// its own acked_seq; one failing sync is undone alone; a reply is only ever given for work that was
// committed; a crash after the commit loses nothing, and a crash before it keeps nothing — in both
// cases the device's resend is applied exactly once.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sqlite.h"
#include "common/zstd.h"
#include "server/api.h"
#include "tests/server/server_test_util.h"

namespace vinculo::server {
namespace {

using namespace vinculo::server::testing;

constexpr int kDevices = 6;

class ApiGroupCommitTest : public ::testing::Test {
 protected:
  ApiGroupCommitTest() : store_(NewCentralStore(dir_)) {
    for (int i = 0; i < kDevices; ++i) {
      Enrol(*store_, "ana", Role::kFieldWorker, "Cusco", Id(9000 + i));
      devices_.emplace_back(Id(9000 + i));
    }
  }

  // Device i creates its child and `visits` visits to it: mutations 1 .. visits + 1.
  std::vector<v1::Mutation> FirstPush(int i, int visits) {
    std::vector<v1::Mutation> out;
    out.push_back(devices_[i].Create(ChildRecord(ChildId(i), "Lucía", "Cusco"), kNow));
    for (int v = 0; v < visits; ++v) out.push_back(devices_[i].Create(VisitRecord(VisitId(i, v), ChildId(i)), kNow));
    return out;
  }
  static std::string ChildId(int i) { return Id(100 + i); }
  static std::string VisitId(int i, int v) { return Id(1000 + 100 * i + v); }

  static HttpRequest SyncRequest(int i, const std::vector<v1::Mutation>& mutations) {
    v1::SyncRequest s;
    s.set_device_id(Id(9000 + i));
    for (const v1::Mutation& m : mutations) *s.add_mutations() = m;
    return HttpRequest{.method = "POST",
                       .target = "/v1/sync",
                       .content_type = "application/x-protobuf",
                       .authorization = "Bearer token-" + Id(9000 + i),
                       .body = s.SerializeAsString()};
  }

  static std::vector<HttpResponse> HandleGroup(Api& api, const std::vector<HttpRequest>& requests) {
    std::vector<const HttpRequest*> pointers;
    for (const HttpRequest& r : requests) pointers.push_back(&r);
    return api.HandleGroup(pointers, kNow);
  }

  static v1::SyncResponse Parse(const HttpResponse& r) {
    v1::SyncResponse s;
    EXPECT_TRUE(s.ParseFromString(r.body));
    return s;
  }

  uint64_t LastSeq(int i) {
    Result<std::vector<DeviceRecord>> devices = store_->ListDevices();
    EXPECT_TRUE(devices.has_value());
    for (const DeviceRecord& d : *devices) {
      if (d.device_id == Id(9000 + i)) return d.last_seq;
    }
    return 0;
  }

  uint64_t Count(v1::RecordType type) { return store_->CountRecords(type).value_or(999); }

  void Reopen() {
    store_.reset();
    store_ = NewCentralStore(dir_);
  }

  // A trigger, made through a connection of its own, that fails the insert of record `id`:
  // RAISE(ABORT) fails the statement, RAISE(ROLLBACK) the whole transaction.
  void Poison(const std::string& id, const std::string& raise) {
    Result<sql::Database> db = sql::Database::Open(dir_ / "data/central.db");
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->Exec("CREATE TRIGGER poison BEFORE INSERT ON records WHEN NEW.id = '" + id +
                         "' BEGIN SELECT RAISE(" + raise + ", 'injected failure'); END")
                    .ok());
  }
  void Cure() {
    Result<sql::Database> db = sql::Database::Open(dir_ / "data/central.db");
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->Exec("DROP TRIGGER poison").ok());
  }

  TempDir dir_;
  std::unique_ptr<CentralStore> store_;
  std::vector<FakeDevice> devices_;
};

TEST_F(ApiGroupCommitTest, EachSyncOfAGroupGetsItsOwnAckedSeq) {
  Api api(*store_, ApiOptions{});
  std::vector<HttpRequest> first;
  std::vector<std::vector<v1::Mutation>> pushed;
  for (int i = 0; i < kDevices; ++i) {
    pushed.push_back(FirstPush(i, i + 1));  // device i sends i + 2 mutations
    first.push_back(SyncRequest(i, pushed.back()));
  }
  std::vector<HttpResponse> replies = HandleGroup(api, first);
  ASSERT_EQ(replies.size(), first.size());
  for (int i = 0; i < kDevices; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    EXPECT_EQ(Parse(replies[i]).acked_seq(), static_cast<uint64_t>(i + 2)) << "device " << i;
    EXPECT_EQ(replies[i].device, Id(9000 + i));
  }

  // A second group: every device pushes one more visit, and device 0 also resends its first push
  // (a lost reply): acknowledged again, applied once.
  std::vector<HttpRequest> second;
  second.push_back(SyncRequest(0, pushed[0]));
  for (int i = 0; i < kDevices; ++i) {
    second.push_back(SyncRequest(i, {devices_[i].Create(VisitRecord(VisitId(i, 50), ChildId(i)), kNow)}));
  }
  replies = HandleGroup(api, second);
  ASSERT_EQ(replies[0].status, 200);
  EXPECT_EQ(Parse(replies[0]).acked_seq(), 2u);
  for (int i = 0; i < kDevices; ++i) {
    ASSERT_EQ(replies[i + 1].status, 200) << replies[i + 1].body;
    EXPECT_EQ(Parse(replies[i + 1]).acked_seq(), static_cast<uint64_t>(i + 3)) << "device " << i;
  }

  // Durable: all there after the store is closed and opened again.
  Reopen();
  EXPECT_EQ(Count(v1::RECORD_TYPE_CHILD), static_cast<uint64_t>(kDevices));
  uint64_t visits = 0;
  for (int i = 0; i < kDevices; ++i) {
    visits += static_cast<uint64_t>(i + 2);
    EXPECT_EQ(LastSeq(i), static_cast<uint64_t>(i + 3));
  }
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), visits);
}

TEST_F(ApiGroupCommitTest, AFailingSyncIsUndoneAloneAndTheOthersCommit) {
  Api api(*store_, ApiOptions{});
  Poison(VisitId(2, 1), "ABORT");  // device 2's second visit fails in the store
  std::vector<HttpRequest> group;
  std::vector<std::vector<v1::Mutation>> pushed;
  for (int i = 0; i < kDevices; ++i) {
    pushed.push_back(FirstPush(i, 2));
    group.push_back(SyncRequest(i, pushed.back()));
  }
  std::vector<HttpResponse> replies = HandleGroup(api, group);
  for (int i = 0; i < kDevices; ++i) {
    if (i == 2) {
      EXPECT_GE(replies[i].status, 400);  // the store's error (a RAISE reads as a constraint)
    } else {
      ASSERT_EQ(replies[i].status, 200) << replies[i].body;
      EXPECT_EQ(Parse(replies[i]).acked_seq(), 3u);
    }
  }
  // Nothing of device 2's sync was kept, not even the child and visit before the failure.
  Reopen();
  EXPECT_EQ(LastSeq(2), 0u);
  EXPECT_FALSE(store_->ReadRecord(v1::RECORD_TYPE_CHILD, ChildId(2))->has_value());
  EXPECT_FALSE(store_->ReadRecord(v1::RECORD_TYPE_HOME_VISIT, VisitId(2, 0))->has_value());
  EXPECT_EQ(Count(v1::RECORD_TYPE_CHILD), static_cast<uint64_t>(kDevices - 1));
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), static_cast<uint64_t>(2 * (kDevices - 1)));

  // Once the store is well again, the resend goes in whole.
  Cure();
  Api again(*store_, ApiOptions{});
  replies = HandleGroup(again, {SyncRequest(2, pushed[2])});
  ASSERT_EQ(replies[0].status, 200) << replies[0].body;
  EXPECT_EQ(Parse(replies[0]).acked_seq(), 3u);
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), static_cast<uint64_t>(2 * kDevices));
}

TEST_F(ApiGroupCommitTest, WhenTheWholeTransactionIsLostNoSyncIsAcknowledged) {
  Api api(*store_, ApiOptions{});
  // RAISE(ROLLBACK) takes the group's whole transaction with it, as a full disk or an I/O error
  // can: the syncs before it in the group were lost too, and those after it have nothing to join.
  Poison(VisitId(2, 0), "ROLLBACK");
  std::vector<HttpRequest> group;
  std::vector<std::vector<v1::Mutation>> pushed;
  for (int i = 0; i < kDevices; ++i) {
    pushed.push_back(FirstPush(i, 1));
    group.push_back(SyncRequest(i, pushed.back()));
  }
  std::vector<HttpResponse> replies = HandleGroup(api, group);
  for (int i = 0; i < kDevices; ++i) {
    EXPECT_NE(replies[i].status, 200) << "device " << i << " was told its sync was kept";
    if (i != 2) {
      EXPECT_EQ(replies[i].status, 503) << "device " << i;
    }
  }
  Reopen();
  EXPECT_EQ(Count(v1::RECORD_TYPE_CHILD), 0u);
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), 0u);
  for (int i = 0; i < kDevices; ++i) EXPECT_EQ(LastSeq(i), 0u);

  // Every device sends again: each push is applied once.
  Cure();
  Api again(*store_, ApiOptions{});
  std::vector<HttpRequest> resend;
  for (int i = 0; i < kDevices; ++i) resend.push_back(SyncRequest(i, pushed[i]));
  replies = HandleGroup(again, resend);
  for (int i = 0; i < kDevices; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    EXPECT_EQ(Parse(replies[i]).acked_seq(), 2u);
  }
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), static_cast<uint64_t>(kDevices));
}

TEST_F(ApiGroupCommitTest, ALargeSyncCommitsAloneAndOutlivesALostGroup) {
  Api api(*store_, ApiOptions{});
  // Device 0 pushes 150 visits, decoded ahead as the server does: more than a group takes, so it
  // commits on its own. The small syncs share a group whose transaction is then lost.
  Poison(VisitId(2, 0), "ROLLBACK");
  std::vector<HttpRequest> group;
  std::vector<std::vector<v1::Mutation>> pushed;
  for (int i = 0; i < kDevices; ++i) {
    pushed.push_back(FirstPush(i, i == 0 ? 150 : 1));
    group.push_back(SyncRequest(i, pushed.back()));
  }
  api.Prepare(&group.front());
  std::vector<HttpResponse> replies = HandleGroup(api, group);
  ASSERT_EQ(replies[0].status, 200) << replies[0].body;
  EXPECT_EQ(Parse(replies[0]).acked_seq(), 151u);
  for (int i = 1; i < kDevices; ++i) EXPECT_NE(replies[i].status, 200) << "device " << i;
  Reopen();
  EXPECT_EQ(LastSeq(0), 151u);
  EXPECT_EQ(Count(v1::RECORD_TYPE_CHILD), 1u);
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), 150u);

  // A small sync decoded ahead joins the group, and is lost with it.
  Api again(*store_, ApiOptions{});
  std::vector<HttpRequest> small{SyncRequest(1, pushed[1]), SyncRequest(2, pushed[2])};
  again.Prepare(&small.front());
  replies = HandleGroup(again, small);
  EXPECT_EQ(replies[0].status, 503) << replies[0].body;
  Reopen();
  EXPECT_EQ(LastSeq(1), 0u);
}

// Runs `work` in a child process that ends with _exit, without closing the store or anything
// else: a crash at the end of `work`.
template <typename Work>
void CrashAfter(Work work) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    work();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(ApiGroupCommitTest, ACrashAfterTheCommitBeforeTheRepliesLosesNothing) {
  std::vector<HttpRequest> group;
  for (int i = 0; i < kDevices; ++i) group.push_back(SyncRequest(i, FirstPush(i, 3)));
  store_.reset();
  CrashAfter([&] {
    Result<std::unique_ptr<CentralStore>> store = OpenSqliteCentralStore(dir_ / "data", false);
    if (!store) _exit(1);
    Api api(**store, ApiOptions{});
    std::vector<HttpResponse> replies = HandleGroup(api, group);  // committed; never sent
    for (const HttpResponse& r : replies) {
      if (r.status != 200) _exit(2);
    }
  });
  Reopen();
  EXPECT_EQ(Count(v1::RECORD_TYPE_CHILD), static_cast<uint64_t>(kDevices));
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), static_cast<uint64_t>(3 * kDevices));
  // The devices never heard: they send the same pushes again, which are acknowledged, not applied.
  Api api(*store_, ApiOptions{});
  std::vector<HttpResponse> replies = HandleGroup(api, group);
  for (int i = 0; i < kDevices; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    EXPECT_EQ(Parse(replies[i]).acked_seq(), 4u);
    EXPECT_EQ(Parse(replies[i]).rejections_size(), 0);
  }
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), static_cast<uint64_t>(3 * kDevices));
}

TEST_F(ApiGroupCommitTest, ACrashBeforeTheCommitKeepsNothingAndTheResendAppliesOnce) {
  std::vector<HttpRequest> group;
  for (int i = 0; i < kDevices; ++i) group.push_back(SyncRequest(i, FirstPush(i, 3)));
  store_.reset();
  CrashAfter([&] {
    Result<std::unique_ptr<CentralStore>> store = OpenSqliteCentralStore(dir_ / "data", false);
    if (!store) _exit(1);
    Api api(**store, ApiOptions{});
    Result<std::unique_ptr<StoreGroup>> open = (*store)->BeginGroup();
    if (!open) _exit(3);
    for (const HttpRequest& r : group) {
      if (api.Handle(r, kNow).status != 200) _exit(2);  // handled in the group, not committed
    }
  });
  Reopen();
  EXPECT_EQ(Count(v1::RECORD_TYPE_CHILD), 0u);
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), 0u);
  Api api(*store_, ApiOptions{});
  std::vector<HttpResponse> replies = HandleGroup(api, group);
  for (int i = 0; i < kDevices; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    EXPECT_EQ(Parse(replies[i]).acked_seq(), 4u);
  }
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), static_cast<uint64_t>(3 * kDevices));
}

TEST_F(ApiGroupCommitTest, OtherRequestsAreAnsweredBesideTheGroup) {
  Api api(*store_, ApiOptions{});
  std::vector<HttpRequest> group{SyncRequest(0, FirstPush(0, 1)),
                                 HttpRequest{.method = "GET", .target = "/healthz"},
                                 SyncRequest(1, FirstPush(1, 1))};
  std::vector<HttpResponse> replies = HandleGroup(api, group);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].status, 200);
  EXPECT_EQ(replies[1].status, 200);
  EXPECT_EQ(replies[1].body, "ok\n");
  EXPECT_EQ(replies[2].status, 200);
  EXPECT_EQ(Parse(replies[2]).acked_seq(), 2u);
}

TEST_F(ApiGroupCommitTest, BodiesDecodedAheadGetTheSameAnswers) {
  Api api(*store_, ApiOptions{});
  // Api::Prepare decodes sync bodies on the I/O threads; Handle then uses what it decoded.
  HttpRequest good = SyncRequest(0, FirstPush(0, 2));
  api.Prepare(&good);
  ASSERT_NE(good.prepared, nullptr);
  HttpRequest garbage = SyncRequest(1, {});
  garbage.body = "\xff\xff not a protobuf";
  api.Prepare(&garbage);
  HttpRequest stranger = SyncRequest(2, FirstPush(2, 1));
  stranger.authorization = "Bearer not-a-token";
  api.Prepare(&stranger);
  HttpRequest health{.method = "GET", .target = "/healthz"};
  api.Prepare(&health);
  EXPECT_EQ(health.prepared, nullptr);

  std::vector<HttpResponse> replies = HandleGroup(api, {good, garbage, stranger, health});
  ASSERT_EQ(replies[0].status, 200) << replies[0].body;
  EXPECT_EQ(Parse(replies[0]).acked_seq(), 3u);
  EXPECT_EQ(replies[1].status, 400);  // decoded ahead, refused after the token was checked
  EXPECT_EQ(replies[2].status, 401);  // an unknown token is refused before its body counts
  EXPECT_EQ(replies[3].status, 200);
  EXPECT_EQ(Count(v1::RECORD_TYPE_HOME_VISIT), 2u);
}

// Api::Prepare runs on the I/O threads before any token is checked, and keeps what it decoded until
// the store thread gets to the request: a stranger's few KB of zstd would hold tens of MB of parsed
// request each (found in review). What it holds is bounded by max_predecoded_bytes; past it, the
// body is decoded on the store thread after its token, and the answers are the same.
TEST_F(ApiGroupCommitTest, BodiesDecodedAheadHoldAtMostTheirBudget) {
  ApiOptions options;
  options.max_predecoded_bytes = 8u << 20;
  Api api(*store_, options);
  v1::Record big = VisitRecord(VisitId(0, 0), ChildId(0));
  big.mutable_home_visit()->set_observations(std::string(30u << 20, 'a'));
  v1::Mutation m;
  m.set_seq(1);
  *m.mutable_record() = big;
  HttpRequest stranger = SyncRequest(0, {m});
  stranger.authorization = "Bearer not-a-token";
  stranger.body = ZstdCompress(stranger.body);
  stranger.content_encoding = "zstd";
  ASSERT_LT(stranger.body.size(), 64u << 10);
  api.Prepare(&stranger);
  EXPECT_EQ(stranger.prepared, nullptr) << "30 MB held for a body of a few KB";

  HttpRequest small = SyncRequest(0, {});
  api.Prepare(&small);
  ASSERT_NE(small.prepared, nullptr);  // within the budget
  std::vector<HttpResponse> replies = HandleGroup(api, {stranger, small});
  EXPECT_EQ(replies[0].status, 401);
  EXPECT_EQ(replies[1].status, 200);

  // Released with the requests: the budget serves again.
  stranger.prepared.reset();
  small.prepared.reset();
  HttpRequest again = SyncRequest(0, {});
  api.Prepare(&again);
  EXPECT_NE(again.prepared, nullptr);
}

}  // namespace
}  // namespace vinculo::server
