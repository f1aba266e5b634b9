#pragma once
// The embedded central store: one SQLite file in WAL mode (DIR/central.db). Enough for a country's
// programme on one machine; see central_store.h for the contract.

#include <memory>
#include <string>

#include "server/central_store.h"

namespace vinculo::server {

// The schema version this build writes (PRAGMA user_version). STORED ON DISK.
inline constexpr int kCentralSchemaVersion = 3;

// The settings of every connection to the central store: WAL, a full fsync at each commit (an
// acknowledged write survives power loss), foreign keys; a 16 MiB page cache (SQLite's default is
// 2 MiB), which holds the indexes' upper levels a sync walks; temporary files in memory, since each
// sync of a group commit runs in a savepoint whose undo copies of the pages it changes would
// otherwise go to a temporary file, page by page. Not larger: a commit that split a B-tree page
// visits every page of the cache (SQLite renumbers split pages through the page past 1 GiB, and
// the commit then drops cached pages beyond the database's end by walking the whole cache), and
// at 64 MiB that walk cost more than the extra hits saved. Not memory-mapped either: mapped pages
// count in the server's resident size, which a busy store then fills (docs/performance.md).
// bench/sync_bench configures its L database the same way.
inline constexpr char kCentralStorePragmas[] =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
    "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;";

// Opens the central store in `data_dir` (central.db inside it), creating the directory and the
// store when `create` is set. DataLoss for a file that is not a Vínculo central store;
// FailedPrecondition for one written by a newer build.
//
// Thread-compatible: the server uses it from its one store thread.
Result<std::unique_ptr<CentralStore>> OpenSqliteCentralStore(const std::string& data_dir,
                                                             bool create);

}  // namespace vinculo::server
