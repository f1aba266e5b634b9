#include "client/local_store.h"

#include <algorithm>
#include <limits>

#include "client/store_schema.h"
#include "common/civil_time.h"
#include "common/echoes.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/sqlite.h"
#include "common/state_digest.h"
#include "common/uniform_stamp.h"
#include "common/uuid.h"
#include "common/validate.h"

namespace vinculo::client {
namespace {

void BindOptionalText(sql::Statement* s, int index, const std::string& text) {
  if (text.empty()) {
    s->BindNull(index);
  } else {
    s->BindText(index, text);
  }
}

}  // namespace

struct LocalStore::Impl {
  sql::Database db;
  std::string device_id;
  std::string store_id;

  // The device row as of the current transaction.
  struct DeviceRow {
    HlcValue hlc = 0;
    uint64_t next_seq = 1;
    uint64_t acked_seq = 0;
    uint64_t cursor = 0;
    uint64_t held_through = 0;  // SyncRequest.held_through: the end of the last pull applied whole
  };

  Result<DeviceRow> LoadDevice() {
    Result<sql::Statement*> s =
        db.Cached("SELECT hlc, next_seq, acked_seq, cursor, held_through FROM device "
                  "WHERE singleton = 1");
    if (!s) return s.error();
    Result<bool> row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) return Error::DataLoss("the store has no device row: not a complete Vínculo store");
    DeviceRow d{static_cast<HlcValue>((*s)->ColumnInt(0)), static_cast<uint64_t>((*s)->ColumnInt(1)),
                static_cast<uint64_t>((*s)->ColumnInt(2)), static_cast<uint64_t>((*s)->ColumnInt(3)),
                static_cast<uint64_t>((*s)->ColumnInt(4))};
    (*s)->Reset();
    return d;
  }

  Status SaveDevice(const DeviceRow& d) {
    Result<sql::Statement*> s = db.Cached(
        "UPDATE device SET hlc = ?1, next_seq = ?2, acked_seq = ?3, cursor = ?4, "
        "held_through = ?5 WHERE singleton = 1");
    if (!s) return s.error();
    (*s)->BindInt(1, static_cast<int64_t>(d.hlc))
        .BindInt(2, static_cast<int64_t>(d.next_seq))
        .BindInt(3, static_cast<int64_t>(d.acked_seq))
        .BindInt(4, static_cast<int64_t>(d.cursor))
        .BindInt(5, static_cast<int64_t>(d.held_through));
    return (*s)->Run();
  }

  // The stored state of a record, or nullopt when unknown. DataLoss when the row does not decode.
  Result<std::optional<v1::RecordState>> LoadState(v1::RecordType type, const std::string& id) {
    Result<sql::Statement*> s = db.Cached("SELECT state FROM records WHERE type = ?1 AND id = ?2");
    if (!s) return s.error();
    (*s)->BindInt(1, type).BindText(2, id);
    Result<bool> row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) return std::optional<v1::RecordState>();
    v1::RecordState state;
    const std::string_view bytes = (*s)->ColumnBytes(0);
    const bool ok = state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
    (*s)->Reset();
    if (!ok) return Error::DataLoss("record " + id + " is damaged in the store");
    return std::optional<v1::RecordState>(std::move(state));
  }

  Status SaveState(const v1::RecordState& state) {
    Result<sql::Statement*> s = db.Cached(
        "INSERT INTO records (type, id, state, deleted, child_id, family_id, at_ms, at_text, due) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (type, id) DO UPDATE SET state = excluded.state, deleted = excluded.deleted, "
        "child_id = excluded.child_id, family_id = excluded.family_id, at_ms = excluded.at_ms, "
        "at_text = excluded.at_text, due = excluded.due");
    if (!s) return s.error();
    const RecordRefs c = RefsOf(state.record());
    (*s)->BindInt(1, TypeOf(state.record()))
        .BindText(2, RecordId(state.record()))
        .BindBlob(3, state.SerializeAsString())
        .BindInt(4, IsDeleted(state.record()) ? 1 : 0);
    BindOptionalText(*s, 5, c.child_id);
    BindOptionalText(*s, 6, c.family_id);
    if (c.at_ms) {
      (*s)->BindInt(7, *c.at_ms);
    } else {
      (*s)->BindNull(7);
    }
    BindOptionalText(*s, 8, c.at_text);
    BindOptionalText(*s, 9, c.due);
    return (*s)->Run();
  }

  // The highest stamp in any record held or any pending mutation. Reads the whole store: only for
  // the rare repair after a CLOCK_AHEAD rejection.
  Result<HlcValue> HighestHeldStamp() {
    HlcValue high = 0;
    Result<sql::Statement*> s = db.Cached("SELECT state FROM records");
    if (!s) return s.error();
    Result<std::vector<v1::RecordState>> states = States(*s);
    if (!states) return states.error();
    for (const v1::RecordState& state : *states) high = std::max(high, MaxStamp(state).hlc());
    Result<sql::Statement*> m = db.Cached("SELECT mutation FROM outbox");
    if (!m) return m.error();
    for (;;) {
      Result<bool> row = (*m)->Step();
      if (!row) return row.error();
      if (!*row) break;
      v1::Mutation mutation;
      if (mutation.ParseFromString((*m)->ColumnBlob(0))) high = std::max(high, mutation.hlc());
    }
    (*m)->Reset();
    return high;
  }

  // Removes a record's row (an eviction, or a refused create undone); not a tombstone.
  Status DeleteRecord(v1::RecordType type, const std::string& id) {
    Result<sql::Statement*> s = db.Cached("DELETE FROM records WHERE type = ?1 AND id = ?2");
    if (!s) return s.error();
    (*s)->BindInt(1, type).BindText(2, id);
    return (*s)->Run();
  }

  Status QueueMutation(const v1::Mutation& m, int64_t now_ms) {
    Result<sql::Statement*> s = db.Cached(
        "INSERT INTO outbox (seq, type, record_id, mutation, created_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s) return s.error();
    (*s)->BindInt(1, static_cast<int64_t>(m.seq()))
        .BindInt(2, TypeOf(m.record()))
        .BindText(3, RecordId(m.record()))
        .BindBlob(4, m.SerializeAsString())
        .BindInt(5, now_ms);
    return (*s)->Run();
  }

  enum class WriteKind { kCreate, kUpdate, kDelete, kRestore };

  // The one local write path: validate, stamp, apply, queue. Runs inside the caller's
  // transaction and advances `device` (which the caller saves before committing).
  Status WriteInTransaction(WriteKind kind, const v1::Record& values,
                            const std::vector<uint32_t>& fields, int64_t now_ms,
                            DeviceRow* device) {
    const v1::RecordType type = TypeOf(values);
    const std::string& id = RecordId(values);
    Result<std::optional<v1::RecordState>> loaded = LoadState(type, id);
    if (!loaded) return loaded.error();

    const std::string name = std::string(RecordTypeName(type));
    if (kind == WriteKind::kCreate && loaded->has_value()) {
      return Error::AlreadyExists(name + " " + id + " already exists");
    }
    if (kind == WriteKind::kRestore) {
      if (!loaded->has_value()) return Error::NotFound(name + " " + id + " not found");
      if (!IsDeleted((*loaded)->record())) {
        return Error::FailedPrecondition(name + " " + id + " is not deleted");
      }
    } else if (kind != WriteKind::kCreate &&
               (!loaded->has_value() || IsDeleted((*loaded)->record()))) {
      return Error::NotFound(name + " " + id + " not found");
    }
    v1::RecordState state = loaded->has_value() ? std::move(**loaded) : v1::RecordState();

    HybridClock clock(device->hlc);
    const HlcValue hlc = clock.Tick(static_cast<uint64_t>(now_ms));
    const v1::Mutation mutation = MakeMutation(state, values, fields, hlc, device->next_seq);
    Result<ApplyOutcome> applied = ApplyMutation(&state, mutation, device_id);
    if (!applied) return applied.error();
    if (kind == WriteKind::kUpdate) {  // a create was checked whole by PrepareNew
      VINCULO_RETURN_IF_ERROR(CheckRecord(state.record(), {.today = UtcDate(now_ms)}));
    }
    VINCULO_RETURN_IF_ERROR(SaveState(state));
    VINCULO_RETURN_IF_ERROR(QueueMutation(mutation, now_ms));
    device->hlc = clock.last();
    device->next_seq += 1;
    return Status::Ok();
  }

  // One write in its own transaction.
  Status Write(WriteKind kind, const v1::Record& values, const std::vector<uint32_t>& fields,
               int64_t now_ms) {
    Result<sql::Transaction> txn = sql::Transaction::Begin(db);
    if (!txn) return txn.error();
    Result<DeviceRow> device = LoadDevice();
    if (!device) return device.error();
    VINCULO_RETURN_IF_ERROR(WriteInTransaction(kind, values, fields, now_ms, &*device));
    VINCULO_RETURN_IF_ERROR(SaveDevice(*device));
    return txn->Commit();
  }

  // Rows of `sql` (one column, a RecordState blob) decoded.
  Result<std::vector<v1::RecordState>> States(sql::Statement* s) {
    std::vector<v1::RecordState> out;
    for (;;) {
      Result<bool> row = s->Step();
      if (!row) return row.error();
      if (!*row) break;
      v1::RecordState state;
      if (!state.ParseFromString(s->ColumnBlob(0))) {
        s->Reset();
        return Error::DataLoss("a record is damaged in the store");
      }
      out.push_back(std::move(state));
    }
    s->Reset();
    return out;
  }
};

LocalStore::LocalStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalStore::LocalStore(LocalStore&&) noexcept = default;
LocalStore& LocalStore::operator=(LocalStore&&) noexcept = default;
LocalStore::~LocalStore() = default;

const std::string& LocalStore::device_id() const { return impl_->device_id; }
const std::string& LocalStore::store_id() const { return impl_->store_id; }

Result<LocalStore> LocalStore::Create(const std::string& path, const DeviceSetup& setup,
                                      int64_t now_ms) {
  if (setup.server_url.empty()) return Error::InvalidArgument("is required", "server");
  if (setup.ca_file.empty()) return Error::InvalidArgument("is required", "ca");
  std::string device_id = setup.device_id;
  if (device_id.empty()) {
    Result<std::string> id = NewUuidV7(static_cast<uint64_t>(now_ms));
    if (!id) return id.error();
    device_id = *id;
  } else if (!IsUuid(device_id)) {
    return Error::InvalidArgument("must be a UUID", "device_id");
  }
  Result<std::string> store_id = NewUuidV7(static_cast<uint64_t>(now_ms));
  if (!store_id) return store_id.error();
  // Refuse to touch an existing file: opening without CREATE first tells whether it is there.
  if (path != ":memory:") {
    if (Result<sql::Database> existing = sql::Database::Open(path); existing.has_value()) {
      return Error::AlreadyExists(path + " already exists; a store is never overwritten");
    } else if (existing.error().code != ErrorCode::kNotFound) {
      return Error::AlreadyExists(path + " already exists and is not a Vínculo store");
    }
  }
  Result<sql::Database> db = sql::Database::Open(path, {.create = true});
  if (!db) return db.error();
  VINCULO_RETURN_IF_ERROR(ConfigureConnection(*db));
  VINCULO_RETURN_IF_ERROR(MigrateSchema(*db, [&]() -> Status {
    Result<sql::Statement> insert = db->Prepare(
        "INSERT INTO device (singleton, device_id, store_id, server_url, ca_file, hlc, next_seq, "
        "created_ms) VALUES (1, ?1, ?5, ?2, ?3, 0, 1, ?4)");
    if (!insert) return insert.error();
    insert->BindText(1, device_id)
        .BindText(2, setup.server_url)
        .BindText(3, setup.ca_file)
        .BindInt(4, now_ms)
        .BindText(5, *store_id);
    return insert->Run();
  }));
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db).value();
  impl->device_id = std::move(device_id);
  impl->store_id = *store_id;
  return LocalStore(std::move(impl));
}

Result<LocalStore> LocalStore::Open(const std::string& path) {
  Result<sql::Database> db = sql::Database::Open(path);
  if (!db) {
    if (db.error().code == ErrorCode::kDataLoss) {
      return Error::DataLoss(path + " is not a Vínculo store (or is damaged): " +
                             db.error().message);
    }
    return db.error();
  }
  VINCULO_RETURN_IF_ERROR(CheckIsStore(*db, path));
  VINCULO_RETURN_IF_ERROR(ConfigureConnection(*db));
  VINCULO_RETURN_IF_ERROR(MigrateSchema(*db));
  Result<sql::Statement> s =
      db->Prepare("SELECT device_id, store_id FROM device WHERE singleton = 1");
  if (!s) return s.error();
  Result<bool> row = s->Step();
  if (!row) return row.error();
  if (!*row) return Error::DataLoss(path + " has no device identity: not a complete store");
  auto impl = std::make_unique<Impl>();
  impl->device_id = s->ColumnText(0);
  impl->store_id = s->ColumnText(1);
  s = sql::Statement();  // finalize before the database moves
  impl->db = std::move(db).value();
  return LocalStore(std::move(impl));
}

namespace {

// A new record ready to write: an id made when it has none, checked whole. The id rule is reported
// on the id.
Result<v1::Record> PrepareNew(const v1::Record& record, int64_t now_ms) {
  const v1::RecordType type = TypeOf(record);
  if (type == v1::RECORD_TYPE_UNSPECIFIED) return Error::InvalidArgument("is required", "record");
  v1::Record values = record;
  if (RecordId(values).empty()) {
    Result<std::string> made = NewUuidV7(static_cast<uint64_t>(now_ms));
    if (!made) return made.error();
    google::protobuf::Message* m = MutableRecordMessage(&values, type);
    m->GetReflection()->SetString(m, m->GetDescriptor()->FindFieldByNumber(kIdField), *made);
  }
  VINCULO_RETURN_IF_ERROR(CheckRecord(values, {.today = UtcDate(now_ms)}));
  if (IsDeleted(values)) {
    return Error::InvalidArgument("a new record cannot be deleted",
                                  std::string(RecordTypeName(type)) + ".deleted");
  }
  return values;
}

}  // namespace

Result<std::string> LocalStore::Add(const v1::Record& record, int64_t now_ms) {
  Result<v1::Record> values = PrepareNew(record, now_ms);
  if (!values) return values.error();
  VINCULO_RETURN_IF_ERROR(
      impl_->Write(Impl::WriteKind::kCreate, *values, SetFields(*values), now_ms));
  return RecordId(*values);
}

Result<std::vector<std::string>> LocalStore::AddAll(const std::vector<v1::Record>& records,
                                                    int64_t now_ms) {
  std::vector<v1::Record> prepared;
  prepared.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    Result<v1::Record> values = PrepareNew(records[i], now_ms);
    if (!values) {
      Error e = values.error();
      e.message = "record " + std::to_string(i + 1) + ": " + e.message;
      return e;
    }
    prepared.push_back(std::move(values).value());
  }
  Result<sql::Transaction> txn = sql::Transaction::Begin(impl_->db);
  if (!txn) return txn.error();
  Result<Impl::DeviceRow> device = impl_->LoadDevice();
  if (!device) return device.error();
  std::vector<std::string> ids;
  ids.reserve(prepared.size());
  for (const v1::Record& values : prepared) {
    VINCULO_RETURN_IF_ERROR(impl_->WriteInTransaction(Impl::WriteKind::kCreate, values,
                                                      SetFields(values), now_ms, &*device));
    ids.push_back(RecordId(values));
  }
  VINCULO_RETURN_IF_ERROR(impl_->SaveDevice(*device));
  VINCULO_RETURN_IF_ERROR(txn->Commit());
  return ids;
}

Status LocalStore::Update(v1::RecordType type, const std::string& id, const v1::Record& values,
                          const std::vector<uint32_t>& fields, int64_t now_ms) {
  if (TypeOf(values) != type) {
    return Error::InvalidArgument("values are not a " + std::string(RecordTypeName(type)),
                                  "record");
  }
  if (fields.empty()) return Error::InvalidArgument("name at least one field to change", "fields");
  const google::protobuf::Descriptor* descriptor = RecordDescriptor(type);
  for (uint32_t f : fields) {
    const auto* field = descriptor->FindFieldByNumber(static_cast<int>(f));
    if (field == nullptr || f == kIdField || f == kDeletedField) {
      return Error::InvalidArgument("field " + std::to_string(f) + " cannot be updated", "fields");
    }
  }
  v1::Record with_id = values;
  google::protobuf::Message* m = MutableRecordMessage(&with_id, type);
  m->GetReflection()->SetString(m, descriptor->FindFieldByNumber(kIdField), id);
  return impl_->Write(Impl::WriteKind::kUpdate, with_id, fields, now_ms);
}

Status LocalStore::Delete(v1::RecordType type, const std::string& id, int64_t now_ms) {
  v1::Record values;
  google::protobuf::Message* m = MutableRecordMessage(&values, type);
  m->GetReflection()->SetString(m, m->GetDescriptor()->FindFieldByNumber(kIdField), id);
  m->GetReflection()->SetBool(m, m->GetDescriptor()->FindFieldByNumber(kDeletedField), true);
  return impl_->Write(Impl::WriteKind::kDelete, values, {static_cast<uint32_t>(kDeletedField)},
                      now_ms);
}

Status LocalStore::Restore(v1::RecordType type, const std::string& id, int64_t now_ms) {
  v1::Record values;
  google::protobuf::Message* m = MutableRecordMessage(&values, type);
  m->GetReflection()->SetString(m, m->GetDescriptor()->FindFieldByNumber(kIdField), id);
  // `deleted` = false is the default value: written as a cleared field.
  return impl_->Write(Impl::WriteKind::kRestore, values, {static_cast<uint32_t>(kDeletedField)},
                      now_ms);
}

Result<v1::RecordState> LocalStore::Get(v1::RecordType type, const std::string& id,
                                        bool include_deleted) {
  Result<std::optional<v1::RecordState>> state = impl_->LoadState(type, id);
  if (!state) return state.error();
  if (!state->has_value() || (!include_deleted && IsDeleted((*state)->record()))) {
    return Error::NotFound(std::string(RecordTypeName(type)) + " " + id + " not found");
  }
  return std::move(**state);
}

Result<std::vector<v1::RecordState>> LocalStore::List(v1::RecordType type, bool include_deleted) {
  Result<sql::Statement*> s = impl_->db.Cached(
      "SELECT state FROM records WHERE type = ?1 AND (?2 OR deleted = 0) ORDER BY id");
  if (!s) return s.error();
  (*s)->BindInt(1, type).BindInt(2, include_deleted ? 1 : 0);
  return impl_->States(*s);
}

Result<std::vector<v1::RecordState>> LocalStore::ExportAll() {
  Result<sql::Statement*> s = impl_->db.Cached("SELECT state FROM records ORDER BY type, id");
  if (!s) return s.error();
  return impl_->States(*s);
}

Result<std::vector<CaseloadEntry>> LocalStore::Caseload(const std::string& today) {
  const std::optional<int64_t> today_days = ParseDate(today);
  if (!today_days) return Error::InvalidArgument("must be a date YYYY-MM-DD", "today");
  // The latest visit of each child, read from the records_latest_visit index alone; SQLite takes
  // the bare columns at_text and due from the row holding the maximum.
  Result<sql::Statement*> s = impl_->db.Cached(
      "SELECT c.state, v.at_text, v.due FROM records c "
      "LEFT JOIN (SELECT child_id, MAX(at_ms) AS last_ms, at_text, due FROM records "
      "           WHERE type = 4 AND deleted = 0 GROUP BY child_id) v ON v.child_id = c.id "
      "WHERE c.type = 1 AND c.deleted = 0");
  if (!s) return s.error();
  std::vector<CaseloadEntry> out;
  for (;;) {
    Result<bool> row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) break;
    v1::RecordState state;
    if (!state.ParseFromString((*s)->ColumnBlob(0))) {
      (*s)->Reset();
      return Error::DataLoss("a child record is damaged in the store");
    }
    if (state.record().child().status() == v1::CASE_STATUS_CLOSED) continue;
    CaseloadEntry e;
    e.child = state.record().child();
    e.last_visit_at = (*s)->ColumnText(1);
    e.next_visit_due = (*s)->ColumnText(2);
    if (std::optional<int64_t> due = ParseDate(e.next_visit_due)) {
      e.overdue = *due < *today_days;
      e.days_overdue = e.overdue ? *today_days - *due : 0;
    } else {
      e.overdue = e.last_visit_at.empty();  // never visited and nothing agreed: needs a visit
    }
    out.push_back(std::move(e));
  }
  (*s)->Reset();
  std::sort(out.begin(), out.end(), [](const CaseloadEntry& a, const CaseloadEntry& b) {
    if (a.overdue != b.overdue) return a.overdue;
    if (a.days_overdue != b.days_overdue) return a.days_overdue > b.days_overdue;
    // An agreed date sorts before "none agreed"; then the earliest date first.
    if (a.next_visit_due.empty() != b.next_visit_due.empty()) return b.next_visit_due.empty();
    if (a.next_visit_due != b.next_visit_due) return a.next_visit_due < b.next_visit_due;
    if (a.child.family_name() != b.child.family_name()) {
      return a.child.family_name() < b.child.family_name();
    }
    if (a.child.given_name() != b.child.given_name()) {
      return a.child.given_name() < b.child.given_name();
    }
    return a.child.id() < b.child.id();
  });
  return out;
}

Result<DeviceStatus> LocalStore::ReadStatus() {
  Result<sql::Statement*> s = impl_->db.Cached(
      "SELECT device_id, server_url, ca_file, COALESCE(username, ''), acked_seq, next_seq, cursor, "
      "COALESCE(last_sync_ms, 0), COALESCE(last_sync_result, ''), "
      "(SELECT count(*) FROM outbox), (SELECT count(*) FROM records), hlc "
      "FROM device WHERE singleton = 1");
  if (!s) return s.error();
  Result<bool> row = (*s)->Step();
  if (!row) return row.error();
  if (!*row) return Error::DataLoss("the store has no device row");
  DeviceStatus st;
  st.device_id = (*s)->ColumnText(0);
  st.server_url = (*s)->ColumnText(1);
  st.ca_file = (*s)->ColumnText(2);
  st.username = (*s)->ColumnText(3);
  st.acked_seq = static_cast<uint64_t>((*s)->ColumnInt(4));
  st.next_seq = static_cast<uint64_t>((*s)->ColumnInt(5));
  st.cursor = static_cast<uint64_t>((*s)->ColumnInt(6));
  st.last_sync_ms = (*s)->ColumnInt(7);
  st.last_sync_result = (*s)->ColumnText(8);
  st.pending = static_cast<uint64_t>((*s)->ColumnInt(9));
  st.records = static_cast<uint64_t>((*s)->ColumnInt(10));
  st.hlc = static_cast<uint64_t>((*s)->ColumnInt(11));
  (*s)->Reset();
  return st;
}

Result<LocalStore::SyncPosition> LocalStore::ReadSyncPosition() {
  Result<Impl::DeviceRow> device = impl_->LoadDevice();
  if (!device) return device.error();
  return SyncPosition{
      .cursor = device->cursor, .hlc = device->hlc, .held_through = device->held_through};
}

Result<std::vector<RejectedMutation>> LocalStore::Rejected() {
  Result<sql::Statement*> s = impl_->db.Cached(
      "SELECT mutation, code, message, field, rejected_ms FROM rejected ORDER BY seq");
  if (!s) return s.error();
  std::vector<RejectedMutation> out;
  for (;;) {
    Result<bool> row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) break;
    RejectedMutation r;
    if (!r.mutation.ParseFromString((*s)->ColumnBlob(0))) {
      (*s)->Reset();
      return Error::DataLoss("a rejected mutation is damaged in the store");
    }
    r.code = (*s)->ColumnText(1);
    r.message = (*s)->ColumnText(2);
    r.field = (*s)->ColumnText(3);
    r.rejected_ms = (*s)->ColumnInt(4);
    out.push_back(std::move(r));
  }
  (*s)->Reset();
  return out;
}

Result<std::vector<v1::Mutation>> LocalStore::Pending(size_t limit) {
  Result<sql::Statement*> s =
      impl_->db.Cached("SELECT mutation FROM outbox ORDER BY seq LIMIT ?1");
  if (!s) return s.error();
  (*s)->BindInt(1, static_cast<int64_t>(limit));
  std::vector<v1::Mutation> out;
  for (;;) {
    Result<bool> row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) break;
    v1::Mutation m;
    if (!m.ParseFromString((*s)->ColumnBlob(0))) {
      (*s)->Reset();
      return Error::DataLoss("a pending mutation is damaged in the store");
    }
    out.push_back(std::move(m));
  }
  (*s)->Reset();
  return out;
}

Result<PullSummary> LocalStore::ApplySyncResponse(
    const v1::SyncResponse& response, int64_t now_ms,
    const std::function<std::string(const PullSummary&)>& finished) {
  sql::Database& db = impl_->db;
  Result<sql::Transaction> txn = sql::Transaction::Begin(db);
  if (!txn) return txn.error();
  Result<Impl::DeviceRow> device = impl_->LoadDevice();
  if (!device) return device.error();
  if (response.next_cursor() < device->cursor && !response.reset_required()) {
    return Error::DataLoss("the server's cursor " + std::to_string(response.next_cursor()) +
                           " is behind this device's " + std::to_string(device->cursor) +
                           "; refusing to move back");
  }
  // Echoes must lie in this page, ascending: an unmatched one sets the cursor just below it.
  Result<std::vector<EchoEntry>> echoes = EchoesOf(response);
  if (!echoes) return echoes.error();
  uint64_t last_echo = device->cursor;
  for (const EchoEntry& e : *echoes) {
    if (response.reset_required() || e.server_seq <= last_echo ||
        e.server_seq > response.next_cursor()) {
      return Error::DataLoss("the server's echo at server_seq " + std::to_string(e.server_seq) +
                             " is not in ascending order inside the page (" +
                             std::to_string(device->cursor) + ", " +
                             std::to_string(response.next_cursor()) + "]; refusing the reply");
    }
    last_echo = e.server_seq;
  }
  PullSummary summary;

  // The digest of the state this device holds of the record each echo names, found through the
  // outbox entry of its mutation before the acknowledged entries leave the outbox; nullopt when the
  // entry or the record is gone. Each echo's record is in no other entry of the page (the feed names a record
  // once), so these are the states the echoes are checked against.
  std::vector<std::optional<uint64_t>> held_digests;
  held_digests.reserve(echoes->size());
  for (const EchoEntry& e : *echoes) {
    // The digest of the stored bytes: the record need not be decoded (StateDigestOfBytes).
    Result<sql::Statement*> find = db.Cached(
        "SELECT r.state FROM outbox o JOIN records r ON r.type = o.type AND r.id = o.record_id "
        "WHERE o.seq = ?1");
    if (!find) return find.error();
    (*find)->BindInt(1, static_cast<int64_t>(e.mutation_seq));
    Result<bool> found = (*find)->Step();
    if (!found) return found.error();
    held_digests.emplace_back();
    if (*found) held_digests.back() = StateDigestOfBytes((*find)->ColumnBytes(0));
    (*find)->Reset();
  }
  const size_t matched = MatchedEchoes(response, *echoes, held_digests);

  // Rejected mutations leave the outbox for the rejected list (and are undone locally below); the
  // rest at or below acked_seq are done.
  std::vector<v1::Mutation> refused;
  for (const v1::Rejection& r : response.rejections()) {
    Result<sql::Statement*> find = db.Cached("SELECT mutation FROM outbox WHERE seq = ?1");
    if (!find) return find.error();
    (*find)->BindInt(1, static_cast<int64_t>(r.seq()));
    Result<bool> found = (*find)->Step();
    if (!found) return found.error();
    if (*found) {
      refused.emplace_back();
      const bool ok = refused.back().ParseFromString((*find)->ColumnBlob(0));
      (*find)->Reset();
      if (!ok) return Error::DataLoss("a pending mutation is damaged in the store");
    } else {
      (*find)->Reset();
    }
    if (r.seq() > response.acked_seq()) {
      return Error::DataLoss("the server rejected seq " + std::to_string(r.seq()) +
                             " beyond the acknowledged " + std::to_string(response.acked_seq()));
    }
    Result<sql::Statement*> s = db.Cached(
        "INSERT OR REPLACE INTO rejected (seq, type, record_id, mutation, code, message, field, "
        "rejected_ms) SELECT seq, type, record_id, mutation, ?2, ?3, ?4, ?5 FROM outbox "
        "WHERE seq = ?1");
    if (!s) return s.error();
    (*s)->BindInt(1, static_cast<int64_t>(r.seq()))
        .BindText(2, RejectionCodeName(r.code()))
        .BindText(3, r.message())
        .BindText(4, r.field())
        .BindInt(5, now_ms);
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    summary.rejected += static_cast<uint64_t>(db.Changes());
  }
  {
    Result<sql::Statement*> s = db.Cached("DELETE FROM outbox WHERE seq <= ?1");
    if (!s) return s.error();
    (*s)->BindInt(1, static_cast<int64_t>(response.acked_seq()));
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    summary.acknowledged = static_cast<uint64_t>(db.Changes());
  }
  device->acked_seq = std::max(device->acked_seq, response.acked_seq());

  HybridClock clock(device->hlc);
  clock.Advance(response.server_clock());
  // Changes, evictions and echoes in server_seq order: a record that left the scope and came back
  // within one page must end up present.
  uint64_t cursor = response.next_cursor();
  // How far the scope is held whole once this page is applied. Only a last page (has_more false)
  // applied whole moves it, to its end: every record of the scope is then at or below that seq on
  // the server and came in the page that covers it, so the device holds each as the server does.
  // A page with more after it may have missed a record that changed again beyond it (it comes in
  // a later page, at its new seq, and must come with every field changed since the held seq).
  uint64_t held_through = response.has_more() ? device->held_through : cursor;
  int ci = 0, ei = 0, hi = 0;
  const int echo_count = static_cast<int>(echoes->size());
  while (ci < response.changes_size() || ei < response.evictions_size() || hi < echo_count) {
    const bool has_change = ci < response.changes_size();
    const bool has_eviction = ei < response.evictions_size();
    const bool has_echo = hi < echo_count;
    const uint64_t echo_seq = has_echo ? (*echoes)[static_cast<size_t>(hi)].server_seq : 0;
    const bool take_echo =
        has_echo && (!has_change || echo_seq < response.changes(ci).server_seq()) &&
        (!has_eviction || echo_seq < response.evictions(ei).server_seq());
    if (take_echo) {
      if (static_cast<size_t>(hi++) < matched) {
        ++summary.echoes;
        continue;
      }
      // Not what the server holds: stop here; the next round sends the record in full. The
      // record may lack changes made after the request's held_through, so that stays.
      cursor = std::max(device->cursor, echo_seq - 1);
      held_through = device->held_through;
      summary.more = true;
      break;
    }
    const bool take_change =
        has_change && (!has_eviction || response.changes(ci).server_seq() <
                                            response.evictions(ei).server_seq());
    if (!take_change) {
      const v1::Eviction& e = response.evictions(ei++);
      VINCULO_RETURN_IF_ERROR(impl_->DeleteRecord(e.type(), e.record_id()));
      ++summary.evictions;
      continue;
    }
    const v1::Change& change = response.changes(ci++);
    const v1::RecordType type = TypeOf(change.state().record());
    if (type == v1::RECORD_TYPE_UNSPECIFIED) continue;  // a kind from a newer server: skip
    std::optional<v1::RecordState> expanded;
    if (change.has_uniform_stamp()) {
      expanded = change.state();
      if (Status s = PutBaseStamp(&*expanded, change.uniform_stamp()); !s.ok()) {
        return Error::DataLoss("the server sent change " + std::to_string(change.server_seq()) +
                               " in a form this device cannot read: " + s.error().message);
      }
    }
    const v1::RecordState& incoming = expanded ? *expanded : change.state();
    Result<std::optional<v1::RecordState>> loaded =
        impl_->LoadState(type, RecordId(incoming.record()));
    if (!loaded) return loaded.error();
    if (change.partial() && !loaded->has_value()) {
      // Only the fields changed since held_through, of a record this device does not hold: stop
      // here, and have the next round send everything from it on whole.
      cursor = std::max(device->cursor, change.server_seq() - 1);
      held_through = 0;
      summary.more = true;
      summary.asks_whole = true;
      break;
    }
    v1::RecordState state = loaded->has_value() ? std::move(**loaded) : v1::RecordState();
    Result<bool> changed = MergeState(&state, incoming);
    if (!changed) return changed.error();
    if (*changed) VINCULO_RETURN_IF_ERROR(impl_->SaveState(state));
    clock.Advance(MaxStamp(incoming).hlc());
    ++summary.changes;
  }
  // Undo each refused write: its fields take the server's value, or are cleared.
  for (const v1::Mutation& m : refused) {
    const v1::RecordType type = TypeOf(m.record());
    const std::string& id = RecordId(m.record());
    Result<std::optional<v1::RecordState>> loaded = impl_->LoadState(type, id);
    if (!loaded) return loaded.error();
    if (!loaded->has_value()) continue;
    const v1::RecordState* authority = nullptr;
    for (const v1::RecordState& r : response.rejected_records()) {
      if (TypeOf(r.record()) == type && RecordId(r.record()) == id) authority = &r;
    }
    v1::RecordState state = std::move(**loaded);
    const std::vector<uint32_t> fields(m.fields().begin(), m.fields().end());
    RevertFields(&state, MakeStamp(m.hlc(), impl_->device_id), fields, authority);
    if (state.stamps().empty()) {
      VINCULO_RETURN_IF_ERROR(impl_->DeleteRecord(type, id));
    } else {
      VINCULO_RETURN_IF_ERROR(impl_->SaveState(state));
    }
  }
  device->cursor = cursor;
  device->held_through = response.reset_required() ? 0 : held_through;
  summary.cursor = cursor;
  summary.more = summary.more || response.has_more();
  device->hlc = clock.last();
  // A write refused because the device's clock ran ahead (a phone set to a wrong date) leaves the
  // persisted clock ahead too, and every later write would be refused as well. With those writes
  // undone, the clock comes back to the highest stamp the device still holds (or the server's
  // clock): still above everything it has seen, so causality holds.
  const bool clock_ahead = std::any_of(
      response.rejections().begin(), response.rejections().end(),
      [](const v1::Rejection& r) { return r.code() == v1::REJECTION_CODE_CLOCK_AHEAD; });
  if (clock_ahead) {
    Result<HlcValue> held = impl_->HighestHeldStamp();
    if (!held) return held.error();
    device->hlc = std::max<HlcValue>(response.server_clock(), *held);
  }
  VINCULO_RETURN_IF_ERROR(impl_->SaveDevice(*device));
  if (finished && !summary.more) {
    Result<std::vector<v1::Mutation>> left = Pending(1);
    if (!left) return left.error();
    if (left->empty()) {
      VINCULO_RETURN_IF_ERROR(RecordSyncResult(finished(summary), now_ms));
      summary.result_recorded = true;
    }
  }
  VINCULO_RETURN_IF_ERROR(txn->Commit());
  return summary;
}

Result<uint64_t> LocalStore::AdoptServerSeq(uint64_t server_last_seq, uint64_t store_base_seq) {
  sql::Database& db = impl_->db;
  Result<sql::Transaction> txn = sql::Transaction::Begin(db);
  if (!txn) return txn.error();
  Result<Impl::DeviceRow> device = impl_->LoadDevice();
  if (!device) return device.error();
  // The server names where this store's seqs start (store_base_seq); a server that does not is
  // answered by the store's own count: one that made fewer seqs than the server has seen is new.
  uint64_t base = store_base_seq;
  if (base == 0 && device->next_seq - 1 < server_last_seq) base = server_last_seq;
  if (device->acked_seq >= base) return uint64_t{0};  // adopted already, or nothing to adopt
  Result<std::vector<v1::Mutation>> pending = Pending(std::numeric_limits<int64_t>::max());
  if (!pending) return pending.error();
  VINCULO_RETURN_IF_ERROR(db.Exec("DELETE FROM outbox"));
  uint64_t seq = base;
  for (v1::Mutation& m : *pending) {
    m.set_seq(++seq);
    VINCULO_RETURN_IF_ERROR(impl_->QueueMutation(m, 0));
  }
  device->next_seq = seq + 1;
  device->acked_seq = base;
  VINCULO_RETURN_IF_ERROR(impl_->SaveDevice(*device));
  VINCULO_RETURN_IF_ERROR(txn->Commit());
  return static_cast<uint64_t>(pending->size());
}

Status LocalStore::RecordSyncResult(const std::string& summary_line, int64_t now_ms) {
  Result<sql::Statement*> s = impl_->db.Cached(
      "UPDATE device SET last_sync_ms = ?1, last_sync_result = ?2 WHERE singleton = 1");
  if (!s) return s.error();
  (*s)->BindInt(1, now_ms).BindText(2, summary_line);
  return (*s)->Run();
}

Status LocalStore::SetCredentials(const std::string& username, const std::string& token) {
  Result<sql::Statement*> s = impl_->db.Cached(
      "UPDATE device SET username = ?1, token = ?2 WHERE singleton = 1");
  if (!s) return s.error();
  (*s)->BindText(1, username).BindText(2, token);
  return (*s)->Run();
}

Result<std::string> LocalStore::Token() {
  Result<sql::Statement*> s =
      impl_->db.Cached("SELECT COALESCE(token, '') FROM device WHERE singleton = 1");
  if (!s) return s.error();
  Result<bool> row = (*s)->Step();
  if (!row) return row.error();
  std::string token = *row ? (*s)->ColumnText(0) : std::string();
  (*s)->Reset();
  if (token.empty()) return Error::Unauthenticated("this device has not logged in: run vinculo login");
  return token;
}

}  // namespace vinculo::client
