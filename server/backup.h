#pragma once
// Backups of the central store that are consistent while the server is serving: SQLite's online
// backup API copies every page of central.db under one read transaction, so the copy is the store
// as of one instant, and in WAL mode the server's writes go on meanwhile (they are not in the
// copy).

#include <cstdint>
#include <string>

#include "common/result.h"

namespace vinculo::server {

struct BackupSummary {
  uint64_t bytes = 0;            // size of the backup file
  uint64_t records = 0;          // records in it, deleted ones included
  uint64_t last_server_seq = 0;  // the seq of the latest change it holds
};

// Copies DIR/central.db to `to` (mode 0600), through a temporary file in the same directory that
// is checked (PRAGMA quick_check), flushed and renamed over `to`: a crash never leaves half a
// backup under that name. Waits while a write holds the store briefly (SQLite's busy timeout).
// Errors: NotFound when there is no central store in `data_dir`; DataLoss when it is not a Vínculo
// central store or the copy fails its check; Unavailable when the store stays locked; Internal for
// a file that cannot be written.
Result<BackupSummary> BackupCentralStore(const std::string& data_dir, const std::string& to);

}  // namespace vinculo::server
