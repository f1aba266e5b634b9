#include "common/sqlite.h"

#include <sqlite3.h>

#include <utility>

#include "common/sqlite_vfs.h"

namespace vinculo::sql {

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = std::string(what) + ": " +
                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error::DataLoss(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Unavailable(std::move(message));
    case SQLITE_CANTOPEN:
      return Error::NotFound(std::move(message));
    case SQLITE_CONSTRAINT:
      return Error::AlreadyExists(std::move(message));
    case SQLITE_FULL:
      return Error::ResourceExhausted(std::move(message));
    default:
      return Error::Internal(std::move(message));
  }
}

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::BindInt(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::BindDouble(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::BindText(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Statement& Statement::BindBlob(int index, std::string_view value) {
  sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

Status Statement::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row) return row.error();
    if (!*row) return Status::Ok();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }
double Statement::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }
int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

std::string Statement::ColumnText(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  return text == nullptr ? std::string()
                         : std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}
std::string Statement::ColumnBlob(int index) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, index));
  return data == nullptr ? std::string()
                         : std::string(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}
std::string_view Statement::ColumnBytes(int index) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, index));
  if (data == nullptr) return {};
  return std::string_view(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}
bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

// ---- Database ----

void ConfigureSqlite() {
  static const bool kConfigured = [] {
    // No memory statistics (nothing here reads them): SQLite then takes no global lock for each
    // of its allocations. Possible only before SQLite's first use in the process.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    InstallWalWriteGathering();
    return true;
  }();
  (void)kConfigured;
}

Result<Database> Database::Open(const std::string& path, const OpenOptions& options) {
  ConfigureSqlite();
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw);  // closes `raw` on every path below
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "open " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  // Reading the schema touches the header: a file that is not a database fails here.
  if (Status s = db.Exec("PRAGMA foreign_keys = ON; SELECT count(*) FROM sqlite_schema;");
      !s.ok()) {
    return s.error();
  }
  return db;
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), cache_(std::move(other.cache_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

Database::~Database() { Close(); }

void Database::Close() {
  cache_.clear();  // statements must be finalized before the connection closes
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Status Database::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  Error error = SqliteError(db_, rc, "exec");
  sqlite3_free(message);
  return error;
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
  return Statement(stmt, db_);
}

Status Database::RunCached(std::string_view sql) {
  Result<Statement*> s = Cached(sql);
  if (!s) return s.error();
  return (*s)->Run();
}

Result<Statement*> Database::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  Result<Statement> prepared = Prepare(sql);
  if (!prepared) return prepared.error();
  auto owned = std::make_unique<Statement>(std::move(prepared).value());
  Statement* out = owned.get();
  cache_.emplace(std::string(sql), std::move(owned));
  return out;
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Database::Changes() const { return sqlite3_changes(db_); }
bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

Result<int64_t> Database::QueryInt(std::string_view sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt) return stmt.error();
  Result<bool> row = stmt->Step();
  if (!row) return row.error();
  return *row ? stmt->ColumnInt(0) : 0;
}

Result<int> Database::UserVersion() {
  Result<int64_t> version = QueryInt("PRAGMA user_version");
  if (!version) return version.error();
  return static_cast<int>(*version);
}

// ---- Transaction ----

Result<Transaction> Transaction::Begin(Database& db) {
  if (Status s = db.RunCached("BEGIN IMMEDIATE"); !s.ok()) return s.error();
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr && db_->in_transaction()) (void)db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Status s = db_->RunCached("COMMIT");
  if (s.ok()) db_ = nullptr;
  return s;
}

}  // namespace vinculo::sql
