#pragma once
// A small RAII wrapper over SQLite, shared by the device store and the server store. sqlite3.h stays
// out of this header. Errors come back as values: a damaged or foreign file is DataLoss, a locked
// database Unavailable, anything else Internal, each with SQLite's own message.
//
// Thread-compatible: one Database and its Statements are used by one thread at a time.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vinculo::sql {

class Database;

// Settings of SQLite for the whole process, applied once: no memory statistics, and the WAL writes
// of a transaction gathered (sqlite_vfs.h). Database::Open calls it; a program that also opens
// SQLite through its C API calls it first, so that those connections run alike.
void ConfigureSqlite();

// A prepared statement. Bind parameters by 1-based index, Step through rows, read columns by
// 0-based index. Owned by its creator; a Statement from Database::Cached is owned by the Database.
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& BindInt(int index, int64_t value);
  Statement& BindDouble(int index, double value);
  Statement& BindText(int index, std::string_view value);
  Statement& BindBlob(int index, std::string_view value);
  Statement& BindNull(int index);

  // Advances to the next row: true when a row is ready, false when done.
  Result<bool> Step();
  // Steps until done; for statements that return no rows.
  Status Run();
  // Clears bindings and rewinds, ready to bind and step again.
  void Reset();

  int ColumnCount() const;
  int64_t ColumnInt(int index) const;
  double ColumnDouble(int index) const;
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;
  // The blob's bytes in place, without a copy: valid until the next Step or Reset, as long as the
  // column is read as nothing else meanwhile.
  std::string_view ColumnBytes(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

struct OpenOptions {
  bool create = false;          // create the file if missing (else NotFound)
  bool read_only = false;
  int busy_timeout_ms = 5000;   // how long a writer waits for a lock before Unavailable
};

class Database {
 public:
  // Opens (or creates) the database at `path` (":memory:" for a private in-memory database), turns
  // on foreign keys, and reads the header so that a file that is not a database is DataLoss here,
  // not at the first query.
  static Result<Database> Open(const std::string& path, const OpenOptions& options = {});

  Database() = default;
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  // Runs one statement that returns no rows, prepared once per connection (Cached): for the
  // statements every transaction runs (BEGIN, COMMIT, SAVEPOINT, RELEASE), which Exec would parse
  // each time.
  Status RunCached(std::string_view sql);
  // A new prepared statement, owned by the caller.
  Result<Statement> Prepare(std::string_view sql);
  // A prepared statement kept for reuse, reset and ready to bind. Owned by the Database; valid until
  // it is closed. For statements on hot paths.
  Result<Statement*> Cached(std::string_view sql);

  int64_t LastInsertRowId() const;
  int Changes() const;
  bool in_transaction() const;

  // The first column of the first row of `sql` as an integer (0 when there is no row), for pragmas
  // and counts. The statement is finished before this returns.
  Result<int64_t> QueryInt(std::string_view sql);

  // The value of PRAGMA user_version: the schema version this file was migrated to.
  Result<int> UserVersion();

  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  void Close();
  // Looked up by the SQL text as a string_view: a statement run for every record costs no string
  // copy to find.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>, TextHash, std::equal_to<>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back by the destructor unless committed. Nothing of a failed or
// abandoned transaction is ever visible.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_ = nullptr;
};

// The Error for SQLite result code `rc` on `db`, with `what` as context.
Error SqliteError(sqlite3* db, int rc, std::string_view what);

}  // namespace vinculo::sql
