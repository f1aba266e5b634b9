#include "client/store_schema.h"

#include <cctype>

#include "client/local_store.h"

namespace vinculo::client {
namespace {

// Step N takes a store from user_version N-1 to N. Append only.
constexpr const char* kMigrations[] = {
    // 1: the first schema.
    R"sql(
      CREATE TABLE device (
        singleton        INTEGER PRIMARY KEY CHECK (singleton = 1),
        device_id        TEXT NOT NULL,
        store_id         TEXT NOT NULL,              -- this store's own random id
        server_url       TEXT NOT NULL,
        ca_file          TEXT NOT NULL,
        hlc              INTEGER NOT NULL,           -- the persisted HLC (common/hlc.h)
        next_seq         INTEGER NOT NULL,           -- the seq of the next local mutation
        acked_seq        INTEGER NOT NULL DEFAULT 0, -- the highest seq the server acknowledged
        cursor           INTEGER NOT NULL DEFAULT 0, -- server_seq of the last change applied
        username         TEXT,
        token            TEXT,
        created_ms       INTEGER NOT NULL,
        last_sync_ms     INTEGER,
        last_sync_result TEXT
      );
      -- Every record the device holds: columns copied out of it for queries, then its
      -- RecordState (values + field stamps) last, so that reading the query columns does not
      -- touch the blob's overflow pages.
      CREATE TABLE records (
        type      INTEGER NOT NULL,   -- v1::RecordType
        id        TEXT NOT NULL,
        deleted   INTEGER NOT NULL,
        child_id  TEXT,
        family_id TEXT,
        at_ms     INTEGER,            -- a visit's visited_at, a placement change's date (Unix ms)
        at_text   TEXT,               -- the same, as written
        due       TEXT,               -- a visit's next_visit_due
        state     BLOB NOT NULL,      -- v1::RecordState
        UNIQUE (type, id)
      );
      -- The caseload's "latest visit of each child", answered from the index alone.
      CREATE INDEX records_latest_visit ON records (type, deleted, child_id, at_ms, at_text, due);
      -- Mutations waiting to be pushed, in seq order.
      CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY,
        type       INTEGER NOT NULL,
        record_id  TEXT NOT NULL,
        mutation   BLOB NOT NULL,     -- v1::Mutation
        created_ms INTEGER NOT NULL
      );
      -- Mutations the server refused, kept for the worker to see.
      CREATE TABLE rejected (
        seq         INTEGER PRIMARY KEY,
        type        INTEGER NOT NULL,
        record_id   TEXT NOT NULL,
        mutation    BLOB NOT NULL,
        code        TEXT NOT NULL,
        message     TEXT NOT NULL,
        field       TEXT NOT NULL,
        rejected_ms INTEGER NOT NULL
      );
    )sql",
    // 2: how far the device holds its scope whole, for partial changes (SyncRequest.held_through).
    // A store from before starts at 0: its next page comes whole.
    R"sql(
      ALTER TABLE device ADD COLUMN held_through INTEGER NOT NULL DEFAULT 0;
    )sql",
};
static_assert(std::size(kMigrations) == kStoreSchemaVersion);

}  // namespace

Status CheckIsStore(sql::Database& db, const std::string& path) {
  Result<int64_t> id = db.QueryInt("PRAGMA application_id");
  if (!id) return id.error();
  if (*id != kStoreApplicationId) {
    return Error::DataLoss(path + " is not a Vínculo store");
  }
  return Status::Ok();
}

Status ConfigureConnection(sql::Database& db) {
  // journal_mode returns a row; Exec ignores it. WAL persists in the file once set.
  //
  // Checkpoints: SQLite's default (at 1,000 WAL pages) runs one after every page a pull applies,
  // since one page of 1,000 visits writes about that many pages: each page then paid a checkpoint
  // (copying every page it touched into the database again) and its fsyncs, four fsyncs a page in
  // all. At 8,192 pages (32 MiB) the WAL takes several pages between checkpoints; a page touched
  // by each of them (index pages, the device row) is copied once. journal_size_limit truncates the
  // WAL back to 32 MiB after a checkpoint, so the file stays bounded by that plus one transaction.
  // Neither changes what a commit guarantees: synchronous = FULL still fsyncs the WAL at each.
  return db.Exec(kStorePragmas);
}

Status MigrateSchema(sql::Database& db, const std::function<Status()>& then) {
  Result<int> version = db.UserVersion();
  if (!version) return version.error();
  if (*version > kStoreSchemaVersion) {
    return Error::FailedPrecondition("this store was written by a newer Vínculo (schema " +
                                     std::to_string(*version) + ", this build knows " +
                                     std::to_string(kStoreSchemaVersion) + "): upgrade vinculo");
  }
  if (*version == kStoreSchemaVersion) return Status::Ok();
  Result<sql::Transaction> txn = sql::Transaction::Begin(db);
  if (!txn) return txn.error();
  // Another process may have migrated while we waited for the lock.
  version = db.UserVersion();
  if (!version) return version.error();
  for (int v = *version; v < kStoreSchemaVersion; ++v) {
    if (Status s = db.Exec(kMigrations[v]); !s.ok()) return s;
  }
  const std::string stamp = "PRAGMA application_id = " + std::to_string(kStoreApplicationId) +
                            "; PRAGMA user_version = " + std::to_string(kStoreSchemaVersion) + ";";
  if (Status s = db.Exec(stamp); !s.ok()) return s;
  if (then) {
    if (Status s = then(); !s.ok()) return s;
  }
  return txn->Commit();
}

std::string RejectionCodeName(v1::RejectionCode code) {
  std::string name = v1::RejectionCode_Name(code);
  constexpr std::string_view kPrefix = "REJECTION_CODE_";
  if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.empty() ? "unspecified" : name;
}

}  // namespace vinculo::client
