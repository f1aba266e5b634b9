#include "server/sync_service.h"

#include <gtest/gtest.h>

#include "common/echoes.h"
#include "common/sqlite.h"
#include "common/state_digest.h"
#include "common/uniform_stamp.h"
#include "tests/server/server_test_util.h"

namespace vinculo::server {
namespace {

using namespace vinculo::server::testing;

class SyncServiceTest : public ::testing::Test {
 protected:
  SyncServiceTest() : store_(NewCentralStore(dir_)), service_(*store_, SyncLimits{}) {
    ana_ = Enrol(*store_, "ana", Role::kFieldWorker, "Cusco", Id(9001));
    beto_ = Enrol(*store_, "beto", Role::kFieldWorker, "Cusco", Id(9002));
    lia_ = Enrol(*store_, "lia", Role::kFieldWorker, "Lima", Id(9003));
    admin_ = Enrol(*store_, "root", Role::kAdmin, "", Id(9004));
    sup_ = Enrol(*store_, "sofia", Role::kSupervisor, "Cusco", Id(9005));
    a_.id = ana_.device_id;
    b_.id = beto_.device_id;
  }

  v1::SyncResponse Sync(const Principal& who, std::vector<v1::Mutation> mutations,
                        uint64_t cursor = 0, uint32_t limit = 0, int64_t now = kNow) {
    v1::SyncRequest request;
    request.set_device_id(who.device_id);
    for (auto& m : mutations) *request.add_mutations() = std::move(m);
    request.set_cursor(cursor);
    request.set_limit(limit);
    Result<v1::SyncResponse> r = service_.Sync(who, request, now);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.has_value() ? *r : v1::SyncResponse();
  }

  uint64_t LastSeq() {
    auto txn = store_->Begin();
    return *(*txn)->LastServerSeq();
  }

  TempDir dir_;
  std::unique_ptr<CentralStore> store_;
  SyncService service_;
  Principal ana_, beto_, lia_, admin_, sup_;
  FakeDevice a_, b_;
};

TEST_F(SyncServiceTest, AppliesInSeqOrderAndReturnsChanges) {
  v1::Mutation m1 = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  v1::Mutation m2 = a_.Create(VisitRecord(Id(2), Id(1)), kNow);
  v1::SyncResponse r = Sync(ana_, {m1, m2});
  EXPECT_EQ(r.acked_seq(), 2u);
  EXPECT_EQ(r.rejections_size(), 0);
  // The request does not accept echoes: both records come back in full, and the cursor passes them.
  ASSERT_EQ(r.changes_size(), 2);
  EXPECT_EQ(r.changes(0).server_seq(), 1u);
  EXPECT_EQ(r.changes(1).server_seq(), 2u);
  EXPECT_FALSE(r.changes(0).has_uniform_stamp());  // nor uniform stamps
  EXPECT_EQ(r.echoes_size(), 0);
  EXPECT_EQ(r.next_cursor(), 2u);
  EXPECT_FALSE(r.has_more());
  EXPECT_GT(r.server_clock(), m2.hlc());
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_HOME_VISIT), 1u);
}

// A device that accepts echoes gets its own new records back as digests of the server's state,
// which are the digests of what it holds; a record another device also wrote comes in full.
TEST_F(SyncServiceTest, OwnWritesComeBackAsDigestsWhenTheDeviceAcceptsEchoes) {
  v1::SyncRequest request;
  request.set_device_id(ana_.device_id);
  request.set_accepts_echoes(true);
  *request.add_mutations() = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  *request.add_mutations() = a_.Create(VisitRecord(Id(2), Id(1)), kNow);
  Result<v1::SyncResponse> r = service_.Sync(ana_, request, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->changes_size(), 0);
  ASSERT_EQ(r->echoes_size(), 2);
  EXPECT_EQ(r->echoes(0).server_seq(), 1u);
  EXPECT_EQ(r->echoes(0).mutation_seq(), 1u);
  EXPECT_EQ(r->echoes(0).state_digest(), StateDigest(a_.states[Id(1)]));
  EXPECT_EQ(r->echoes(1).server_seq(), 2u);
  EXPECT_EQ(r->echoes(1).mutation_seq(), 2u);
  EXPECT_EQ(r->echoes(1).state_digest(), StateDigest(a_.states[Id(2)]));
  EXPECT_EQ(r->next_cursor(), 2u);

  // beto edits the child ana made: the record now holds both devices' stamps, so his own write
  // comes back in full, as does it to ana.
  b_.Pull(Sync(beto_, {}));
  v1::Record edit;
  edit.mutable_child()->set_id(Id(1));
  edit.mutable_child()->set_given_name("Lucía Inés");
  request.set_device_id(beto_.device_id);
  request.clear_mutations();
  *request.add_mutations() = b_.Write(edit, {2}, kNow + 10);
  request.set_cursor(2);
  r = service_.Sync(beto_, request, kNow + 10);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->echoes_size(), 0);
  ASSERT_EQ(r->changes_size(), 1);
  EXPECT_EQ(r->changes(0).state().record().child().given_name(), "Lucía Inés");
}

// A device that accepts echo pages gets the same echoes as one page: the seqs as steps, and one
// digest over the states it holds, in order.
TEST_F(SyncServiceTest, OwnWritesComeBackAsOnePageWhenTheDeviceAcceptsEchoPages) {
  v1::SyncRequest request;
  request.set_device_id(ana_.device_id);
  request.set_accepts_echoes(true);
  request.set_accepts_echo_pages(true);
  *request.add_mutations() = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  *request.add_mutations() = a_.Create(VisitRecord(Id(2), Id(1)), kNow);
  *request.add_mutations() = a_.Create(VisitRecord(Id(3), Id(1)), kNow);
  Result<v1::SyncResponse> r = service_.Sync(ana_, request, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->changes_size(), 0);
  EXPECT_EQ(r->echoes_size(), 0);
  ASSERT_TRUE(r->has_echo_page());
  Result<std::vector<EchoEntry>> echoes = EchoesOf(*r);
  ASSERT_TRUE(echoes.has_value()) << echoes.error().ToString();
  ASSERT_EQ(echoes->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*echoes)[i].server_seq, i + 1);
    EXPECT_EQ((*echoes)[i].mutation_seq, i + 1);
  }
  EXPECT_EQ(r->echo_page().digest(),
            EchoPageDigest({StateDigest(a_.states[Id(1)]), StateDigest(a_.states[Id(2)]),
                            StateDigest(a_.states[Id(3)])}));
  EXPECT_EQ(r->next_cursor(), 3u);

  // A pull with nothing of its own making carries no page at all.
  request.clear_mutations();
  request.set_cursor(3);
  r = service_.Sync(ana_, request, kNow + 1);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_FALSE(r->has_echo_page());
}

// A device that accepts uniform stamps gets a record created in one write with its stamp once;
// an edited record keeps its stamp per field, unless the device also accepts base stamps: then it
// comes with its creation's stamp once and the edit's stamp.
TEST_F(SyncServiceTest, RecordsOfOneWriteComeWithOneStampWhenTheDeviceAcceptsIt) {
  const v1::Mutation create = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  v1::Record edit;
  edit.mutable_child()->set_id(Id(2));
  const v1::Mutation create_2 = a_.Create(ChildRecord(Id(2), "Mateo", "Cusco"), kNow);
  Sync(ana_, {create, create_2});
  edit.mutable_child()->set_given_name("Mateo José");
  Sync(ana_, {a_.Write(edit, {2}, kNow + 10)}, 2);

  v1::SyncRequest request;
  request.set_device_id(beto_.device_id);
  request.set_accepts_uniform_stamps(true);
  Result<v1::SyncResponse> r = service_.Sync(beto_, request, kNow + 20);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->changes_size(), 2);
  const v1::Change& one_write = r->changes(0);
  EXPECT_EQ(RecordId(one_write.state().record()), Id(1));
  EXPECT_TRUE(one_write.state().stamps().empty());
  EXPECT_TRUE(StampEqual(one_write.uniform_stamp(), MakeStamp(create.hlc(), ana_.device_id)));
  v1::RecordState expanded = one_write.state();
  ASSERT_TRUE(PutBaseStamp(&expanded, one_write.uniform_stamp()).ok());
  EXPECT_EQ(StateDigest(expanded), StateDigest(a_.states[Id(1)]));
  const v1::Change& edited = r->changes(1);
  EXPECT_FALSE(edited.has_uniform_stamp());
  EXPECT_EQ(StateDigest(edited.state()), StateDigest(a_.states[Id(2)]));

  request.set_accepts_base_stamps(true);
  r = service_.Sync(beto_, request, kNow + 30);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->changes_size(), 2);
  EXPECT_TRUE(r->changes(0).state().stamps().empty());
  const v1::Change& based = r->changes(1);
  EXPECT_TRUE(StampEqual(based.uniform_stamp(), MakeStamp(create_2.hlc(), ana_.device_id)));
  ASSERT_EQ(based.state().stamps_size(), 1);
  EXPECT_EQ(based.state().stamps(0).field(), 2u);
  expanded = based.state();
  ASSERT_TRUE(PutBaseStamp(&expanded, based.uniform_stamp()).ok());
  EXPECT_EQ(StateDigest(expanded), StateDigest(a_.states[Id(2)]));
}

// A device that holds its scope whole up to held_through is sent an edited record as the fields
// changed since (Change.partial); one that does not, or a record that just entered its region,
// whole.
TEST_F(SyncServiceTest, EditsComeAsTheirChangedFieldsToADeviceThatHoldsTheRestWhole) {
  Sync(ana_, {a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow),
              a_.Create(VisitRecord(Id(2), Id(1)), kNow)});
  const v1::SyncResponse first = Sync(beto_, {});
  b_.Pull(first);
  const uint64_t held = first.next_cursor();
  v1::Record edit;
  edit.mutable_home_visit()->set_id(Id(2));
  edit.mutable_home_visit()->set_observations("la tía la lleva a la escuela");
  Sync(ana_, {a_.Write(edit, {8}, kNow + 10)}, held);

  v1::SyncRequest request;
  request.set_device_id(beto_.device_id);
  request.set_cursor(held);
  request.set_held_through(held);
  Result<v1::SyncResponse> r = service_.Sync(beto_, request, kNow + 20);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->changes_size(), 1);
  const v1::Change& partial = r->changes(0);
  EXPECT_TRUE(partial.partial());
  EXPECT_EQ(partial.state().record().home_visit().id(), Id(2));
  EXPECT_EQ(partial.state().record().home_visit().observations(), "la tía la lleva a la escuela");
  EXPECT_TRUE(partial.state().record().home_visit().child_id().empty());
  ASSERT_EQ(partial.state().stamps_size(), 1);
  EXPECT_EQ(partial.state().stamps(0).field(), 8u);
  b_.Pull(*r);
  EXPECT_EQ(StateDigest(b_.states[Id(2)]), StateDigest(a_.states[Id(2)]));

  // held_through 0 (a device catching up): whole.
  request.set_held_through(0);
  r = service_.Sync(beto_, request, kNow + 30);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->changes_size(), 1);
  EXPECT_FALSE(r->changes(0).partial());
  EXPECT_EQ(StateDigest(r->changes(0).state()), StateDigest(a_.states[Id(2)]));

  // The case moves to Lima, where lia's device held everything through a later seq: the child and
  // its visit come to her whole, as she never held them.
  FakeDevice lima(lia_.device_id);
  Sync(lia_, {lima.Create(ChildRecord(Id(3), "Sara", "Lima"), kNow + 40)});
  const v1::SyncResponse lima_first = Sync(lia_, {});
  lima.Pull(lima_first);
  FakeDevice admin(admin_.device_id);
  admin.Pull(Sync(admin_, {}));
  v1::Record move;
  move.mutable_child()->set_id(Id(1));
  move.mutable_child()->set_region("Lima");
  EXPECT_EQ(Sync(admin_, {admin.Write(move, {6}, kNow + 1000)}, 2).rejections_size(), 0);
  request.set_device_id(lia_.device_id);
  request.set_cursor(lima_first.next_cursor());
  request.set_held_through(lima_first.next_cursor());
  r = service_.Sync(lia_, request, kNow + 1010);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->changes_size(), 2);
  for (const v1::Change& c : r->changes()) EXPECT_FALSE(c.partial());
  lima.Pull(*r);
  EXPECT_EQ(StateDigest(lima.states[Id(1)]), StateDigest(admin.states[Id(1)]));
  EXPECT_EQ(lima.states[Id(2)].record().home_visit().observations(), "la tía la lleva a la escuela");
  EXPECT_EQ(lima.states[Id(2)].record().home_visit().child_id(), Id(1));
}

TEST_F(SyncServiceTest, RefusesHeldThroughBeyondTheCursorAndAppliesNothing) {
  v1::SyncRequest request;
  request.set_device_id(ana_.device_id);
  request.set_cursor(1);
  request.set_held_through(2);
  *request.add_mutations() = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  Result<v1::SyncResponse> r = service_.Sync(ana_, request, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field, "held_through");
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_CHILD), 0u);
}

// A record whose stored state no longer decodes (a damaged disk) fails the pull with DataLoss
// rather than going out as an empty or partial state, and the request's writes are not kept; an
// edit of it fails alike. The rest of the store is still served after the record is repaired.
TEST(SyncServiceDamage, ADamagedRecordFailsThePullAndKeepsNothingOfTheRequest) {
  TempDir dir;
  FakeDevice a(Id(9001));
  {
    std::unique_ptr<CentralStore> store = NewCentralStore(dir);
    const Principal ana = Enrol(*store, "ana", Role::kFieldWorker, "Cusco", Id(9001));
    SyncService service(*store, SyncLimits{});
    v1::SyncRequest request;
    request.set_device_id(ana.device_id);
    *request.add_mutations() = a.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
    *request.add_mutations() = a.Create(VisitRecord(Id(2), Id(1)), kNow);
    ASSERT_TRUE(service.Sync(ana, request, kNow).has_value());
  }
  std::string good;
  {
    Result<sql::Database> db = sql::Database::Open(dir / "data/central.db");
    ASSERT_TRUE(db.has_value());
    Result<sql::Statement> read = db->Prepare("SELECT state FROM records WHERE id = ?1");
    ASSERT_TRUE(read.has_value());
    read->BindText(1, Id(2));
    ASSERT_TRUE(*read->Step());
    good = read->ColumnBlob(0);
    ASSERT_TRUE(db->Exec("UPDATE records SET state = x'ffffffff' WHERE id = '" + Id(2) + "'").ok());
  }
  std::unique_ptr<CentralStore> store = NewCentralStore(dir);
  const Principal ana = Enrol(*store, "ana", Role::kFieldWorker, "Cusco", Id(9001));
  SyncService service(*store, SyncLimits{});
  v1::SyncRequest pull;
  pull.set_device_id(ana.device_id);
  pull.set_accepts_echoes(true);
  *pull.add_mutations() = a.Create(ChildRecord(Id(3), "Rosa", "Cusco"), kNow + 10);
  Result<v1::SyncResponse> r = service.Sync(ana, pull, kNow + 10);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(*store->CountRecords(v1::RECORD_TYPE_CHILD), 1u);  // Rosa was not kept

  v1::Record edit;
  edit.mutable_home_visit()->set_id(Id(2));
  edit.mutable_home_visit()->set_next_visit_due("2026-06-10");
  v1::SyncRequest write;
  write.set_device_id(ana.device_id);
  write.set_cursor(2);
  *write.add_mutations() = pull.mutations(0);  // seq 3 again: the failed request kept nothing
  *write.add_mutations() = a.Write(edit, {11}, kNow + 20);
  r = service.Sync(ana, write, kNow + 20);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);

  {
    Result<sql::Database> db = sql::Database::Open(dir / "data/central.db");
    ASSERT_TRUE(db.has_value());
    Result<sql::Statement> repair = db->Prepare("UPDATE records SET state = ?1 WHERE id = ?2");
    ASSERT_TRUE(repair.has_value());
    repair->BindBlob(1, good).BindText(2, Id(2));
    ASSERT_TRUE(repair->Run().ok());
  }
  r = service.Sync(ana, pull, kNow + 30);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->changes_size(), 2);  // the child and the visit; Rosa comes back as an echo
  EXPECT_EQ(r->echoes_size(), 1);
}

// A central store of schema 1 (no field_seqs) opens migrated; its records count as changed at
// their own seq, so an edit after the migration still comes as its changed fields alone.
TEST(SyncServiceMigration, RecordsFromBeforeFieldSeqsComeWholeThenTheirEditsPartial) {
  TempDir dir;
  FakeDevice a(Id(9001));
  uint64_t held = 0;
  {
    std::unique_ptr<CentralStore> store = NewCentralStore(dir);
    const Principal ana = Enrol(*store, "ana", Role::kFieldWorker, "Cusco", Id(9001));
    SyncService service(*store, SyncLimits{});
    v1::SyncRequest request;
    request.set_device_id(ana.device_id);
    *request.add_mutations() = a.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
    *request.add_mutations() = a.Create(VisitRecord(Id(2), Id(1)), kNow);
    Result<v1::SyncResponse> r = service.Sync(ana, request, kNow);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    held = r->next_cursor();
  }
  {
    Result<sql::Database> db = sql::Database::Open(dir / "data/central.db");
    ASSERT_TRUE(db.has_value());
    // A store of schema 1: without step 2's column and step 3's trigger.
    ASSERT_TRUE(db->Exec("ALTER TABLE records DROP COLUMN field_seqs; "
                         "DROP TRIGGER latest_visit_copies; PRAGMA user_version = 1")
                    .ok());
  }
  std::unique_ptr<CentralStore> store = NewCentralStore(dir);
  const Principal ana = Enrol(*store, "ana", Role::kFieldWorker, "Cusco", Id(9001));
  SyncService service(*store, SyncLimits{});
  v1::Record edit;
  edit.mutable_home_visit()->set_id(Id(2));
  edit.mutable_home_visit()->set_next_visit_due("2026-06-10");
  v1::SyncRequest request;
  request.set_device_id(ana.device_id);
  request.set_cursor(held);
  request.set_held_through(held);
  *request.add_mutations() = a.Write(edit, {11}, kNow + 10);
  Result<v1::SyncResponse> r = service.Sync(ana, request, kNow + 10);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->changes_size(), 1);
  EXPECT_TRUE(r->changes(0).partial());
  ASSERT_EQ(r->changes(0).state().stamps_size(), 1);
  EXPECT_EQ(r->changes(0).state().stamps(0).field(), 11u);

  request.clear_mutations();
  request.set_cursor(0);
  request.set_held_through(0);
  r = service.Sync(ana, request, kNow + 20);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->changes_size(), 2);
  EXPECT_EQ(StateDigest(r->changes(0).state()), StateDigest(a.states[Id(1)]));
  EXPECT_EQ(StateDigest(r->changes(1).state()), StateDigest(a.states[Id(2)]));
}

TEST_F(SyncServiceTest, ResentMutationsAreAcknowledgedNotApplied) {
  v1::Mutation m1 = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  v1::Mutation m2 = a_.Create(ChildRecord(Id(2), "Mateo", "Cusco"), kNow);
  Sync(ana_, {m1, m2});
  const uint64_t seq = LastSeq();
  // The reply was lost: the device sends the same batch again, plus one more.
  v1::Mutation m3 = a_.Create(ChildRecord(Id(3), "Sara", "Cusco"), kNow);
  v1::SyncResponse r = Sync(ana_, {m1, m2, m3}, 2);
  EXPECT_EQ(r.acked_seq(), 3u);
  EXPECT_EQ(LastSeq(), seq + 1);  // only m3 made a change
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_CHILD), 3u);
}

TEST_F(SyncServiceTest, GapStopsTheBatchAtTheLastAppliedSeq) {
  v1::Mutation m1 = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  v1::Mutation m2 = a_.Create(ChildRecord(Id(2), "Mateo", "Cusco"), kNow);
  v1::Mutation m3 = a_.Create(ChildRecord(Id(3), "Sara", "Cusco"), kNow);
  v1::SyncResponse r = Sync(ana_, {m1, m3});  // m2 missing
  EXPECT_EQ(r.acked_seq(), 1u);
  EXPECT_EQ(r.rejections_size(), 0);
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_CHILD), 1u);
  r = Sync(ana_, {m2, m3});
  EXPECT_EQ(r.acked_seq(), 3u);
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_CHILD), 3u);
}

TEST_F(SyncServiceTest, BadMutationIsRejectedAndTheQueueGoesOn) {
  v1::Mutation bad = a_.Create(ChildRecord(Id(1), "", "Cusco"), kNow);  // no given name
  v1::Mutation good = a_.Create(ChildRecord(Id(2), "Mateo", "Cusco"), kNow);
  v1::SyncResponse r = Sync(ana_, {bad, good});
  EXPECT_EQ(r.acked_seq(), 2u);
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).seq(), 1u);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_INVALID);
  EXPECT_EQ(r.rejections(0).field(), "child.given_name");
  EXPECT_EQ(r.rejected_records_size(), 0);  // the server holds no such record
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_CHILD), 1u);
}

TEST_F(SyncServiceTest, MalformedMutationIsRejectedByName) {
  v1::Mutation m = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  m.add_fields(99);
  v1::SyncResponse r = Sync(ana_, {m});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_MALFORMED);
  EXPECT_EQ(r.rejections(0).field(), "mutation.fields");
}

TEST_F(SyncServiceTest, WritesOutsideTheWorkersRegionAreForbidden) {
  v1::Mutation lima = a_.Create(ChildRecord(Id(1), "Lucía", "Lima"), kNow);
  v1::SyncResponse r = Sync(ana_, {lima});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_FORBIDDEN);
  EXPECT_EQ(r.rejections(0).field(), "child.region");

  // Moving one's own child to another region is also refused, and the device is told the
  // server's state so it can undo the write.
  v1::Mutation mine = a_.Create(ChildRecord(Id(2), "Mateo", "Cusco"), kNow);
  v1::Record move;
  move.mutable_child()->set_id(Id(2));
  move.mutable_child()->set_region("Lima");
  v1::Mutation moved = a_.Write(move, {6}, kNow + 1);
  r = Sync(ana_, {mine, moved});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).seq(), 3u);
  ASSERT_EQ(r.rejected_records_size(), 1);
  EXPECT_EQ(r.rejected_records(0).record().child().region(), "Cusco");

  // A Lima worker cannot touch a Cusco record, nor learn its state from the rejection.
  FakeDevice l(lia_.device_id);
  v1::Record edit;
  edit.mutable_child()->set_id(Id(2));
  edit.mutable_child()->set_given_name("Intruso");
  r = Sync(lia_, {l.Write(edit, {2}, kNow + 2)});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_FORBIDDEN);
  EXPECT_EQ(r.rejected_records_size(), 0);
  EXPECT_EQ(r.changes_size(), 0);  // and sees nothing of Cusco
}

TEST_F(SyncServiceTest, SupervisorsCannotWriteRecordsFromADevice) {
  FakeDevice s(sup_.device_id);
  v1::SyncResponse r = Sync(sup_, {s.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow)});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_FORBIDDEN);
}

TEST_F(SyncServiceTest, WriteStampedFarInTheFutureIsRejected) {
  v1::Mutation m = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow + 2 * 86'400'000LL);
  v1::SyncResponse r = Sync(ana_, {m});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_CLOCK_AHEAD);
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_CHILD), 0u);
}

TEST_F(SyncServiceTest, ConcurrentEditsStoreOneConflictWhateverTheResends) {
  v1::SyncResponse r = Sync(ana_, {a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow)});
  b_.Pull(Sync(beto_, {}));
  a_.Pull(r);
  v1::Record by_a, by_b;
  by_a.mutable_child()->set_id(Id(1));
  by_a.mutable_child()->set_notes("vive con la abuela");
  by_b.mutable_child()->set_id(Id(1));
  by_b.mutable_child()->set_notes("vive con la tía");
  v1::Mutation ma = a_.Write(by_a, {13}, kNow + 1000);
  v1::Mutation mb = b_.Write(by_b, {13}, kNow + 2000);
  EXPECT_EQ(Sync(ana_, {ma}, 1).conflicts(), 0u);
  EXPECT_EQ(Sync(beto_, {mb}, 1).conflicts(), 1u);
  EXPECT_EQ(Sync(beto_, {mb}, 1).conflicts(), 0u);  // resent: acknowledged, not reapplied
  Result<std::vector<StoredConflict>> conflicts = store_->ListConflicts();
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].conflict.losing().child().notes(), "vive con la abuela");
  EXPECT_EQ((*conflicts)[0].conflict.winning().child().notes(), "vive con la tía");
  EXPECT_EQ((*conflicts)[0].region, "Cusco");
}

TEST_F(SyncServiceTest, PullComesInPagesWithMonotonicCursors) {
  std::vector<v1::Mutation> batch;
  for (int i = 1; i <= 25; ++i) batch.push_back(a_.Create(ChildRecord(Id(i), "N", "Cusco"), kNow));
  Sync(ana_, batch);
  uint64_t cursor = 0;
  int pages = 0, seen = 0;
  for (bool more = true; more; ++pages) {
    v1::SyncResponse r = Sync(beto_, {}, cursor, 10);
    for (const v1::Change& c : r.changes()) EXPECT_GT(c.server_seq(), cursor);
    EXPECT_GE(r.next_cursor(), cursor);
    cursor = r.next_cursor();
    seen += r.changes_size();
    more = r.has_more();
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, 25);
  EXPECT_EQ(Sync(beto_, {}, cursor).changes_size(), 0);
}

TEST_F(SyncServiceTest, ReassignedCaseIsEvictedFromTheOldRegionWithItsVisits) {
  v1::SyncResponse r = Sync(ana_, {a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow),
                                   a_.Create(VisitRecord(Id(2), Id(1)), kNow)});
  const uint64_t cusco_cursor = r.next_cursor();
  EXPECT_EQ(Sync(lia_, {}).changes_size(), 0);

  FakeDevice admin(admin_.device_id);
  admin.Pull(Sync(admin_, {}));
  v1::Record move;
  move.mutable_child()->set_id(Id(1));
  move.mutable_child()->set_region("Lima");
  r = Sync(admin_, {admin.Write(move, {6}, kNow + 1000)}, 2);
  EXPECT_EQ(r.rejections_size(), 0);

  v1::SyncResponse cusco = Sync(beto_, {}, cusco_cursor);
  EXPECT_EQ(cusco.changes_size(), 0);
  ASSERT_EQ(cusco.evictions_size(), 2);  // the child and its visit; never a delete
  v1::SyncResponse lima = Sync(lia_, {});
  ASSERT_EQ(lima.changes_size(), 2);
  EXPECT_FALSE(lima.changes(0).state().record().child().deleted());
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_HOME_VISIT), 1u);
}

TEST_F(SyncServiceTest, VisitForAnUnknownChildIsInvalid) {
  v1::SyncResponse r = Sync(ana_, {a_.Create(VisitRecord(Id(2), Id(77)), kNow)});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_INVALID);
  EXPECT_EQ(r.rejections(0).field(), "home_visit.child_id");
}

// A device whose create was refused (here: bad data) then deletes the record. A tombstone alone
// has no region: stored, it would be outside every region's scope and reach only the admins'
// devices. The delete is refused too, and nothing is stored.
TEST_F(SyncServiceTest, DeleteOfARecordTheServerNeverStoredIsRefused) {
  FakeDevice admin_device(admin_.device_id);
  v1::Mutation create = admin_device.Create(ChildRecord(Id(1), "", "Cusco"), kNow);  // no name
  v1::Record tombstone;
  tombstone.mutable_child()->set_id(Id(1));
  tombstone.mutable_child()->set_deleted(true);
  v1::Mutation remove = admin_device.Write(tombstone, {kDeletedField}, kNow);
  v1::SyncResponse r = Sync(admin_, {create, remove});
  EXPECT_EQ(r.acked_seq(), 2u);
  ASSERT_EQ(r.rejections_size(), 2);
  EXPECT_EQ(r.rejections(1).seq(), 2u);
  EXPECT_EQ(r.rejections(1).code(), v1::REJECTION_CODE_INVALID);
  EXPECT_EQ(r.rejections(1).field(), "child.id");
  EXPECT_NE(r.rejections(1).message().find("nothing to delete"), std::string::npos);
  EXPECT_EQ(r.changes_size(), 0);
  EXPECT_EQ(LastSeq(), 0u);

  // A field worker's delete of an unknown record is refused the same way, not as another region's.
  v1::Record family;
  family.mutable_family()->set_id(Id(2));
  family.mutable_family()->set_deleted(true);
  r = Sync(ana_, {a_.Write(family, {kDeletedField}, kNow)});
  ASSERT_EQ(r.rejections_size(), 1);
  EXPECT_EQ(r.rejections(0).code(), v1::REJECTION_CODE_INVALID);
  EXPECT_EQ(r.rejections(0).field(), "family.id");
  EXPECT_EQ(LastSeq(), 0u);
}

TEST_F(SyncServiceTest, RefusesAnotherDevicesRequestAndACursorFromTheFuture) {
  v1::SyncRequest request;
  request.set_device_id(beto_.device_id);
  Result<v1::SyncResponse> r = service_.Sync(ana_, request, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);

  // A cursor from before a restore: the push is kept, and the device is told to pull again.
  request.set_device_id(ana_.device_id);
  request.set_cursor(500);
  *request.add_mutations() = a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow);
  r = service_.Sync(ana_, request, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(r->reset_required());
  EXPECT_TRUE(r->has_more());
  EXPECT_EQ(r->next_cursor(), 0u);
  EXPECT_EQ(r->acked_seq(), 1u);
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_CHILD), 1u);
}

TEST_F(SyncServiceTest, ResentRejectedMutationIsToldAgain) {
  v1::Mutation bad = a_.Create(ChildRecord(Id(1), "Lucía", "Lima"), kNow);  // another region
  v1::SyncResponse first = Sync(ana_, {bad});
  ASSERT_EQ(first.rejections_size(), 1);
  // The reply was lost: the resend is acknowledged and the rejection told again.
  v1::SyncResponse again = Sync(ana_, {bad});
  EXPECT_EQ(again.acked_seq(), 1u);
  ASSERT_EQ(again.rejections_size(), 1);
  EXPECT_EQ(again.rejections(0).code(), v1::REJECTION_CODE_FORBIDDEN);
  // Once the device moves on, the old rejection is forgotten.
  v1::SyncResponse later = Sync(ana_, {a_.Create(ChildRecord(Id(2), "Mateo", "Cusco"), kNow)});
  EXPECT_EQ(later.rejections_size(), 0);
}

TEST_F(SyncServiceTest, CaseThatLeftAndCameBackIsNotEvictedFromItsRegion) {
  Sync(ana_, {a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow)});
  FakeDevice admin(admin_.device_id);
  admin.Pull(Sync(admin_, {}));
  v1::Record away, back;
  away.mutable_child()->set_id(Id(1));
  away.mutable_child()->set_region("Lima");
  back.mutable_child()->set_id(Id(1));
  back.mutable_child()->set_region("Cusco");
  Sync(admin_, {admin.Write(away, {6}, kNow + 1000), admin.Write(back, {6}, kNow + 2000)}, 1);
  // A new Cusco device pulls from the start: the child is there, with no eviction for it.
  v1::SyncResponse fresh = Sync(beto_, {});
  EXPECT_EQ(fresh.evictions_size(), 0);
  ASSERT_EQ(fresh.changes_size(), 1);
  EXPECT_EQ(fresh.changes(0).state().record().child().region(), "Cusco");
}

// Review of 75b21d7 (the no-echo rule): a device that applied an eviction of its own visit (the
// case moved to another region) and then, once the case came back, pushes an edit it made to that
// visit before the eviction, must be sent the visit again: it no longer holds it. Every field
// stamp of the visit is the device's own, so the rule takes it for an echo and skips it while the
// cursor passes it: the device ends without a record the server holds in its scope.
TEST_F(SyncServiceTest, OwnWriteToARecordTheDeviceWasEvictedOfIsSentBack) {
  v1::SyncResponse r = Sync(ana_, {a_.Create(ChildRecord(Id(1), "Lucía", "Cusco"), kNow),
                                   a_.Create(VisitRecord(Id(2), Id(1)), kNow)});
  ASSERT_EQ(r.rejections_size(), 0);
  uint64_t cursor = r.next_cursor();
  // Offline, ana edits her visit; the edit waits in her outbox (behind a full batch, or the sync
  // that would carry it is cut off after its first page).
  v1::Record edit;
  edit.mutable_home_visit()->set_id(Id(2));
  edit.mutable_home_visit()->set_child_id(Id(1));
  edit.mutable_home_visit()->set_observations("better at school");
  v1::Mutation pending = a_.Write(edit, {8}, kNow + 500);

  // The case moves to Lima: ana's device applies the evictions of the child and the visit.
  FakeDevice admin(admin_.device_id);
  admin.Pull(Sync(admin_, {}));
  v1::Record away;
  away.mutable_child()->set_id(Id(1));
  away.mutable_child()->set_region("Lima");
  ASSERT_EQ(Sync(admin_, {admin.Write(away, {6}, kNow + 1000)}, 2).rejections_size(), 0);
  r = Sync(ana_, {}, cursor);
  ASSERT_EQ(r.evictions_size(), 2);
  a_.Pull(r);
  cursor = r.next_cursor();
  ASSERT_EQ(a_.states.count(Id(2)), 0u);

  // The move is undone: the case and its visit are back in Cusco.
  admin.Pull(Sync(admin_, {}, 0));
  v1::Record back;
  back.mutable_child()->set_id(Id(1));
  back.mutable_child()->set_region("Cusco");
  ASSERT_EQ(Sync(admin_, {admin.Write(back, {6}, kNow + 2000)}, 0).rejections_size(), 0);

  // ana's device sends its waiting edit with its cursor: accepted, and the page must bring the
  // visit back, since the device no longer holds it.
  r = Sync(ana_, {pending}, cursor);
  ASSERT_EQ(r.rejections_size(), 0);
  EXPECT_EQ(r.acked_seq(), 3u);
  EXPECT_FALSE(r.has_more());
  a_.Pull(r);
  Result<std::optional<StoredRecord>> server = store_->ReadRecord(v1::RECORD_TYPE_HOME_VISIT, Id(2));
  ASSERT_TRUE(server.has_value() && server->has_value());
  EXPECT_EQ((*server)->region, "Cusco");  // in ana's scope on the server...
  EXPECT_EQ(a_.states.count(Id(2)), 1u)   // ...but not on her device, and her cursor is past it
      << "the visit was skipped as an echo; next_cursor " << r.next_cursor() << ", last seq "
      << LastSeq();
}

}  // namespace
}  // namespace vinculo::server
