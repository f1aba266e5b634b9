#pragma once
// The embedded central store: one SQLite file in WAL mode (DIR/central.db). Enough for a country's
// programme on one machine; see central_store.h for the contract.

#include <memory>
#include <string>

#include "server/central_store.h"

namespace vinculo::server {

// The schema version this build writes (PRAGMA user_version). STORED ON DISK.
inline constexpr int kCentralSchemaVersion = 1;

// Opens the central store in `data_dir` (central.db inside it), creating the directory and the
// store when `create` is set. DataLoss for a file that is not a Vínculo central store;
// FailedPrecondition for one written by a newer build.
//
// Thread-compatible: the server uses it from its one store thread.
Result<std::unique_ptr<CentralStore>> OpenSqliteCentralStore(const std::string& data_dir,
                                                             bool create);

}  // namespace vinculo::server
