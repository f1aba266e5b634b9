#pragma once
// The device store's SQLite schema and its migrations. STORED ON DISK: a change here is a new
// migration step and a new kStoreSchemaVersion, never an edit of an old step.

#include <functional>
#include <string>

#include "common/result.h"
#include "common/sqlite.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::client {

// PRAGMA application_id of every Vínculo device store ("VINC"): how a file is known to be one.
inline constexpr int64_t kStoreApplicationId = 0x56494E43;

// DataLoss unless `db` is a Vínculo device store (an empty new file is not one).
Status CheckIsStore(sql::Database& db, const std::string& path);

// Per-connection settings: WAL journal, full fsync on commit (a committed visit survives power
// loss), foreign keys, and a WAL checkpointed every 8,192 pages and truncated back to 32 MiB (why:
// ConfigureConnection in store_schema.cc). bench/sync_bench configures its L database the same way.
inline constexpr char kStorePragmas[] =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
    "PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 33554432;";
Status ConfigureConnection(sql::Database& db);

// Brings the schema to kStoreSchemaVersion in one transaction. FailedPrecondition for a store
// written by a newer Vínculo. `then`, when given, runs inside the same transaction after the last
// step (a new store writes its device row there, so a crash leaves either no store or a whole one).
Status MigrateSchema(sql::Database& db, const std::function<Status()>& then = {});

// "invalid", "forbidden", ... : the stable lowercase name of a rejection code.
std::string RejectionCodeName(v1::RejectionCode code);

}  // namespace vinculo::client
