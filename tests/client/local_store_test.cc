#include "client/local_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/echoes.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/sqlite.h"
#include "common/state_digest.h"
#include "common/uniform_stamp.h"
#include "common/uuid.h"

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28 in Unix ms
constexpr char kToday[] = "2026-05-28";

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vinculo-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "store.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  LocalStore NewStore() {
    Result<LocalStore> store =
        LocalStore::Create(path_, {.server_url = "https://127.0.0.1:8443", .ca_file = "ca.pem"}, kNow);
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return std::move(store).value();
  }

  static v1::Record Child(std::string given, std::string family = "Quispe") {
    v1::Record r;
    v1::Child* c = r.mutable_child();
    c->set_given_name(std::move(given));
    c->set_family_name(std::move(family));
    c->set_region("Cusco");
    c->set_status(v1::CASE_STATUS_OPEN);
    c->set_placement(v1::PLACEMENT_RESIDENTIAL_INSTITUTION);
    return r;
  }

  static v1::Record Visit(const std::string& child_id, std::string at, std::string due) {
    v1::Record r;
    v1::HomeVisit* v = r.mutable_home_visit();
    v->set_child_id(child_id);
    v->set_worker("ana");
    v->set_visited_at(std::move(at));
    v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
    v->set_next_visit_due(std::move(due));
    return r;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(LocalStoreTest, CreateThenOpenKeepsIdentity) {
  std::string device_id;
  {
    LocalStore store = NewStore();
    device_id = store.device_id();
  }
  Result<LocalStore> reopened = LocalStore::Open(path_);
  ASSERT_TRUE(reopened.has_value()) << reopened.error().ToString();
  EXPECT_EQ(reopened->device_id(), device_id);
  Result<DeviceStatus> status = reopened->ReadStatus();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->server_url, "https://127.0.0.1:8443");
  EXPECT_EQ(status->pending, 0u);
  EXPECT_EQ(status->next_seq, 1u);
}

TEST_F(LocalStoreTest, CreateNeverOverwritesAnExistingFile) {
  { LocalStore store = NewStore(); }
  Result<LocalStore> again = LocalStore::Create(path_, {.server_url = "u", .ca_file = "c"}, kNow);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  const std::string other = (dir_ / "notes.txt").string();
  std::ofstream(other) << "grocery list";
  Result<LocalStore> over = LocalStore::Create(other, {.server_url = "u", .ca_file = "c"}, kNow);
  ASSERT_FALSE(over.has_value());
  std::ifstream in(other);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "grocery list");
}

TEST_F(LocalStoreTest, OpenRefusesMissingForeignAndNewerFiles) {
  EXPECT_EQ(LocalStore::Open(path_).error().code, ErrorCode::kNotFound);

  const std::string garbage = (dir_ / "garbage.db").string();
  std::ofstream(garbage) << std::string(4096, 'x');
  Result<LocalStore> g = LocalStore::Open(garbage);
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().code, ErrorCode::kDataLoss) << g.error().ToString();
  EXPECT_EQ(fs::file_size(garbage), 4096u);  // untouched

  const std::string foreign = (dir_ / "foreign.db").string();
  {
    auto db = sql::Database::Open(foreign, {.create = true});
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);").ok());
  }
  Result<LocalStore> f = LocalStore::Open(foreign);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, ErrorCode::kDataLoss);

  { LocalStore store = NewStore(); }
  {
    auto db = sql::Database::Open(path_);
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 99").ok());
  }
  Result<LocalStore> newer = LocalStore::Open(path_);
  ASSERT_FALSE(newer.has_value());
  EXPECT_EQ(newer.error().code, ErrorCode::kFailedPrecondition);
}

// A store of schema 1 (before held_through) opens migrated: its records and cursor kept, and its
// next page asked whole.
TEST_F(LocalStoreTest, AStoreOfTheFirstSchemaIsMigratedKeepingItsRecordsAndCursor) {
  std::string id;
  {
    LocalStore store = NewStore();
    id = *store.Add(Child("Lucía"), kNow);
    v1::SyncResponse page;
    page.set_next_cursor(12);
    ASSERT_TRUE(store.ApplySyncResponse(page, kNow + 1).has_value());
  }
  {
    auto db = sql::Database::Open(path_);
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->Exec("ALTER TABLE device DROP COLUMN held_through; PRAGMA user_version = 1").ok());
  }
  Result<LocalStore> store = LocalStore::Open(path_);
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  EXPECT_EQ(store->ReadSyncPosition()->cursor, 12u);
  EXPECT_EQ(store->ReadSyncPosition()->held_through, 0u);
  EXPECT_EQ(store->Get(v1::RECORD_TYPE_CHILD, id)->record().child().given_name(), "Lucía");
  EXPECT_EQ(store->ReadStatus()->pending, 1u);
}

TEST_F(LocalStoreTest, AddCommitsRecordAndOutboxTogether) {
  LocalStore store = NewStore();
  Result<std::string> id = store.Add(Child("Lucía", "Mamani Ñusta"), kNow);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  Result<v1::RecordState> got = store.Get(v1::RECORD_TYPE_CHILD, *id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->record().child().given_name(), "Lucía");
  EXPECT_EQ(got->record().child().family_name(), "Mamani Ñusta");
  EXPECT_EQ(FieldStampOf(*got, 2).device(), store.device_id());

  Result<std::vector<v1::Mutation>> pending = store.Pending(100);
  ASSERT_TRUE(pending.has_value());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].seq(), 1u);
  EXPECT_EQ(RecordId((*pending)[0].record()), *id);
  EXPECT_EQ(store.ReadStatus()->next_seq, 2u);
}

TEST_F(LocalStoreTest, InvalidRecordWritesNothingAndNamesTheField) {
  LocalStore store = NewStore();
  v1::Record bad = Child("Lucía");
  bad.mutable_child()->set_birth_date("2019-02-30");
  Result<std::string> id = store.Add(bad, kNow);
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(id.error().field, "child.birth_date");
  EXPECT_EQ(store.ReadStatus()->pending, 0u);
  EXPECT_EQ(store.ReadStatus()->records, 0u);
  EXPECT_EQ(store.ReadStatus()->next_seq, 1u);
}

TEST_F(LocalStoreTest, UpdateChangesOnlyTheGivenFields) {
  LocalStore store = NewStore();
  const std::string id = *store.Add(Child("Lucía"), kNow);
  v1::Record change;
  change.mutable_child()->set_placement(v1::PLACEMENT_KINSHIP_CARE);
  ASSERT_TRUE(store.Update(v1::RECORD_TYPE_CHILD, id, change, {9}, kNow + 1).ok());
  v1::RecordState state = *store.Get(v1::RECORD_TYPE_CHILD, id);
  EXPECT_EQ(state.record().child().placement(), v1::PLACEMENT_KINSHIP_CARE);
  EXPECT_EQ(state.record().child().given_name(), "Lucía");
  EXPECT_EQ(store.ReadStatus()->pending, 2u);

  // Clearing a required field is refused; nothing changes.
  v1::Record clear;
  clear.mutable_child();
  Status s = store.Update(v1::RECORD_TYPE_CHILD, id, clear, {2}, kNow + 2);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "child.given_name");
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, id)->record().child().given_name(), "Lucía");
  EXPECT_EQ(store.ReadStatus()->pending, 2u);

  Status missing = store.Update(v1::RECORD_TYPE_CHILD, "01890a5d-ac96-774b-bcce-b302099a8057",
                                change, {9}, kNow);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(LocalStoreTest, DeleteTombstonesAndHides) {
  LocalStore store = NewStore();
  const std::string id = *store.Add(Child("Lucía"), kNow);
  ASSERT_TRUE(store.Delete(v1::RECORD_TYPE_CHILD, id, kNow + 1).ok());
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, id, true)->record().child().deleted());
  EXPECT_TRUE(store.List(v1::RECORD_TYPE_CHILD)->empty());
  EXPECT_EQ(store.List(v1::RECORD_TYPE_CHILD, true)->size(), 1u);
  EXPECT_EQ(store.Delete(v1::RECORD_TYPE_CHILD, id, kNow + 2).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store.ReadStatus()->pending, 2u);

  ASSERT_TRUE(store.Restore(v1::RECORD_TYPE_CHILD, id, kNow + 3).ok());
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, id)->record().child().given_name(), "Lucía");
  EXPECT_EQ(store.Restore(v1::RECORD_TYPE_CHILD, id, kNow + 4).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store.ReadStatus()->pending, 3u);
}

TEST_F(LocalStoreTest, CaseloadPutsOverdueFirst) {
  LocalStore store = NewStore();
  const std::string on_time = *store.Add(Child("Ana"), kNow);
  const std::string late = *store.Add(Child("Beto"), kNow);
  const std::string very_late = *store.Add(Child("Carla"), kNow);
  const std::string never = *store.Add(Child("Dario"), kNow);
  v1::Record closed = Child("Eva");
  closed.mutable_child()->set_status(v1::CASE_STATUS_CLOSED);
  ASSERT_TRUE(store.Add(closed, kNow).has_value());

  ASSERT_TRUE(store.Add(Visit(on_time, "2026-05-20T10:00:00-05:00", "2026-06-10"), kNow));
  ASSERT_TRUE(store.Add(Visit(late, "2026-05-01T10:00:00-05:00", "2026-05-20"), kNow));
  // Two visits for Carla: the latest one's due date counts.
  ASSERT_TRUE(store.Add(Visit(very_late, "2026-03-01T10:00:00Z", "2026-03-15"), kNow));
  ASSERT_TRUE(store.Add(Visit(very_late, "2026-04-01T10:00:00Z", "2026-04-28"), kNow));

  Result<std::vector<CaseloadEntry>> caseload = store.Caseload(kToday);
  ASSERT_TRUE(caseload.has_value()) << caseload.error().ToString();
  ASSERT_EQ(caseload->size(), 4u);
  EXPECT_EQ((*caseload)[0].child.given_name(), "Carla");
  EXPECT_EQ((*caseload)[0].days_overdue, 30);
  EXPECT_EQ((*caseload)[0].last_visit_at, "2026-04-01T10:00:00Z");
  EXPECT_EQ((*caseload)[1].child.given_name(), "Beto");
  EXPECT_EQ((*caseload)[1].days_overdue, 8);
  EXPECT_EQ((*caseload)[2].child.given_name(), "Dario");
  EXPECT_TRUE((*caseload)[2].overdue);
  EXPECT_EQ((*caseload)[3].child.given_name(), "Ana");
  EXPECT_FALSE((*caseload)[3].overdue);
  EXPECT_EQ((*caseload)[3].next_visit_due, "2026-06-10");
}

TEST_F(LocalStoreTest, SyncResponseAcksRejectsMergesEvictsAndAdvancesCursor) {
  LocalStore store = NewStore();
  const std::string a = *store.Add(Child("Ana"), kNow);
  const std::string b = *store.Add(Child("Beto"), kNow);
  const std::string c = *store.Add(Child("Carla"), kNow);

  v1::SyncResponse reply;
  reply.set_acked_seq(2);
  v1::Rejection* r = reply.add_rejections();
  r->set_seq(2);
  r->set_code(v1::REJECTION_CODE_FORBIDDEN);
  r->set_message("region Lima is not yours");
  r->set_field("child.region");
  // A change from another device to Ana's record, with a higher stamp.
  v1::Change* change = reply.add_changes();
  change->set_server_seq(7);
  v1::RecordState theirs = *store.Get(v1::RECORD_TYPE_CHILD, a);
  theirs.mutable_record()->mutable_child()->set_given_name("Ana María");
  for (auto& fs : *theirs.mutable_stamps()) {
    if (fs.field() == 2) *fs.mutable_stamp() = MakeStamp(MakeHlc(kNow + 60'000, 0), "other");
  }
  *change->mutable_state() = theirs;
  v1::Eviction* e = reply.add_evictions();
  e->set_server_seq(8);
  e->set_type(v1::RECORD_TYPE_CHILD);
  e->set_record_id(c);
  reply.set_next_cursor(8);
  reply.set_server_clock(MakeHlc(kNow + 120'000, 0));

  Result<PullSummary> applied = store.ApplySyncResponse(reply, kNow + 1);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->acknowledged, 2u);
  EXPECT_EQ(applied->rejected, 1u);
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, a)->record().child().given_name(), "Ana María");
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, c).error().code, ErrorCode::kNotFound);
  // The refused create is undone locally (the server has no such record) and kept, visibly, in
  // the rejected list.
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, b, true).error().code, ErrorCode::kNotFound);

  DeviceStatus status = *store.ReadStatus();
  EXPECT_EQ(status.cursor, 8u);
  EXPECT_EQ(status.acked_seq, 2u);
  EXPECT_EQ(status.pending, 1u);  // seq 3 still waits
  std::vector<RejectedMutation> rejected = *store.Rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].code, "forbidden");
  EXPECT_EQ(rejected[0].field, "child.region");
  EXPECT_EQ(RecordId(rejected[0].mutation.record()), b);

  // The next local write stamps above the server clock it folded in.
  ASSERT_TRUE(store.Delete(v1::RECORD_TYPE_CHILD, a, kNow + 2).ok());
  EXPECT_GT(FieldStampOf(*store.Get(v1::RECORD_TYPE_CHILD, a, true), 15).hlc(),
            MakeHlc(kNow + 120'000, 0));

  // A reply that would move the cursor back is refused and changes nothing.
  v1::SyncResponse back;
  back.set_next_cursor(3);
  back.set_acked_seq(4);
  Result<PullSummary> refused = store.ApplySyncResponse(back, kNow + 3);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(store.ReadStatus()->cursor, 8u);
  EXPECT_EQ(store.ReadStatus()->pending, 2u);
}

// A child written on another device, as the server would send it.
v1::RecordState RemoteChild(int n, size_t note_bytes) {
  v1::Record values;
  v1::Child* c = values.mutable_child();
  c->set_id(NewUuidV7(static_cast<uint64_t>(kNow) + static_cast<uint64_t>(n)).value());
  c->set_given_name("Niño " + std::to_string(n));
  c->set_family_name("Quispe");
  c->set_region("Cusco");
  c->set_status(v1::CASE_STATUS_OPEN);
  c->set_notes(std::string(note_bytes, static_cast<char>('a' + n % 26)));
  v1::RecordState state;
  const v1::Mutation m = MakeMutation(v1::RecordState(), values, SetFields(values),
                                      MakeHlc(static_cast<uint64_t>(kNow), 1), 1);
  EXPECT_TRUE(ApplyMutation(&state, m, "019e8388-e492-7621-bcd7-000000000b0b").has_value());
  return state;
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

// The server answers the device's own writes with digests (echoes). A digest of the state the
// store holds lets the cursor pass; one that is not stops the page there: nothing after it is
// applied and the cursor stays just below it, so that the next round brings the record in full.
TEST_F(LocalStoreTest, EchoesPassTheCursorOnlyWhenTheDigestMatchesTheStateHeld) {
  LocalStore store = NewStore();
  const std::string a = *store.Add(Child("Ana"), kNow);
  const std::string b = *store.Add(Child("Beto"), kNow);
  const v1::RecordState held_a = *store.Get(v1::RECORD_TYPE_CHILD, a);
  v1::RecordState server_b = *store.Get(v1::RECORD_TYPE_CHILD, b);
  // The server holds b with a value the device lacks (its field 3 at a stamp of the device that
  // the device no longer holds): not what the device has.
  server_b.mutable_record()->mutable_child()->set_family_name("Mamani");
  for (v1::FieldStamp& fs : *server_b.mutable_stamps()) {
    if (fs.field() == 3) {
      *fs.mutable_stamp() = MakeStamp(MakeHlc(kNow + 5'000, 0), store.device_id());
    }
  }
  const v1::RecordState theirs = RemoteChild(1, 10);

  v1::SyncResponse reply;
  reply.set_acked_seq(2);
  v1::Echo* echo_a = reply.add_echoes();
  echo_a->set_server_seq(4);
  echo_a->set_mutation_seq(1);
  echo_a->set_state_digest(StateDigest(held_a));
  v1::Change* change = reply.add_changes();
  change->set_server_seq(5);
  *change->mutable_state() = theirs;
  v1::Echo* echo_b = reply.add_echoes();
  echo_b->set_server_seq(6);
  echo_b->set_mutation_seq(2);
  echo_b->set_state_digest(StateDigest(server_b));
  v1::Change* later = reply.add_changes();
  later->set_server_seq(7);
  *later->mutable_state() = RemoteChild(2, 10);
  reply.set_next_cursor(7);
  reply.set_has_more(false);

  Result<PullSummary> applied = store.ApplySyncResponse(reply, kNow + 1);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->acknowledged, 2u);
  EXPECT_EQ(applied->echoes, 1u);
  EXPECT_EQ(applied->changes, 1u);
  EXPECT_EQ(applied->cursor, 5u);
  EXPECT_TRUE(applied->more);
  EXPECT_EQ(store.ReadStatus()->cursor, 5u);
  EXPECT_EQ(store.ReadStatus()->pending, 0u);
  EXPECT_EQ(store.ReadSyncPosition()->held_through, 0u);  // b may lack changes of others
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, RecordId(theirs.record())).has_value());
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, RecordId(later->state().record())).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, b)->record().child().family_name(), "Quispe");

  // The next round (cursor 5, no mutations) sends b in full at its seq: the page goes through,
  // and the store ends at its cursor.
  v1::SyncResponse next;
  next.set_acked_seq(2);
  v1::Change* full_b = next.add_changes();
  full_b->set_server_seq(6);
  *full_b->mutable_state() = server_b;
  *next.add_changes() = *later;  // server_seq 7
  next.set_next_cursor(7);
  applied = store.ApplySyncResponse(next, kNow + 2);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_FALSE(applied->more);
  EXPECT_EQ(applied->cursor, 7u);
  EXPECT_EQ(store.ReadSyncPosition()->held_through, 7u);  // applied whole
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, b)->record().child().family_name(), "Mamani");
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, RecordId(later->state().record())).has_value());

  // An echo of a mutation the outbox no longer holds names no record the device can check: it
  // stops the page too.
  v1::SyncResponse stale;
  stale.set_acked_seq(2);
  v1::Echo* gone = stale.add_echoes();
  gone->set_server_seq(9);
  gone->set_mutation_seq(1);
  gone->set_state_digest(StateDigest(held_a));
  stale.set_next_cursor(9);
  applied = store.ApplySyncResponse(stale, kNow + 3);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->cursor, 8u);
  EXPECT_TRUE(applied->more);
  EXPECT_EQ(store.ReadSyncPosition()->held_through, 7u);
}

// A partial change (only the fields changed since held_through) merges into the record held; one
// for a record the device does not hold stops the page there and asks for the rest whole.
TEST_F(LocalStoreTest, PartialChangesMergeIntoHeldRecordsAndAnUnheldOneAsksForTheRestWhole) {
  LocalStore store = NewStore();
  const v1::RecordState r1 = RemoteChild(1, 10);
  const v1::RecordState r2 = RemoteChild(2, 10);
  const v1::RecordState r3 = RemoteChild(3, 10);
  v1::SyncResponse first;
  v1::Change* whole = first.add_changes();
  whole->set_server_seq(3);
  *whole->mutable_state() = r1;
  first.set_next_cursor(3);
  ASSERT_TRUE(store.ApplySyncResponse(first, kNow + 1).has_value());
  EXPECT_EQ(store.ReadSyncPosition()->held_through, 3u);

  // r1's family name edited elsewhere: only that field comes.
  const v1::Stamp edit = MakeStamp(MakeHlc(kNow + 5'000, 0), "019e8388-e492-7621-bcd7-000000000c0c");
  v1::SyncResponse second;
  v1::Change* p1 = second.add_changes();
  p1->set_server_seq(5);
  p1->set_partial(true);
  p1->mutable_state()->mutable_record()->mutable_child()->set_id(RecordId(r1.record()));
  p1->mutable_state()->mutable_record()->mutable_child()->set_family_name("Mamani");
  v1::FieldStamp* fs = p1->mutable_state()->add_stamps();
  fs->set_field(3);
  *fs->mutable_stamp() = edit;
  // r2 the device never held, as a partial change: it cannot be applied.
  v1::Change* p2 = second.add_changes();
  p2->set_server_seq(6);
  p2->set_partial(true);
  p2->mutable_state()->mutable_record()->mutable_child()->set_id(RecordId(r2.record()));
  v1::Change* w3 = second.add_changes();
  w3->set_server_seq(7);
  *w3->mutable_state() = r3;
  second.set_next_cursor(7);
  Result<PullSummary> applied = store.ApplySyncResponse(second, kNow + 2);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->changes, 1u);
  EXPECT_EQ(applied->cursor, 5u);
  EXPECT_TRUE(applied->more);
  EXPECT_EQ(store.ReadSyncPosition()->held_through, 0u);
  const v1::RecordState merged = *store.Get(v1::RECORD_TYPE_CHILD, RecordId(r1.record()));
  EXPECT_EQ(merged.record().child().family_name(), "Mamani");
  EXPECT_EQ(merged.record().child().given_name(), r1.record().child().given_name());
  EXPECT_EQ(merged.record().child().notes(), r1.record().child().notes());
  EXPECT_TRUE(StampEqual(FieldStampOf(merged, 3), edit));
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, RecordId(r2.record())).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, RecordId(r3.record())).error().code,
            ErrorCode::kNotFound);

  // Asked with held_through 0, the server sends the rest whole.
  v1::SyncResponse third;
  v1::Change* w2 = third.add_changes();
  w2->set_server_seq(6);
  *w2->mutable_state() = r2;
  *third.add_changes() = *w3;
  third.set_next_cursor(7);
  applied = store.ApplySyncResponse(third, kNow + 3);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->cursor, 7u);
  EXPECT_EQ(store.ReadSyncPosition()->held_through, 7u);
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, RecordId(r2.record())).has_value());
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, RecordId(r3.record())).has_value());
}

// The same echoes as one page under one digest (SyncResponse.echo_page): the page matches whole,
// and a page with one record the device does not hold as the server does stops at its first echo,
// even where the others match, since one digest cannot say which record differs.
TEST_F(LocalStoreTest, AnEchoPageMatchesWholeOrStopsAtItsFirstEcho) {
  LocalStore store = NewStore();
  const std::string a = *store.Add(Child("Ana"), kNow);
  const std::string b = *store.Add(Child("Beto"), kNow);
  const v1::RecordState held_a = *store.Get(v1::RECORD_TYPE_CHILD, a);
  const v1::RecordState held_b = *store.Get(v1::RECORD_TYPE_CHILD, b);
  v1::RecordState server_b = held_b;
  server_b.mutable_record()->mutable_child()->set_family_name("Mamani");
  const v1::RecordState theirs = RemoteChild(1, 10);
  const std::string their_id = RecordId(theirs.record());

  auto page = [&](const v1::RecordState& second) {
    v1::SyncResponse r;
    r.set_acked_seq(0);  // nothing leaves the outbox: each reply can be tried on the same store
    *r.mutable_echo_page() = PackEchoPage(
        {{.server_seq = 4, .mutation_seq = 1, .state_digest = StateDigest(held_a)},
         {.server_seq = 6, .mutation_seq = 2, .state_digest = StateDigest(second)}});
    v1::Change* change = r.add_changes();
    change->set_server_seq(5);
    *change->mutable_state() = theirs;
    r.set_next_cursor(7);
    return r;
  };
  // b differs: nothing from the first echo (seq 4) on is applied, and the cursor stays at 3.
  Result<PullSummary> applied = store.ApplySyncResponse(page(server_b), kNow + 1);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->echoes, 0u);
  EXPECT_EQ(applied->changes, 0u);
  EXPECT_EQ(applied->cursor, 3u);
  EXPECT_TRUE(applied->more);
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, their_id).error().code, ErrorCode::kNotFound);

  // Both as held: the page passes whole, with the change between the echoes applied.
  applied = store.ApplySyncResponse(page(held_b), kNow + 2);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->echoes, 2u);
  EXPECT_EQ(applied->changes, 1u);
  EXPECT_EQ(applied->cursor, 7u);
  EXPECT_FALSE(applied->more);
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, their_id).has_value());

  // A page whose lists disagree, or that comes beside single echoes, is refused whole.
  v1::SyncResponse uneven = page(held_b);
  uneven.set_next_cursor(9);
  uneven.mutable_echo_page()->add_server_seq_steps(1);
  v1::SyncResponse both = page(held_b);
  both.set_next_cursor(9);
  both.add_echoes()->set_server_seq(8);
  for (const v1::SyncResponse& bad : {uneven, both}) {
    Result<PullSummary> refused = store.ApplySyncResponse(bad, kNow + 3);
    ASSERT_FALSE(refused.has_value()) << bad.ShortDebugString();
    EXPECT_EQ(refused.error().code, ErrorCode::kDataLoss);
    EXPECT_EQ(store.ReadStatus()->cursor, 7u);
  }
}

// An echo outside the page it comes in, out of order, or with a reset would move the cursor where
// nothing was applied: the reply is refused whole and the store does not change.
TEST_F(LocalStoreTest, AReplyWithEchoesOutsideItsPageIsRefusedWhole) {
  LocalStore store = NewStore();
  const std::string a = *store.Add(Child("Ana"), kNow);
  v1::SyncResponse good;
  good.set_acked_seq(0);
  good.set_next_cursor(3);
  ASSERT_TRUE(store.ApplySyncResponse(good, kNow).has_value());
  auto with_echoes = [&](std::vector<uint64_t> seqs, uint64_t next_cursor, bool reset) {
    v1::SyncResponse r;
    r.set_acked_seq(1);
    r.set_next_cursor(next_cursor);
    r.set_reset_required(reset);
    for (uint64_t seq : seqs) {
      v1::Echo* e = r.add_echoes();
      e->set_server_seq(seq);
      e->set_mutation_seq(1);
    }
    return r;
  };
  for (const v1::SyncResponse& bad :
       {with_echoes({0}, 5, false), with_echoes({3}, 5, false), with_echoes({6}, 5, false),
        with_echoes({5, 4}, 5, false), with_echoes({4, 4}, 5, false),
        with_echoes({4}, 0, true)}) {
    Result<PullSummary> refused = store.ApplySyncResponse(bad, kNow + 1);
    ASSERT_FALSE(refused.has_value()) << bad.ShortDebugString();
    EXPECT_EQ(refused.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(refused.error().message.find("echo"), std::string::npos);
    EXPECT_EQ(store.ReadStatus()->cursor, 3u);
    EXPECT_EQ(store.ReadStatus()->pending, 1u);
  }
  // A change at the highest seq there is, with no eviction after it, is still applied in order.
  v1::SyncResponse last;
  v1::Change* change = last.add_changes();
  change->set_server_seq(UINT64_MAX);
  *change->mutable_state() = RemoteChild(4, 10);
  last.set_next_cursor(UINT64_MAX);
  Result<PullSummary> applied = store.ApplySyncResponse(last, kNow + 2);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->changes, 1u);
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, a).has_value());
}

// A change that comes with one stamp for all its fields is stored with that stamp on each set
// field, as if it had come in full; one the device cannot read refuses the page, applying nothing.
TEST_F(LocalStoreTest, AChangeWithAUniformStampIsStoredInFull) {
  LocalStore store = NewStore();
  const v1::RecordState theirs = RemoteChild(3, 10);
  v1::SyncResponse reply;
  v1::Change* change = reply.add_changes();
  change->set_server_seq(4);
  *change->mutable_state() = theirs;
  *change->mutable_uniform_stamp() = *TakeUniformStamp(change->mutable_state());
  reply.set_next_cursor(4);

  v1::SyncResponse unreadable = reply;
  unreadable.mutable_changes(0)->mutable_uniform_stamp()->Clear();
  unreadable.mutable_changes(0)->mutable_uniform_stamp()->set_device("x");  // zero hlc
  Result<PullSummary> refused = store.ApplySyncResponse(unreadable, kNow);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(store.ReadStatus()->cursor, 0u);

  ASSERT_TRUE(store.ApplySyncResponse(reply, kNow).has_value());
  Result<v1::RecordState> held = store.Get(v1::RECORD_TYPE_CHILD, RecordId(theirs.record()));
  ASSERT_TRUE(held.has_value()) << held.error().ToString();
  EXPECT_EQ(StateDigest(*held), StateDigest(theirs));
  EXPECT_EQ(store.ReadStatus()->cursor, 4u);
}

TEST_F(LocalStoreTest, LongPullKeepsTheWalBounded) {
  LocalStore store = NewStore();
  // 48 pages of 250 children with 3 KB of notes: ~40 MB of records, more than the WAL may hold
  // before it is checkpointed (8,192 pages). A WAL that is never checkpointed (checkpoints turned
  // off, or a read transaction left open) would grow past the bound.
  constexpr int kPages = 48;
  constexpr int kPerPage = 250;
  constexpr uint64_t kWalBound = 40u << 20;  // 8,192 frames of 4 KiB and one page's frames
  uint64_t largest_wal = 0;
  for (int page = 0; page < kPages; ++page) {
    v1::SyncResponse reply;
    for (int i = 0; i < kPerPage; ++i) {
      const int n = page * kPerPage + i;
      v1::Change* change = reply.add_changes();
      change->set_server_seq(static_cast<uint64_t>(n) + 1);
      *change->mutable_state() = RemoteChild(n, 3000);
    }
    reply.set_next_cursor(static_cast<uint64_t>((page + 1) * kPerPage));
    reply.set_has_more(page + 1 < kPages);
    ASSERT_TRUE(store.ApplySyncResponse(reply, kNow).has_value());
    largest_wal = std::max(largest_wal, FileSize(path_ + "-wal"));
  }
  EXPECT_LE(largest_wal, kWalBound);
  EXPECT_GT(FileSize(path_), 20u << 20);  // checkpoints moved the pages into the database
  EXPECT_EQ(store.ReadStatus()->records, static_cast<uint64_t>(kPages * kPerPage));
}

TEST_F(LocalStoreTest, LastPageRecordsTheSyncResultInTheSameCommit) {
  LocalStore store = NewStore();
  auto empty_wal = [&] {
    auto db = sql::Database::Open(path_);
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    ASSERT_EQ(FileSize(path_ + "-wal"), 0u);
  };
  auto line = [](const PullSummary& page) { return "pulled " + std::to_string(page.changes); };

  // More to come: nothing recorded.
  v1::SyncResponse more;
  *more.add_changes()->mutable_state() = RemoteChild(1, 10);
  more.mutable_changes(0)->set_server_seq(1);
  more.set_next_cursor(1);
  more.set_has_more(true);
  Result<PullSummary> first = store.ApplySyncResponse(more, kNow, line);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_FALSE(first->result_recorded);
  EXPECT_EQ(store.ReadStatus()->last_sync_result, "");

  // The last page: the cursor, the device row and the result line in one commit, which writes the
  // device row's page once (one WAL frame: 32 bytes of WAL header, 24 + 4,096 per frame).
  empty_wal();
  v1::SyncResponse last;
  last.set_next_cursor(2);
  Result<PullSummary> second = store.ApplySyncResponse(last, kNow + 5, line);
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_TRUE(second->result_recorded);
  EXPECT_EQ(FileSize(path_ + "-wal"), 32u + 24u + 4096u);
  DeviceStatus status = *store.ReadStatus();
  EXPECT_EQ(status.last_sync_result, "pulled 0");
  EXPECT_EQ(status.last_sync_ms, kNow + 5);
  EXPECT_EQ(status.cursor, 2u);

  // With a mutation still waiting, the sync is not over: nothing recorded.
  ASSERT_TRUE(store.Add(Child("Ana"), kNow + 6).has_value());
  last.set_next_cursor(3);
  Result<PullSummary> third = store.ApplySyncResponse(last, kNow + 7, line);
  ASSERT_TRUE(third.has_value());
  EXPECT_FALSE(third->result_recorded);
  EXPECT_EQ(store.ReadStatus()->last_sync_ms, kNow + 5);
}

TEST_F(LocalStoreTest, RefusedUpdateRevertsToTheServersValue) {
  LocalStore store = NewStore();
  const std::string id = *store.Add(Child("Ana"), kNow);
  v1::RecordState as_server = *store.Get(v1::RECORD_TYPE_CHILD, id);  // the server took the create
  v1::SyncResponse first;
  first.set_acked_seq(1);
  ASSERT_TRUE(store.ApplySyncResponse(first, kNow + 1).has_value());

  v1::Record change;
  change.mutable_child()->set_region("Lima");
  ASSERT_TRUE(store.Update(v1::RECORD_TYPE_CHILD, id, change, {6}, kNow + 2).ok());
  EXPECT_EQ(store.Get(v1::RECORD_TYPE_CHILD, id)->record().child().region(), "Lima");

  v1::SyncResponse reply;
  reply.set_acked_seq(2);
  v1::Rejection* r = reply.add_rejections();
  r->set_seq(2);
  r->set_code(v1::REJECTION_CODE_FORBIDDEN);
  r->set_field("child.region");
  *reply.add_rejected_records() = as_server;
  ASSERT_TRUE(store.ApplySyncResponse(reply, kNow + 3).has_value());
  v1::RecordState now = *store.Get(v1::RECORD_TYPE_CHILD, id);
  EXPECT_EQ(now.record().child().region(), "Cusco");
  EXPECT_EQ(now.SerializeAsString(), as_server.SerializeAsString());
  EXPECT_EQ(store.Rejected()->size(), 1u);
}

TEST_F(LocalStoreTest, EvictionAndReturnInOnePageAreAppliedInSeqOrder) {
  LocalStore store = NewStore();
  const std::string id = *store.Add(Child("Ana"), kNow);
  v1::RecordState state = *store.Get(v1::RECORD_TYPE_CHILD, id);
  v1::SyncResponse reply;
  reply.set_acked_seq(1);
  v1::Eviction* e = reply.add_evictions();
  e->set_server_seq(5);
  e->set_type(v1::RECORD_TYPE_CHILD);
  e->set_record_id(id);
  v1::Change* c = reply.add_changes();
  c->set_server_seq(6);  // it came back after leaving
  *c->mutable_state() = state;
  reply.set_next_cursor(6);
  ASSERT_TRUE(store.ApplySyncResponse(reply, kNow + 1).has_value());
  EXPECT_TRUE(store.Get(v1::RECORD_TYPE_CHILD, id).has_value());
}

TEST_F(LocalStoreTest, NewStoreForAnEnrolledDeviceNumbersAfterTheServer) {
  LocalStore store = NewStore();
  ASSERT_TRUE(store.Add(Child("Ana"), kNow).has_value());
  ASSERT_TRUE(store.Add(Child("Beto"), kNow).has_value());
  // The server has seen seqs up to 40 from this device id (the phone was wiped).
  EXPECT_EQ(*store.AdoptServerSeq(40), 2u);
  std::vector<v1::Mutation> pending = *store.Pending(10);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].seq(), 41u);
  EXPECT_EQ(pending[1].seq(), 42u);
  EXPECT_EQ(store.ReadStatus()->next_seq, 43u);
  // A store that made those seqs itself is left alone.
  EXPECT_EQ(*store.AdoptServerSeq(42), 0u);
  EXPECT_EQ(store.Pending(10)->front().seq(), 41u);
}

TEST_F(LocalStoreTest, ClockThatRanAheadComesBackAfterTheRefusal) {
  LocalStore store = NewStore();
  const int64_t tomorrow = kNow + 86'400'000;  // the phone's date was a day ahead
  ASSERT_TRUE(store.Add(Child("Ana"), tomorrow).has_value());
  v1::SyncResponse reply;
  reply.set_acked_seq(1);
  v1::Rejection* r = reply.add_rejections();
  r->set_seq(1);
  r->set_code(v1::REJECTION_CODE_CLOCK_AHEAD);
  reply.set_server_clock(MakeHlc(kNow, 0));
  ASSERT_TRUE(store.ApplySyncResponse(reply, kNow).has_value());
  // The date is fixed: the next write is stamped now, not a day ahead.
  const std::string id = *store.Add(Child("Beto"), kNow + 1000);
  const HlcValue stamped = FieldStampOf(*store.Get(v1::RECORD_TYPE_CHILD, id), 2).hlc();
  EXPECT_LT(HlcMillis(stamped), static_cast<uint64_t>(kNow + 60'000));
  EXPECT_GT(stamped, MakeHlc(kNow, 0));
}

TEST_F(LocalStoreTest, ExportIsOrderedAndIncludesTombstones) {
  LocalStore store = NewStore();
  const std::string a = *store.Add(Child("Ana"), kNow);
  ASSERT_TRUE(store.Add(Visit(a, "2026-05-20T10:00:00-05:00", ""), kNow));
  const std::string b = *store.Add(Child("Beto"), kNow + 5);
  ASSERT_TRUE(store.Delete(v1::RECORD_TYPE_CHILD, b, kNow + 6).ok());
  std::vector<v1::RecordState> all = *store.ExportAll();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(RecordId(all[0].record()), a);
  EXPECT_EQ(RecordId(all[1].record()), b);
  EXPECT_TRUE(all[1].record().child().deleted());
  EXPECT_EQ(TypeOf(all[2].record()), v1::RECORD_TYPE_HOME_VISIT);
}

}  // namespace
}  // namespace vinculo::client
