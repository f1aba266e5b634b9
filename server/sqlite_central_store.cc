#include "server/sqlite_central_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <array>
#include <optional>
#include <unordered_map>
#include <variant>

#include "common/field_seqs.h"
#include "common/record.h"
#include "common/sqlite.h"
#include "common/wal_checkpointer.h"

namespace vinculo::server {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kApplicationId = 0x56494E53;  // "VINS": a Vínculo server store
constexpr int64_t kDayMs = 86'400'000;

// Step N takes the store from user_version N-1 to N. Append only.
constexpr const char* kMigrations[] = {
    R"sql(
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
      INSERT INTO meta (key, value) VALUES ('clock', 0), ('last_server_seq', 0);
      CREATE TABLE users (
        username        TEXT PRIMARY KEY,
        password_hash   TEXT NOT NULL,
        role            TEXT NOT NULL,
        region          TEXT NOT NULL,
        disabled        INTEGER NOT NULL DEFAULT 0,
        created_ms      INTEGER NOT NULL,
        failed_logins   INTEGER NOT NULL DEFAULT 0,
        failure_window_start_ms INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE devices (
        device_id        TEXT PRIMARY KEY,
        username         TEXT NOT NULL REFERENCES users (username),
        token_hash       TEXT UNIQUE,
        token_expires_ms INTEGER NOT NULL DEFAULT 0,
        revoked_ms       INTEGER NOT NULL DEFAULT 0,
        created_ms       INTEGER NOT NULL,
        last_seen_ms     INTEGER NOT NULL DEFAULT 0,
        last_seq         INTEGER NOT NULL DEFAULT 0,
        store_id         TEXT NOT NULL DEFAULT '', -- the device store that last logged in
        store_base_seq   INTEGER NOT NULL DEFAULT 0 -- that store numbers its seqs after this
      );
      -- Every record: columns copied out of it for queries and scope, the seq of its latest
      -- change, and its RecordState last (reading the columns does not touch the blob).
      CREATE TABLE records (
        type       INTEGER NOT NULL,
        id         TEXT NOT NULL,
        region     TEXT NOT NULL,
        deleted    INTEGER NOT NULL,
        child_id   TEXT,
        family_id  TEXT,
        worker     TEXT,               -- child: assigned_worker; visit: worker
        at_ms      INTEGER,            -- visit: visited_at; placement change: changed_on
        at_text    TEXT,
        due        TEXT,               -- visit: next_visit_due
        kind       INTEGER,            -- visit: kind
        status     INTEGER,            -- child: case status
        placement  INTEGER,            -- child: placement; placement change: to_placement
        from_placement INTEGER,        -- placement change: from_placement
        programme  TEXT,               -- child: programme
        server_seq INTEGER NOT NULL UNIQUE,
        state      BLOB NOT NULL,
        UNIQUE (type, id)
      );
      CREATE INDEX records_feed ON records (region, server_seq);
      CREATE INDEX records_by_child ON records (child_id, type) WHERE child_id IS NOT NULL;
      -- The supervisors' queries (docs/performance.md, "Supervisor queries"). Partial indexes of
      -- the live visits, each in the order a query reads them, so that a page of visits is an
      -- index walk that stops at its limit, and counts never read the table.
      -- Queries name `type = 4 AND deleted = 0` literally, and the index by INDEXED BY (without
      -- statistics the planner prefers the (type, id) key). The trailing type and deleted columns
      -- let SQLite 3.40 answer from the index alone.
      CREATE INDEX visits_by_region_time ON records (region, at_ms, id, worker, type, deleted)
        WHERE type = 4 AND deleted = 0;
      CREATE INDEX visits_by_time ON records (at_ms, id, worker, region, type, deleted)
        WHERE type = 4 AND deleted = 0;
      CREATE INDEX visits_by_worker ON records (worker, at_ms, id) WHERE type = 4 AND deleted = 0;
      -- A child's live visits, latest last: finds a child's latest visit again in one seek.
      CREATE INDEX visits_by_child ON records (child_id, at_ms, id) WHERE type = 4 AND deleted = 0;
      -- Each child's latest live visit (greatest visited_at, then id): what overdue and caseload
      -- read, one row a child, so that their cost grows with the children and not the visits.
      -- Kept by the two triggers below, in the transaction that saves the visit, whichever way
      -- it changes: a new visit, an edit (its time, its child), a delete, a restore, a move with
      -- its child to another region (the row is by child, not region). When the latest visit is
      -- deleted, leaves its child or moves back in time, the child's latest is found again from
      -- visits_by_child. A visit without a time (never valid) is not a candidate.
      CREATE TABLE latest_visit (
        child_id TEXT PRIMARY KEY,
        visit_id TEXT NOT NULL,
        at_ms    INTEGER NOT NULL,
        at_text  TEXT,
        due      TEXT
      ) WITHOUT ROWID;
      CREATE TRIGGER latest_visit_on_insert AFTER INSERT ON records
        WHEN NEW.type = 4 AND NEW.deleted = 0 AND NEW.child_id IS NOT NULL
             AND NEW.at_ms IS NOT NULL
      BEGIN
        INSERT INTO latest_visit (child_id, visit_id, at_ms, at_text, due)
          VALUES (NEW.child_id, NEW.id, NEW.at_ms, NEW.at_text, NEW.due)
          ON CONFLICT (child_id) DO UPDATE SET visit_id = excluded.visit_id,
            at_ms = excluded.at_ms, at_text = excluded.at_text, due = excluded.due
          WHERE (excluded.at_ms, excluded.visit_id) >= (latest_visit.at_ms, latest_visit.visit_id);
      END;
      -- SaveRecord's update of an existing record runs this one (replaced by step 3).
      CREATE TRIGGER latest_visit_on_update AFTER UPDATE ON records WHEN NEW.type = 4
      BEGIN
        -- The old version was its child's latest and may no longer be: forget it...
        DELETE FROM latest_visit WHERE child_id = OLD.child_id AND visit_id = OLD.id
          AND NOT (NEW.deleted = 0 AND NEW.child_id IS OLD.child_id AND NEW.at_ms IS NOT NULL
                   AND NEW.at_ms >= OLD.at_ms);
        -- ...and find that child's latest again (the new version included, if still its).
        INSERT INTO latest_visit (child_id, visit_id, at_ms, at_text, due)
          SELECT child_id, id, at_ms, at_text, due FROM records INDEXED BY visits_by_child
          WHERE type = 4 AND deleted = 0 AND child_id = OLD.child_id AND at_ms IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM latest_visit WHERE child_id = OLD.child_id)
          ORDER BY at_ms DESC, id DESC LIMIT 1;
        -- The new version, live, is its child's latest when no other is later.
        INSERT INTO latest_visit (child_id, visit_id, at_ms, at_text, due)
          SELECT NEW.child_id, NEW.id, NEW.at_ms, NEW.at_text, NEW.due
          WHERE NEW.deleted = 0 AND NEW.child_id IS NOT NULL AND NEW.at_ms IS NOT NULL
          ON CONFLICT (child_id) DO UPDATE SET visit_id = excluded.visit_id,
            at_ms = excluded.at_ms, at_text = excluded.at_text, due = excluded.due
          WHERE (excluded.at_ms, excluded.visit_id) >= (latest_visit.at_ms, latest_visit.visit_id);
      END;
      -- Children and placement changes of a region, with the columns caseload and outcomes read.
      CREATE INDEX children_by_region ON records
        (region, id, deleted, worker, programme, status, placement, type) WHERE type = 1;
      CREATE INDEX placements_by_region ON records
        (region, id, deleted, child_id, at_ms, from_placement, placement, type) WHERE type = 5;
      -- A record leaving a region (its case moved): devices of that region get an eviction.
      CREATE TABLE scope_exits (
        old_region TEXT NOT NULL,
        server_seq INTEGER NOT NULL,
        type       INTEGER NOT NULL,
        id         TEXT NOT NULL,
        PRIMARY KEY (old_region, server_seq, type, id)
      ) WITHOUT ROWID;
      CREATE TABLE conflicts (
        id            INTEGER PRIMARY KEY,
        type          INTEGER NOT NULL,
        record_id     TEXT NOT NULL,
        field         INTEGER NOT NULL,
        losing_hlc    INTEGER NOT NULL,
        losing_device TEXT NOT NULL,
        kind          INTEGER NOT NULL,
        body          BLOB NOT NULL,       -- v1::Conflict
        region        TEXT NOT NULL,
        device_id     TEXT NOT NULL,
        detected_ms   INTEGER NOT NULL,
        resolved_ms   INTEGER,
        resolved_by   TEXT,
        resolution    TEXT,
        UNIQUE (type, record_id, field, losing_hlc, losing_device)
      );
      CREATE INDEX conflicts_open ON conflicts (region, resolved_ms);
      -- Who read or changed which child's record, when, from where.
      CREATE TABLE audit (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        username    TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        remote      TEXT NOT NULL,
        action      TEXT NOT NULL,
        child_id    TEXT NOT NULL,
        record_type INTEGER NOT NULL,
        record_id   TEXT NOT NULL
      );
      CREATE INDEX audit_by_child ON audit (child_id, at_ms);
      -- Rejected mutations, told again when a device resends them after a lost reply.
      CREATE TABLE rejections (
        device_id TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        rejection BLOB NOT NULL,      -- v1::Rejection
        PRIMARY KEY (device_id, seq)
      ) WITHOUT ROWID;
    )sql",
    // 2: when each field of a record last changed (common/field_seqs.h), for partial changes.
    // NULL (every row before this step, and a record whose fields all changed at its server_seq)
    // counts every field as changed at the row's server_seq.
    R"sql(
      ALTER TABLE records ADD COLUMN field_seqs BLOB;
    )sql",
    // 3: latest_visit_on_update ran for every update of a visit; most (a note, a due date: the
    // narrow UPDATE of SaveRecord) change neither which visit is its child's latest nor that
    // visit's time, and its three statements cost about a third of such an update. It now runs
    // only when a column that can change the latest is set; a second trigger keeps the copied
    // at_text and due of the visit that is its child's latest. Both run on SaveRecord's full
    // UPDATE, which sets every column, in either order: each leaves what the other needs.
    R"sql(
      DROP TRIGGER latest_visit_on_update;
      CREATE TRIGGER latest_visit_on_update
        AFTER UPDATE OF type, id, deleted, child_id, at_ms ON records WHEN NEW.type = 4
      BEGIN
        -- The old version was its child's latest and may no longer be: forget it...
        DELETE FROM latest_visit WHERE child_id = OLD.child_id AND visit_id = OLD.id
          AND NOT (NEW.deleted = 0 AND NEW.child_id IS OLD.child_id AND NEW.at_ms IS NOT NULL
                   AND NEW.at_ms >= OLD.at_ms);
        -- ...and find that child's latest again (the new version included, if still its).
        INSERT INTO latest_visit (child_id, visit_id, at_ms, at_text, due)
          SELECT child_id, id, at_ms, at_text, due FROM records INDEXED BY visits_by_child
          WHERE type = 4 AND deleted = 0 AND child_id = OLD.child_id AND at_ms IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM latest_visit WHERE child_id = OLD.child_id)
          ORDER BY at_ms DESC, id DESC LIMIT 1;
        -- The new version, live, is its child's latest when no other is later.
        INSERT INTO latest_visit (child_id, visit_id, at_ms, at_text, due)
          SELECT NEW.child_id, NEW.id, NEW.at_ms, NEW.at_text, NEW.due
          WHERE NEW.deleted = 0 AND NEW.child_id IS NOT NULL AND NEW.at_ms IS NOT NULL
          ON CONFLICT (child_id) DO UPDATE SET visit_id = excluded.visit_id,
            at_ms = excluded.at_ms, at_text = excluded.at_text, due = excluded.due
          WHERE (excluded.at_ms, excluded.visit_id) >= (latest_visit.at_ms, latest_visit.visit_id);
      END;
      -- The copied columns of a child's latest visit follow its edits.
      CREATE TRIGGER latest_visit_copies AFTER UPDATE OF at_text, due ON records WHEN NEW.type = 4
      BEGIN
        UPDATE latest_visit SET at_text = NEW.at_text, due = NEW.due
          WHERE child_id = NEW.child_id AND visit_id = NEW.id;
      END;
    )sql",
};
static_assert(std::size(kMigrations) == kCentralSchemaVersion);

UserRecord ReadUser(const sql::Statement& s) {
  UserRecord u;
  u.username = s.ColumnText(0);
  u.password_hash = s.ColumnText(1);
  u.role = ParseRole(s.ColumnText(2)).value_or(Role::kFieldWorker);
  u.region = s.ColumnText(3);
  u.disabled = s.ColumnInt(4) != 0;
  u.created_ms = s.ColumnInt(5);
  u.failed_logins = static_cast<int>(s.ColumnInt(6));
  u.failure_window_start_ms = s.ColumnInt(7);
  return u;
}
constexpr char kUserColumns[] =
    "username, password_hash, role, region, disabled, created_ms, failed_logins, "
    "failure_window_start_ms";

DeviceRecord ReadDevice(const sql::Statement& s) {
  DeviceRecord d;
  d.device_id = s.ColumnText(0);
  d.username = s.ColumnText(1);
  d.token_hash = s.ColumnText(2);
  d.token_expires_ms = s.ColumnInt(3);
  d.revoked_ms = s.ColumnInt(4);
  d.created_ms = s.ColumnInt(5);
  d.last_seen_ms = s.ColumnInt(6);
  d.last_seq = static_cast<uint64_t>(s.ColumnInt(7));
  return d;
}
constexpr char kDeviceColumns[] =
    "device_id, username, COALESCE(token_hash, ''), token_expires_ms, revoked_ms, created_ms, "
    "last_seen_ms, last_seq";

// Runs `s` (bound) and returns every row mapped by `read`.
template <typename T, typename Read>
Result<std::vector<T>> Rows(sql::Statement* s, Read read) {
  std::vector<T> out;
  for (;;) {
    Result<bool> row = s->Step();
    if (!row) {
      s->Reset();
      return row.error();
    }
    if (!*row) break;
    out.push_back(read(*s));
  }
  s->Reset();
  return out;
}

template <typename T, typename Read>
Result<std::optional<T>> FirstRow(sql::Statement* s, Read read) {
  Result<std::vector<T>> rows = Rows<T>(s, read);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

Result<int64_t> MetaValue(sql::Database& db, const char* key) {
  Result<sql::Statement*> s = db.Cached("SELECT value FROM meta WHERE key = ?1");
  if (!s) return s.error();
  (*s)->BindText(1, key);
  Result<std::vector<int64_t>> rows =
      Rows<int64_t>(*s, [](const sql::Statement& r) { return r.ColumnInt(0); });
  if (!rows) return rows.error();
  if (rows->empty()) return Error::DataLoss(std::string("the store has no meta value ") + key);
  return rows->front();
}

Status SetMetaValue(sql::Database& db, const char* key, int64_t value) {
  Result<sql::Statement*> s = db.Cached("UPDATE meta SET value = ?2 WHERE key = ?1");
  if (!s) return s.error();
  (*s)->BindText(1, key).BindInt(2, value);
  return (*s)->Run();
}

// The columns of `records` copied out of a record's state (all but type, id, state and
// server_seq), in the order of SaveRecord's parameters ?5 to ?17 (region, deleted, child_id,
// worker, at_ms, programme, status, placement, from_placement, family_id, at_text, due, kind):
// first the ones some index holds, then the others.
// Empty text is NULL, as queries expect.
struct CopiedColumns {
  using Value = std::variant<std::monostate, int64_t, std::string>;
  static constexpr size_t kIndexed = 9;  // region .. from_placement
  std::array<Value, 13> values;

  bool SameIndexedValues(const CopiedColumns& other) const {
    return std::equal(values.begin(), values.begin() + kIndexed, other.values.begin());
  }
};
CopiedColumns CopiedColumnsOf(const v1::RecordState& state, const std::string& region) {
  const RecordRefs r = RefsOf(state.record());
  auto text = [](const std::string& t) -> CopiedColumns::Value {
    if (t.empty()) return std::monostate{};
    return t;
  };
  CopiedColumns c;
  c.values = {text(region),
              int64_t{IsDeleted(state.record()) ? 1 : 0},
              text(r.child_id),
              text(r.worker),
              r.at_ms ? CopiedColumns::Value(*r.at_ms) : CopiedColumns::Value(std::monostate{}),
              text(r.programme),
              int64_t{r.case_status},
              int64_t{r.placement},
              int64_t{r.from_placement},
              text(r.family_id),
              text(r.at_text),
              text(r.due),
              int64_t{r.visit_kind}};
  return c;
}

void BindValue(sql::Statement& s, int index, const CopiedColumns::Value& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    s.BindInt(index, *i);
  } else if (const std::string* t = std::get_if<std::string>(&v)) {
    s.BindText(index, *t);
  } else {
    s.BindNull(index);
  }
}

// The columns a transaction reads a stored record from, in ReadStoredRecord's order.
constexpr char kStoredRecordColumns[] = "state, region, server_seq, field_seqs";

// A row of kStoredRecordColumns, or of its first three (the queries', whose records' field_seqs
// stay unset). *ok is false when the state or the field seqs do not decode.
StoredRecord ReadStoredRecord(const sql::Statement& s, bool* ok) {
  StoredRecord r;
  const std::string_view state = s.ColumnBytes(0);
  *ok = r.state.ParseFromArray(state.data(), static_cast<int>(state.size()));
  r.region = s.ColumnText(1);
  r.server_seq = static_cast<uint64_t>(s.ColumnInt(2));
  if (s.ColumnCount() > 3) {
    std::optional<FieldSeqs> seqs = DecodeFieldSeqs(s.ColumnBytes(3), r.server_seq);
    if (seqs) r.field_seqs = std::move(*seqs);
    *ok = *ok && seqs.has_value();
  }
  return r;
}

Status InsertAudit(sql::Database& db, const AuditRecord& a) {
  Result<sql::Statement*> s = db.Cached(
      "INSERT INTO audit (at_ms, username, device_id, remote, action, child_id, record_type, "
      "record_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!s) return s.error();
  (*s)->BindInt(1, a.at_ms)
      .BindText(2, a.username)
      .BindText(3, a.device_id)
      .BindText(4, a.remote)
      .BindText(5, a.action)
      .BindText(6, a.child_id)
      .BindInt(7, a.record_type)
      .BindText(8, a.record_id);
  return (*s)->Run();
}

constexpr char kConflictColumns[] =
    "id, type, body, region, device_id, detected_ms, COALESCE(resolved_ms, 0), "
    "COALESCE(resolved_by, ''), COALESCE(resolution, '')";

StoredConflict ReadConflict(const sql::Statement& r) {
  StoredConflict c;
  c.id = r.ColumnInt(0);
  c.type = static_cast<v1::RecordType>(r.ColumnInt(1));
  c.conflict.ParseFromString(r.ColumnBlob(2));
  c.region = r.ColumnText(3);
  c.device_id = r.ColumnText(4);
  c.detected_ms = r.ColumnInt(5);
  c.resolved_ms = r.ColumnInt(6);
  c.resolved_by = r.ColumnText(7);
  c.resolution = r.ColumnText(8);
  return c;
}

// A (state, region, server_seq) row; a state that does not decode leaves the record's kind unset,
// which Decoded turns into DataLoss.
StoredRecord ReadStoredRow(const sql::Statement& s) {
  bool ok = true;
  StoredRecord r = ReadStoredRecord(s, &ok);
  if (!ok) r.state.Clear();
  return r;
}

bool Damaged(const StoredRecord& r) { return TypeOf(r.state.record()) == v1::RECORD_TYPE_UNSPECIFIED; }

Result<std::vector<StoredRecord>> Decoded(Result<std::vector<StoredRecord>> rows) {
  if (rows && std::any_of(rows->begin(), rows->end(), Damaged)) {
    return Error::DataLoss("a record in the central store is damaged");
  }
  return rows;
}

Result<std::optional<StoredRecord>> Decoded(Result<std::optional<StoredRecord>> row) {
  if (row && row->has_value() && Damaged(**row)) {
    return Error::DataLoss("a record in the central store is damaged");
  }
  return row;
}

class SqliteTransaction final : public StoreTransaction {
 public:
  SqliteTransaction(sql::Database* db, sql::Transaction txn) : db_(db), txn_(std::move(txn)) {}
  // A transaction nested in a group: kOpenSavepoint is open on `db`.
  explicit SqliteTransaction(sql::Database* db) : db_(db) {}
  ~SqliteTransaction() override {
    // Undo a nested transaction's own work; a top-level one rolls back in txn_'s destructor.
    if (!txn_ && !released_ && db_->in_transaction()) {
      (void)db_->Exec(std::string("ROLLBACK TO ") + kSavepoint + "; RELEASE " + kSavepoint);
    }
  }

  static constexpr char kSavepoint[] = "request";
  static constexpr char kOpenSavepoint[] = "SAVEPOINT request";
  static constexpr char kReleaseSavepoint[] = "RELEASE request";

  Result<std::optional<DeviceRecord>> FindDevice(const std::string& device_id) override {
    Result<sql::Statement*> s = db_->Cached(std::string("SELECT ") + kDeviceColumns +
                                            " FROM devices WHERE device_id = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, device_id);
    return FirstRow<DeviceRecord>(*s, ReadDevice);
  }

  Status SetDeviceLastSeq(const std::string& device_id, uint64_t seq, int64_t now_ms) override {
    Result<sql::Statement*> s = db_->Cached(
        "UPDATE devices SET last_seq = ?2, last_seen_ms = ?3 WHERE device_id = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, device_id).BindInt(2, static_cast<int64_t>(seq)).BindInt(3, now_ms);
    return (*s)->Run();
  }

  Result<std::optional<StoredRecord>> LoadRecord(v1::RecordType type,
                                                 const std::string& id) override {
    Result<sql::Statement*> s =
        db_->Cached(std::string("SELECT ") + kStoredRecordColumns +
                    " FROM records WHERE type = ?1 AND id = ?2");
    if (!s) return s.error();
    (*s)->BindInt(1, type).BindText(2, id);
    bool ok = true;
    Result<std::optional<StoredRecord>> r = FirstRow<StoredRecord>(
        *s, [&](const sql::Statement& row) { return ReadStoredRecord(row, &ok); });
    if (r && !ok) return Error::DataLoss("record " + id + " is damaged in the central store");
    return r;
  }

  Result<std::optional<std::string>> LoadRegion(v1::RecordType type,
                                                const std::string& id) override {
    Result<sql::Statement*> s =
        db_->Cached("SELECT region FROM records WHERE type = ?1 AND id = ?2");
    if (!s) return s.error();
    (*s)->BindInt(1, type).BindText(2, id);
    return FirstRow<std::string>(*s, [](const sql::Statement& row) { return row.ColumnText(0); });
  }

  using StoreTransaction::SaveRecord;

  Result<uint64_t> SaveRecord(const v1::RecordState& state, const std::string& region,
                              const StoredRecord* previous) override {
    Result<uint64_t> last = LastServerSeq();
    if (!last) return last.error();
    const auto seq = static_cast<int64_t>(*last + 1);
    last_server_seq_ = seq;  // written to meta at Commit
    const int type = TypeOf(state.record());
    const std::string& id = RecordId(state.record());
    const CopiedColumns now = CopiedColumnsOf(state, region);
    // The row's copied columns are always CopiedColumnsOf its state and region: those of the
    // previous version are computed rather than read.
    std::optional<CopiedColumns> before;
    if (previous != nullptr) before = CopiedColumnsOf(previous->state, previous->region);
    // Every field counts as changed now for a new record and for one entering another region
    // (a device there never held it); otherwise only the fields whose stamp this save changes.
    const auto at = static_cast<uint64_t>(seq);
    const FieldSeqs seqs = previous != nullptr && previous->region == region
                               ? NextFieldSeqs(previous->state, previous->field_seqs, state, at)
                               : AllAt(at);
    const std::string seq_bytes = EncodeFieldSeqs(seqs, at);

    // SQLite rewrites every index holding a column an UPDATE sets, changed or not: an edit that
    // leaves the indexed columns as they were (notes, the next visit's date: most edits) sets only
    // the others, and so rewrites two indexes (server_seq's) instead of ten.
    const bool narrow = before && before->SameIndexedValues(now);
    Result<sql::Statement*> s = db_->Cached(
        !before ? "INSERT INTO records (type, id, state, server_seq, region, deleted, child_id, "
                  "worker, at_ms, programme, status, placement, from_placement, family_id, "
                  "at_text, due, kind, field_seqs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                  "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        : narrow ? "UPDATE records SET state = ?3, server_seq = ?4, family_id = ?14, "
                   "at_text = ?15, due = ?16, kind = ?17, field_seqs = ?18 "
                   "WHERE type = ?1 AND id = ?2"
                 : "UPDATE records SET state = ?3, server_seq = ?4, region = ?5, deleted = ?6, "
                   "child_id = ?7, worker = ?8, at_ms = ?9, programme = ?10, status = ?11, "
                   "placement = ?12, from_placement = ?13, family_id = ?14, at_text = ?15, "
                   "due = ?16, kind = ?17, field_seqs = ?18 WHERE type = ?1 AND id = ?2");
    if (!s) return s.error();
    (*s)->BindInt(1, type).BindText(2, id).BindBlob(3, state.SerializeAsString()).BindInt(4, seq);
    if (seq_bytes.empty()) {
      (*s)->BindNull(18);
    } else {
      (*s)->BindBlob(18, seq_bytes);
    }
    for (size_t i = 0; i < now.values.size(); ++i) {
      if (narrow && i < CopiedColumns::kIndexed) continue;  // not in the statement
      BindValue(**s, static_cast<int>(5 + i), now.values[i]);
    }
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    return static_cast<uint64_t>(seq);
  }

  Status AddScopeExit(uint64_t server_seq, v1::RecordType type, const std::string& id,
                      const std::string& old_region) override {
    Result<sql::Statement*> s = db_->Cached(
        "INSERT OR IGNORE INTO scope_exits (old_region, server_seq, type, id) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!s) return s.error();
    (*s)->BindText(1, old_region)
        .BindInt(2, static_cast<int64_t>(server_seq))
        .BindInt(3, type)
        .BindText(4, id);
    return (*s)->Run();
  }

  Result<std::vector<StoredRecord>> LoadChildDependents(const std::string& child_id) override {
    Result<sql::Statement*> s = db_->Cached(
        std::string("SELECT ") + kStoredRecordColumns +
        " FROM records WHERE child_id = ?1 ORDER BY type, id");
    if (!s) return s.error();
    (*s)->BindText(1, child_id);
    bool ok = true;
    Result<std::vector<StoredRecord>> rows = Rows<StoredRecord>(
        *s, [&](const sql::Statement& row) { return ReadStoredRecord(row, &ok); });
    if (rows && !ok) return Error::DataLoss("a record of child " + child_id + " is damaged");
    return rows;
  }

  Result<bool> AddConflict(const StoredConflict& c) override {
    Result<sql::Statement*> s = db_->Cached(
        "INSERT OR IGNORE INTO conflicts (type, record_id, field, losing_hlc, losing_device, kind, "
        "body, region, device_id, detected_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!s) return s.error();
    (*s)->BindInt(1, c.type)
        .BindText(2, c.conflict.record_id())
        .BindInt(3, c.conflict.field())
        .BindInt(4, static_cast<int64_t>(c.conflict.losing_stamp().hlc()))
        .BindText(5, c.conflict.losing_stamp().device())
        .BindInt(6, c.conflict.kind())
        .BindBlob(7, c.conflict.SerializeAsString())
        .BindText(8, c.region)
        .BindText(9, c.device_id)
        .BindInt(10, c.detected_ms);
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    return db_->Changes() > 0;
  }

  Result<std::vector<FeedEntry>> Feed(uint64_t cursor, const Scope& scope,
                                      size_t limit) override {
    Result<sql::Statement*> s =
        scope.all_regions
            ? db_->Cached(
                  "SELECT server_seq, state, 0, '', field_seqs FROM records "
                  "WHERE server_seq > ?2 ORDER BY server_seq LIMIT ?3")
            : db_->Cached(
                  "SELECT server_seq, state, 0, '', field_seqs FROM records "
                  "  WHERE region = ?1 AND server_seq > ?2 "
                  "UNION ALL "
                  "SELECT e.server_seq, NULL, e.type, e.id, NULL FROM scope_exits e "
                  "  WHERE e.old_region = ?1 AND e.server_seq > ?2 AND NOT EXISTS ("
                  "    SELECT 1 FROM records r "
                  "    WHERE r.type = e.type AND r.id = e.id AND r.region = e.old_region) "
                  "ORDER BY 1 LIMIT ?3");
    if (!s) return s.error();
    (*s)->BindText(1, scope.region)
        .BindInt(2, static_cast<int64_t>(cursor))
        .BindInt(3, static_cast<int64_t>(limit));
    bool ok = true;
    Result<std::vector<FeedEntry>> rows =
        Rows<FeedEntry>(*s, [&](const sql::Statement& row) {
          FeedEntry e;
          e.server_seq = static_cast<uint64_t>(row.ColumnInt(0));
          if (!row.ColumnIsNull(1)) {
            e.state = row.ColumnBlob(1);
            std::optional<FieldSeqs> seqs = DecodeFieldSeqs(row.ColumnBytes(4), e.server_seq);
            ok = ok && seqs.has_value();
            if (seqs) e.field_seqs = std::move(*seqs);
          } else {
            e.evicted_type = static_cast<v1::RecordType>(row.ColumnInt(2));
            e.evicted_id = row.ColumnText(3);
          }
          return e;
        });
    if (rows && !ok) return Error::DataLoss("the field seqs of a record in the feed are damaged");
    return rows;
  }

  Result<uint64_t> LastServerSeq() override {
    if (!last_server_seq_) {
      Result<int64_t> v = MetaValue(*db_, "last_server_seq");
      if (!v) return v.error();
      last_server_seq_ = *v;
      saved_server_seq_ = *v;
    }
    return static_cast<uint64_t>(*last_server_seq_);
  }

  Result<HlcValue> LoadClock() override {
    Result<int64_t> v = MetaValue(*db_, "clock");
    if (!v) return v.error();
    return static_cast<HlcValue>(*v);
  }

  Status SaveClock(HlcValue value) override {
    return SetMetaValue(*db_, "clock", static_cast<int64_t>(value));
  }

  Status AddAudit(const AuditRecord& entry) override { return InsertAudit(*db_, entry); }

  Status SaveRejection(const std::string& device_id, const v1::Rejection& rejection) override {
    Result<sql::Statement*> s = db_->Cached(
        "INSERT OR REPLACE INTO rejections (device_id, seq, rejection) VALUES (?1, ?2, ?3)");
    if (!s) return s.error();
    (*s)->BindText(1, device_id)
        .BindInt(2, static_cast<int64_t>(rejection.seq()))
        .BindBlob(3, rejection.SerializeAsString());
    return (*s)->Run();
  }

  Result<std::optional<v1::Rejection>> FindRejection(const std::string& device_id,
                                                     uint64_t seq) override {
    Result<sql::Statement*> s =
        db_->Cached("SELECT rejection FROM rejections WHERE device_id = ?1 AND seq = ?2");
    if (!s) return s.error();
    (*s)->BindText(1, device_id).BindInt(2, static_cast<int64_t>(seq));
    return FirstRow<v1::Rejection>(*s, [](const sql::Statement& r) {
      v1::Rejection out;
      out.ParseFromString(r.ColumnBlob(0));
      return out;
    });
  }

  Status PruneRejections(const std::string& device_id, uint64_t seq) override {
    Result<sql::Statement*> s =
        db_->Cached("DELETE FROM rejections WHERE device_id = ?1 AND seq < ?2");
    if (!s) return s.error();
    (*s)->BindText(1, device_id).BindInt(2, static_cast<int64_t>(seq));
    return (*s)->Run();
  }

  Status MarkConflictResolved(int64_t id, const std::string& by, const std::string& resolution,
                              int64_t now_ms) override {
    Result<sql::Statement*> s = db_->Cached(
        "UPDATE conflicts SET resolved_ms = ?2, resolved_by = ?3, resolution = ?4 "
        "WHERE id = ?1 AND resolved_ms IS NULL");
    if (!s) return s.error();
    (*s)->BindInt(1, id).BindInt(2, now_ms).BindText(3, by).BindText(4, resolution);
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    if (db_->Changes() == 0) return Error::NotFound("no open conflict " + std::to_string(id));
    return Status::Ok();
  }

  Status Commit() override {
    if (last_server_seq_ != saved_server_seq_) {
      VINCULO_RETURN_IF_ERROR(SetMetaValue(*db_, "last_server_seq", *last_server_seq_));
      saved_server_seq_ = last_server_seq_;
    }
    if (txn_) return txn_->Commit();
    if (!db_->in_transaction()) {
      return Error::Unavailable("the group's transaction was rolled back: nothing was kept");
    }
    VINCULO_RETURN_IF_ERROR(db_->RunCached(kReleaseSavepoint));
    released_ = true;
    return Status::Ok();
  }

 private:
  sql::Database* db_;
  std::optional<sql::Transaction> txn_;  // unset when nested in a group
  bool released_ = false;                // a nested transaction's Commit ran
  // meta's last_server_seq as this transaction sees it, read once; SaveRecord advances it and
  // Commit writes it back (saved_: the value meta holds), one write per transaction.
  std::optional<int64_t> last_server_seq_;
  std::optional<int64_t> saved_server_seq_;
};

class SqliteCentralStore final : public CentralStore {
 public:
  explicit SqliteCentralStore(sql::Database db) : db_(std::move(db)) {}

  // Checkpoints from now on happen off the thread that writes (common/wal_checkpointer.h).
  Status CheckpointInBackground(const std::string& path) {
    Result<std::unique_ptr<sql::WalCheckpointer>> c = sql::WalCheckpointer::Start(db_, path);
    if (!c) return c.error();
    checkpointer_ = std::move(c).value();
    return Status::Ok();
  }

  class Group final : public StoreGroup {
   public:
    Group(SqliteCentralStore* store, sql::Transaction txn) : store_(store), txn_(std::move(txn)) {
      store_->group_open_ = true;
    }
    ~Group() override { store_->group_open_ = false; }  // txn_ rolls back unless committed
    Status Commit() override {
      if (!store_->db_.in_transaction()) {
        return Error::Unavailable("the group's transaction was rolled back: nothing was kept");
      }
      return txn_.Commit();
    }

   private:
    SqliteCentralStore* store_;
    sql::Transaction txn_;
  };

  Result<std::unique_ptr<StoreTransaction>> Begin() override {
    if (group_open_) {
      // SQLite rolls a whole transaction back on some errors (a full disk, an I/O error): then
      // there is no group left to nest in, and the request must fail rather than commit alone.
      if (!db_.in_transaction()) {
        return Error::Unavailable("the group's transaction was rolled back: nothing was kept");
      }
      VINCULO_RETURN_IF_ERROR(db_.RunCached(SqliteTransaction::kOpenSavepoint));
      return std::unique_ptr<StoreTransaction>(new SqliteTransaction(&db_));
    }
    Result<sql::Transaction> txn = sql::Transaction::Begin(db_);
    if (!txn) return txn.error();
    return std::unique_ptr<StoreTransaction>(
        new SqliteTransaction(&db_, std::move(txn).value()));
  }

  // One BEGIN IMMEDIATE ... COMMIT around the group; each Begin() inside it is a savepoint.
  Result<std::unique_ptr<StoreGroup>> BeginGroup() override {
    if (group_open_) return Error::FailedPrecondition("a group is already open");
    Result<sql::Transaction> txn = sql::Transaction::Begin(db_);
    if (!txn) return txn.error();
    return std::unique_ptr<StoreGroup>(new Group(this, std::move(txn).value()));
  }

  Status AddUser(const UserRecord& user) override {
    Result<sql::Statement*> s = db_.Cached(
        "INSERT INTO users (username, password_hash, role, region, disabled, created_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!s) return s.error();
    (*s)->BindText(1, user.username)
        .BindText(2, user.password_hash)
        .BindText(3, RoleName(user.role))
        .BindText(4, user.region)
        .BindInt(5, user.disabled ? 1 : 0)
        .BindInt(6, user.created_ms);
    Status st = (*s)->Run();
    (*s)->Reset();
    if (!st.ok() && st.error().code == ErrorCode::kAlreadyExists) {
      return Error::AlreadyExists("user " + user.username + " already exists");
    }
    return st;
  }

  Result<std::optional<UserRecord>> FindUser(const std::string& username) override {
    Result<sql::Statement*> s =
        db_.Cached(std::string("SELECT ") + kUserColumns + " FROM users WHERE username = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, username);
    return FirstRow<UserRecord>(*s, ReadUser);
  }

  Result<std::vector<UserRecord>> ListUsers() override {
    Result<sql::Statement*> s =
        db_.Cached(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY username");
    if (!s) return s.error();
    return Rows<UserRecord>(*s, ReadUser);
  }

  Status SetUserDisabled(const std::string& username, bool disabled) override {
    Result<sql::Statement*> s = db_.Cached("UPDATE users SET disabled = ?2 WHERE username = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, username).BindInt(2, disabled ? 1 : 0);
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    if (db_.Changes() == 0) return Error::NotFound("no user " + username);
    return Status::Ok();
  }

  Status SetLoginFailures(const std::string& username, int failures,
                          int64_t window_start_ms) override {
    Result<sql::Statement*> s = db_.Cached(
        "UPDATE users SET failed_logins = ?2, failure_window_start_ms = ?3 WHERE username = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, username).BindInt(2, failures).BindInt(3, window_start_ms);
    return (*s)->Run();
  }

  Result<uint64_t> IssueDeviceToken(const std::string& device_id, const std::string& username,
                                    const std::string& token_hash, int64_t expires_ms,
                                    int64_t now_ms, const std::string& store_id) override {
    Result<sql::Transaction> txn = sql::Transaction::Begin(db_);
    if (!txn) return txn.error();
    Result<sql::Statement*> find =
        db_.Cached(std::string("SELECT ") + kDeviceColumns +
                   ", store_id, store_base_seq FROM devices WHERE device_id = ?1");
    if (!find) return find.error();
    (*find)->BindText(1, device_id);
    std::string previous_store;
    uint64_t base = 0;
    Result<std::optional<DeviceRecord>> existing =
        FirstRow<DeviceRecord>(*find, [&](const sql::Statement& r) {
          previous_store = r.ColumnText(8);
          base = static_cast<uint64_t>(r.ColumnInt(9));
          return ReadDevice(r);
        });
    if (!existing) return existing.error();
    if (existing->has_value()) {
      if ((*existing)->username != username) {
        return Error::PermissionDenied("device " + device_id + " is enrolled to another user");
      }
      if ((*existing)->revoked_ms != 0) {
        return Error::PermissionDenied("device " + device_id + " was revoked");
      }
      // Another store for this device: its seqs start after everything the device sent so far.
      if (!store_id.empty() && store_id != previous_store && !previous_store.empty()) {
        base = (*existing)->last_seq;
      }
    }
    Result<sql::Statement*> s = db_.Cached(
        "INSERT INTO devices (device_id, username, token_hash, token_expires_ms, created_ms, "
        "last_seen_ms, store_id, store_base_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) "
        "ON CONFLICT (device_id) DO UPDATE SET token_hash = excluded.token_hash, "
        "token_expires_ms = excluded.token_expires_ms, last_seen_ms = excluded.last_seen_ms, "
        "store_id = CASE WHEN excluded.store_id = '' THEN store_id ELSE excluded.store_id END, "
        "store_base_seq = excluded.store_base_seq");
    if (!s) return s.error();
    (*s)->BindText(1, device_id)
        .BindText(2, username)
        .BindText(3, token_hash)
        .BindInt(4, expires_ms)
        .BindInt(5, now_ms)
        .BindText(6, store_id)
        .BindInt(7, static_cast<int64_t>(base));
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    VINCULO_RETURN_IF_ERROR(txn->Commit());
    return base;
  }

  Result<std::optional<DeviceRecord>> FindDeviceByTokenHash(const std::string& hash) override {
    Result<sql::Statement*> s = db_.Cached(std::string("SELECT ") + kDeviceColumns +
                                           " FROM devices WHERE token_hash = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, hash);
    return FirstRow<DeviceRecord>(*s, ReadDevice);
  }

  Result<std::vector<DeviceRecord>> ListDevices() override {
    Result<sql::Statement*> s = db_.Cached(std::string("SELECT ") + kDeviceColumns +
                                           " FROM devices ORDER BY username, device_id");
    if (!s) return s.error();
    return Rows<DeviceRecord>(*s, ReadDevice);
  }

  Status RevokeDevice(const std::string& device_id, int64_t now_ms) override {
    Result<sql::Statement*> s = db_.Cached(
        "UPDATE devices SET revoked_ms = ?2 WHERE device_id = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, device_id).BindInt(2, now_ms);
    VINCULO_RETURN_IF_ERROR((*s)->Run());
    if (db_.Changes() == 0) return Error::NotFound("no device " + device_id);
    return Status::Ok();
  }

  Status ClearDeviceToken(const std::string& device_id) override {
    Result<sql::Statement*> s = db_.Cached(
        "UPDATE devices SET token_hash = NULL, token_expires_ms = 0 WHERE device_id = ?1");
    if (!s) return s.error();
    (*s)->BindText(1, device_id);
    return (*s)->Run();
  }

  Result<uint64_t> CountRecords(v1::RecordType type) override {
    Result<sql::Statement*> s = db_.Cached("SELECT count(*) FROM records WHERE type = ?1");
    if (!s) return s.error();
    (*s)->BindInt(1, type);
    Result<std::vector<uint64_t>> rows = Rows<uint64_t>(
        *s, [](const sql::Statement& r) { return static_cast<uint64_t>(r.ColumnInt(0)); });
    if (!rows) return rows.error();
    return rows->front();
  }

  Result<std::vector<StoredConflict>> ListConflicts(const Scope& scope, bool open_only) override {
    Result<sql::Statement*> s = db_.Cached(
        std::string("SELECT ") + kConflictColumns +
        " FROM conflicts WHERE (?1 OR region = ?2) AND (NOT ?3 OR resolved_ms IS NULL) "
        "ORDER BY id");
    if (!s) return s.error();
    (*s)->BindInt(1, scope.all_regions ? 1 : 0)
        .BindText(2, scope.region)
        .BindInt(3, open_only ? 1 : 0);
    return Rows<StoredConflict>(*s, ReadConflict);
  }

  Result<std::optional<StoredConflict>> FindConflict(int64_t id) override {
    Result<sql::Statement*> s =
        db_.Cached(std::string("SELECT ") + kConflictColumns + " FROM conflicts WHERE id = ?1");
    if (!s) return s.error();
    (*s)->BindInt(1, id);
    return FirstRow<StoredConflict>(*s, ReadConflict);
  }

  Status AddAudit(const AuditRecord& entry) override { return InsertAudit(db_, entry); }

  Result<std::vector<AuditRecord>> ListAudit(int64_t after_id, size_t limit) override {
    Result<sql::Statement*> s = db_.Cached(
        "SELECT id, at_ms, username, device_id, remote, action, child_id, record_type, record_id "
        "FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!s) return s.error();
    (*s)->BindInt(1, after_id).BindInt(2, static_cast<int64_t>(limit));
    return Rows<AuditRecord>(*s, [](const sql::Statement& r) {
      return AuditRecord{.id = r.ColumnInt(0),
                         .at_ms = r.ColumnInt(1),
                         .username = r.ColumnText(2),
                         .device_id = r.ColumnText(3),
                         .remote = r.ColumnText(4),
                         .action = r.ColumnText(5),
                         .child_id = r.ColumnText(6),
                         .record_type = static_cast<v1::RecordType>(r.ColumnInt(7)),
                         .record_id = r.ColumnText(8)};
    });
  }

  Result<std::optional<StoredRecord>> ReadRecord(v1::RecordType type,
                                                 const std::string& id) override {
    Result<sql::Statement*> s =
        db_.Cached("SELECT state, region, server_seq FROM records WHERE type = ?1 AND id = ?2");
    if (!s) return s.error();
    (*s)->BindInt(1, type).BindText(2, id);
    return Decoded(FirstRow<StoredRecord>(*s, ReadStoredRow));
  }

  Result<std::vector<StoredRecord>> ReadChildRecords(const std::string& child_id) override {
    Result<sql::Statement*> s = db_.Cached(
        "SELECT state, region, server_seq FROM records WHERE child_id = ?1 "
        "ORDER BY type, at_ms, id");
    if (!s) return s.error();
    (*s)->BindText(1, child_id);
    return Decoded(Rows<StoredRecord>(*s, ReadStoredRow));
  }

  Result<std::vector<StoredRecord>> ReadRecords(v1::RecordType type, const Scope& scope) override {
    // One statement per scope, so that a region is a real constraint an index can serve: for
    // children and placement changes, their region's index.
    const char* by_region = type == v1::RECORD_TYPE_CHILD              ? " INDEXED BY children_by_region"
                            : type == v1::RECORD_TYPE_PLACEMENT_CHANGE ? " INDEXED BY placements_by_region"
                                                                       : "";
    Result<sql::Statement*> s =
        scope.all_regions
            ? db_.Cached("SELECT state, region, server_seq FROM records "
                         "WHERE type = ?1 AND deleted = 0 ORDER BY id")
            : db_.Cached(std::string("SELECT state, region, server_seq FROM records") + by_region +
                         " WHERE type = " + std::to_string(static_cast<int>(type)) +
                         " AND deleted = 0 AND region = ?2 ORDER BY id");
    if (!s) return s.error();
    if (scope.all_regions) (*s)->BindInt(1, type);
    if (!scope.all_regions) (*s)->BindText(2, scope.region);
    return Decoded(Rows<StoredRecord>(*s, ReadStoredRow));
  }

  Result<std::vector<CaseSummary>> ReadCases(const Scope& scope) override {
    // Answered from the children_by_region index alone.
    Result<sql::Statement*> s = db_.Cached(
        std::string("SELECT id, region, COALESCE(worker, ''), COALESCE(programme, ''), status, "
                    "placement FROM records INDEXED BY children_by_region "
                    "WHERE type = 1 AND deleted = 0") +
        (scope.all_regions ? "" : " AND region = ?1"));
    if (!s) return s.error();
    if (!scope.all_regions) (*s)->BindText(1, scope.region);
    return Rows<CaseSummary>(*s, [](const sql::Statement& r) {
      return CaseSummary{.child_id = r.ColumnText(0),
                         .region = r.ColumnText(1),
                         .worker = r.ColumnText(2),
                         .programme = r.ColumnText(3),
                         .status = static_cast<int>(r.ColumnInt(4)),
                         .placement = static_cast<int>(r.ColumnInt(5))};
    });
  }

  Result<std::vector<PlacementMove>> ReadPlacementMoves(const Scope& scope) override {
    // Answered from the placements_by_region index alone.
    Result<sql::Statement*> s = db_.Cached(
        std::string("SELECT child_id, at_ms, from_placement, placement FROM records "
                    "INDEXED BY placements_by_region "
                    "WHERE type = 5 AND deleted = 0 AND child_id IS NOT NULL "
                    "AND at_ms IS NOT NULL") +
        (scope.all_regions ? "" : " AND region = ?1"));
    if (!s) return s.error();
    if (!scope.all_regions) (*s)->BindText(1, scope.region);
    return Rows<PlacementMove>(*s, [](const sql::Statement& r) {
      const int64_t at_ms = r.ColumnInt(1);
      return PlacementMove{.child_id = r.ColumnText(0),
                           .day = at_ms >= 0 ? at_ms / kDayMs : (at_ms - kDayMs + 1) / kDayMs,
                           .from = static_cast<int>(r.ColumnInt(2)),
                           .to = static_cast<int>(r.ColumnInt(3))};
    });
  }

  Result<std::vector<StoredRecord>> QueryVisits(const VisitQuery& q) override {
    // The statement names only the filters given, so that SQLite sees each as a constraint and
    // walks the index that serves it (visits_by_worker, visits_by_region_time, visits_by_time,
    // records_by_child) in (at_ms, id) order, stopping at the limit. At most 2^6 statements are
    // cached, one per combination of filters.
    // The index is named: without statistics SQLite's planner prefers the (type, id) key, which
    // reads every visit and sorts them.
    const char* index = !q.child_id.empty()     ? "records_by_child"
                        : !q.worker.empty()     ? "visits_by_worker"
                        : !q.scope.all_regions ? "visits_by_region_time"
                                               : "visits_by_time";
    std::string sql = std::string("SELECT state, region, server_seq FROM records INDEXED BY ") +
                      index + " WHERE type = 4 AND deleted = 0";
    if (!q.scope.all_regions) sql += " AND region = ?1";
    if (!q.worker.empty()) sql += " AND worker = ?2";
    if (!q.child_id.empty()) sql += " AND child_id = ?3";
    if (q.from_ms) sql += " AND at_ms >= ?4";
    if (q.to_ms) sql += " AND at_ms < ?5";
    if (q.kind != 0) sql += " AND kind = ?6";
    if (q.after) sql += " AND (at_ms, id) > (?7, ?8)";
    sql += " ORDER BY at_ms, id LIMIT ?9";
    Result<sql::Statement*> s = db_.Cached(sql);
    if (!s) return s.error();
    sql::Statement& st = **s;
    if (!q.scope.all_regions) st.BindText(1, q.scope.region);
    if (!q.worker.empty()) st.BindText(2, q.worker);
    if (!q.child_id.empty()) st.BindText(3, q.child_id);
    if (q.from_ms) st.BindInt(4, *q.from_ms);
    if (q.to_ms) st.BindInt(5, *q.to_ms);
    if (q.kind != 0) st.BindInt(6, q.kind);
    if (q.after) st.BindInt(7, q.after->first).BindText(8, q.after->second);
    st.BindInt(9, static_cast<int64_t>(q.limit));
    return Decoded(Rows<StoredRecord>(&st, ReadStoredRow));
  }

  Result<std::vector<OpenCase>> ReadOpenCases(const Scope& scope) override {
    // The children_by_region index (covering), each child joined by key to its row of
    // latest_visit: one row a child, not a walk over the visits.
    Result<sql::Statement*> s = db_.Cached(
        std::string(
            "SELECT c.id, c.region, COALESCE(c.worker, ''), COALESCE(c.programme, ''), c.status, "
            "c.placement, l.at_ms, COALESCE(l.at_text, ''), COALESCE(l.due, '') "
            "FROM records AS c INDEXED BY children_by_region "
            "LEFT JOIN latest_visit AS l ON l.child_id = c.id "
            "WHERE c.type = 1 AND c.deleted = 0 AND c.status <> ") +
        std::to_string(static_cast<int>(v1::CASE_STATUS_CLOSED)) +
        (scope.all_regions ? "" : " AND c.region = ?1"));
    if (!s) return s.error();
    if (!scope.all_regions) (*s)->BindText(1, scope.region);
    return Rows<OpenCase>(*s, [](const sql::Statement& r) {
      OpenCase c{.summary = {.child_id = r.ColumnText(0),
                             .region = r.ColumnText(1),
                             .worker = r.ColumnText(2),
                             .programme = r.ColumnText(3),
                             .status = static_cast<int>(r.ColumnInt(4)),
                             .placement = static_cast<int>(r.ColumnInt(5))}};
      if (!r.ColumnIsNull(6)) {
        c.latest = LatestVisit{
            .at_ms = r.ColumnInt(6), .at_text = r.ColumnText(7), .due = r.ColumnText(8)};
      }
      return c;
    });
  }

  Result<std::vector<std::pair<std::string, uint32_t>>> VisitCountsByWorker(
      const Scope& scope, int64_t from_ms, int64_t to_ms) override {
    // A range of visits_by_region_time (or visits_by_time), which carry the worker: the table is
    // not read.
    Result<sql::Statement*> s = db_.Cached(
        scope.all_regions
            ? "SELECT worker, count(*) FROM records INDEXED BY visits_by_time "
              "WHERE type = 4 AND deleted = 0 AND at_ms >= ?2 AND at_ms < ?3 "
              "GROUP BY worker ORDER BY worker"
            : "SELECT worker, count(*) FROM records INDEXED BY visits_by_region_time "
              "WHERE type = 4 AND deleted = 0 AND region = ?1 AND at_ms >= ?2 AND at_ms < ?3 "
              "GROUP BY worker ORDER BY worker");
    if (!s) return s.error();
    if (!scope.all_regions) (*s)->BindText(1, scope.region);
    (*s)->BindInt(2, from_ms).BindInt(3, to_ms);
    return Rows<std::pair<std::string, uint32_t>>(*s, [](const sql::Statement& r) {
      return std::pair<std::string, uint32_t>(r.ColumnText(0),
                                              static_cast<uint32_t>(r.ColumnInt(1)));
    });
  }

 private:
  sql::Database db_;
  bool group_open_ = false;  // a Group is open: Begin() nests savepoints in it
  // Declared after db_, so that it stops before db_ closes.
  std::unique_ptr<sql::WalCheckpointer> checkpointer_;
};

Status Migrate(sql::Database& db) {
  Result<int> version = db.UserVersion();
  if (!version) return version.error();
  if (*version > kCentralSchemaVersion) {
    return Error::FailedPrecondition("the central store was written by a newer vinculo-server "
                                     "(schema " + std::to_string(*version) + ")");
  }
  if (*version == kCentralSchemaVersion) return Status::Ok();
  Result<sql::Transaction> txn = sql::Transaction::Begin(db);
  if (!txn) return txn.error();
  for (int v = *version; v < kCentralSchemaVersion; ++v) {
    VINCULO_RETURN_IF_ERROR(db.Exec(kMigrations[v]));
  }
  VINCULO_RETURN_IF_ERROR(db.Exec("PRAGMA application_id = " + std::to_string(kApplicationId) +
                                  "; PRAGMA user_version = " +
                                  std::to_string(kCentralSchemaVersion) + ";"));
  return txn->Commit();
}

}  // namespace

Result<std::unique_ptr<CentralStore>> OpenSqliteCentralStore(const std::string& data_dir,
                                                             bool create) {
  std::error_code ec;
  if (create) {
    fs::create_directories(data_dir, ec);
    if (ec) return Error::Internal("cannot create " + data_dir + ": " + ec.message());
    ::chmod(data_dir.c_str(), 0700);
  } else if (!fs::is_directory(data_dir, ec)) {
    return Error::NotFound("no data directory " + data_dir);
  }
  const std::string path = (fs::path(data_dir) / "central.db").string();
  const bool existed = fs::exists(path, ec);
  Result<sql::Database> db = sql::Database::Open(path, {.create = create});
  if (!db) {
    if (db.error().code == ErrorCode::kNotFound) {
      return Error::NotFound("no central store in " + data_dir + " (start the server with serve, "
                             "or add a user, to create it)");
    }
    return db.error();
  }
  if (existed) {
    // A file that holds anything but an empty database or our own store is refused untouched.
    Result<int64_t> app_id = db->QueryInt("PRAGMA application_id");
    if (!app_id) return app_id.error();
    Result<int64_t> tables = db->QueryInt("SELECT count(*) FROM sqlite_schema");
    if (!tables) return tables.error();
    if (*app_id != kApplicationId && *tables != 0) {
      return Error::DataLoss(path + " is not a Vínculo central store");
    }
  }
  VINCULO_RETURN_IF_ERROR(db->Exec(kCentralStorePragmas));
  VINCULO_RETURN_IF_ERROR(Migrate(*db));
  ::chmod(path.c_str(), 0600);
  auto store = std::make_unique<SqliteCentralStore>(std::move(db).value());
  VINCULO_RETURN_IF_ERROR(store->CheckpointInBackground(path));
  return std::unique_ptr<CentralStore>(std::move(store));
}

}  // namespace vinculo::server
