#pragma once
// The embedded central store: one SQLite file in WAL mode (DIR/central.db). Enough for a country's
// programme on one machine; see central_store.h for the contract.

#include <memory>
#include <string>

#include "server/central_store.h"

namespace vinculo::server {

// The schema version this build writes (PRAGMA user_version). STORED ON DISK.
inline constexpr int kCentralSchemaVersion = 2;

// The settings of every connection to the central store: WAL, a full fsync at each commit (an
// acknowledged write survives power loss), foreign keys; a 64 MiB page cache (SQLite's default is
// 2 MiB), so that the indexes a sync touches stay in it instead of being read again from the OS a
// pread per page; temporary files in memory, since each sync of a group commit runs in a savepoint
// whose undo copies of the pages it changes would otherwise go to a temporary file, page by page
// (docs/performance.md). bench/sync_bench configures its L database the same way.
inline constexpr char kCentralStorePragmas[] =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
    "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 1073741824;";

// Opens the central store in `data_dir` (central.db inside it), creating the directory and the
// store when `create` is set. DataLoss for a file that is not a Vínculo central store;
// FailedPrecondition for one written by a newer build.
//
// Thread-compatible: the server uses it from its one store thread.
Result<std::unique_ptr<CentralStore>> OpenSqliteCentralStore(const std::string& data_dir,
                                                             bool create);

}  // namespace vinculo::server
