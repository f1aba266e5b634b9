#include "server/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace vinculo::server {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kApplicationId = 0x56494E53;  // "VINS", as sqlite_central_store.cc writes it

// Closes a connection when it goes out of scope.
struct Connection {
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close_v2(db); }
};

Error SqlError(sqlite3* db, const std::string& what) {
  const int code = db == nullptr ? SQLITE_NOMEM : sqlite3_errcode(db);
  const std::string message = what + ": " + (db == nullptr ? "out of memory" : sqlite3_errmsg(db));
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Error::Unavailable(message);
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) return Error::DataLoss(message);
  return Error::Internal(message);
}

// The first column of the first row of `sql` as text ("" when there is none).
Result<std::string> QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return SqlError(db, sql);
  std::string out;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) out = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(db, sql);
  return out;
}

Status FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Error::Internal("cannot open " + path + " to flush it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Error::Internal("cannot flush " + path);
  return Status::Ok();
}

}  // namespace

Result<BackupSummary> BackupCentralStore(const std::string& data_dir, const std::string& to) {
  const std::string source_path = (fs::path(data_dir) / "central.db").string();
  std::error_code ec;
  if (!fs::exists(source_path, ec)) return Error::NotFound("no central store in " + data_dir);

  Connection source;
  // Read-write, never create: a WAL-mode reader needs the -shm file, and the server's user owns it.
  if (sqlite3_open_v2(source_path.c_str(), &source.db, SQLITE_OPEN_READWRITE, nullptr) !=
      SQLITE_OK) {
    return SqlError(source.db, "cannot open " + source_path);
  }
  sqlite3_busy_timeout(source.db, 10'000);
  Result<std::string> app_id = QueryText(source.db, "PRAGMA application_id");
  if (!app_id) return app_id.error();
  if (std::stoll(app_id->empty() ? "0" : *app_id) != kApplicationId) {
    return Error::DataLoss(source_path + " is not a Vínculo central store");
  }

  BackupSummary summary;
  const std::string temp = to + ".tmp-" + std::to_string(::getpid());
  fs::remove(temp, ec);
  {
    Connection target;
    if (sqlite3_open_v2(temp.c_str(), &target.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        nullptr) != SQLITE_OK) {
      return SqlError(target.db, "cannot create " + temp);
    }
    ::chmod(temp.c_str(), 0600);
    sqlite3_backup* backup = sqlite3_backup_init(target.db, "main", source.db, "main");
    if (backup == nullptr) {
      Error e = SqlError(target.db, "cannot start the backup");
      fs::remove(temp, ec);
      return e;
    }
    // All pages in one step: one read transaction on the source, hence one consistent instant.
    int rc = SQLITE_OK;
    for (int attempt = 0; attempt < 100; ++attempt) {
      rc = sqlite3_backup_step(backup, -1);
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
      Error e = rc == SQLITE_BUSY || rc == SQLITE_LOCKED
                    ? Error::Unavailable("the central store stayed locked; try again")
                    : SqlError(target.db, "the backup failed");
      fs::remove(temp, ec);
      return e;
    }
    Result<std::string> check = QueryText(target.db, "PRAGMA quick_check");
    if (!check || *check != "ok") {
      fs::remove(temp, ec);
      return Error::DataLoss("the backup copy fails its check: " +
                             (check ? *check : check.error().message));
    }
    // One self-contained file (no -wal beside it); the server turns WAL on again when it opens a
    // restored copy.
    Result<std::string> mode = QueryText(target.db, "PRAGMA journal_mode = DELETE");
    Result<std::string> records = QueryText(target.db, "SELECT count(*) FROM records");
    Result<std::string> seq =
        QueryText(target.db, "SELECT value FROM meta WHERE key = 'last_server_seq'");
    if (!mode || !records || !seq) {
      fs::remove(temp, ec);
      return !mode ? mode.error() : !records ? records.error() : seq.error();
    }
    if (!records->empty()) summary.records = std::stoull(*records);
    if (!seq->empty()) summary.last_server_seq = std::stoull(*seq);
  }
  VINCULO_RETURN_IF_ERROR(FsyncPath(temp, O_RDONLY));
  if (::rename(temp.c_str(), to.c_str()) != 0) {
    fs::remove(temp, ec);
    return Error::Internal("cannot rename the backup to " + to);
  }
  std::string dir = fs::path(to).parent_path().string();
  if (dir.empty()) dir = ".";
  (void)FsyncPath(dir, O_RDONLY | O_DIRECTORY);

  summary.bytes = static_cast<uint64_t>(fs::file_size(to, ec));
  return summary;
}

}  // namespace vinculo::server
