// The WAL write gathering under every connection (common/sqlite_vfs.h): fewer writes, and the same
// database as SQLite alone would leave, seen at once by other connections. Crash safety with it is
// checked where it matters, by killing real writers (tests/faults).

#include "common/sqlite_vfs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/sqlite.h"

namespace vinculo::sql {
namespace {

namespace fs = std::filesystem;

class SqliteVfsTest : public ::testing::Test {
 protected:
  SqliteVfsTest()
      : dir_(fs::temp_directory_path() /
             ("vinculo-vfs-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~SqliteVfsTest() override { fs::remove_all(dir_); }

  Database Open(const char* synchronous = "FULL") {
    Result<Database> db = Database::Open((dir_ / "test.db").string(), {.create = true});
    EXPECT_TRUE(db.has_value()) << db.error().ToString();
    EXPECT_TRUE(db->Exec(std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = ") +
                         synchronous)
                    .ok());
    return std::move(db).value();
  }

  static void CreateTable(Database& db) {
    ASSERT_TRUE(db.Exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT, v BLOB); "
                        "CREATE INDEX IF NOT EXISTS t_k ON t (k)")
                    .ok());
  }

  // Inserts rows [from, to) with 1 KB values, in the open transaction or alone.
  static void Insert(Database& db, int from, int to) {
    Result<Statement> insert =
        db.Prepare("INSERT INTO t (id, k, v) VALUES (?1, ?2, zeroblob(1000) || ?2)");
    ASSERT_TRUE(insert.has_value());
    for (int i = from; i < to; ++i) {
      insert->Reset();
      insert->BindInt(1, i).BindText(2, "key-" + std::to_string(i * 7919 % 10007));
      ASSERT_TRUE(insert->Run().ok());
    }
  }

  static int64_t Count(Database& db) { return *db.QueryInt("SELECT count(*) FROM t"); }

  static std::string IntegrityCheck(Database& db) {
    Result<Statement> check = db.Prepare("PRAGMA integrity_check");
    EXPECT_TRUE(check.has_value());
    EXPECT_TRUE(*check->Step());
    return check->ColumnText(0);
  }

  fs::path dir_;
};

TEST_F(SqliteVfsTest, ACommitReachesTheLogInAFewWritesAndAnotherConnectionSeesItAll) {
  Database writer = Open();
  CreateTable(writer);
  Database reader = Open();
  const WalWriteCounts before = CountWalWrites();
  ASSERT_TRUE(writer.Exec("BEGIN IMMEDIATE").ok());
  Insert(writer, 0, 300);
  ASSERT_TRUE(writer.Exec("COMMIT").ok());
  const WalWriteCounts after = CountWalWrites();
  // About 100 pages: two calls each from SQLite, a handful out.
  EXPECT_GT(after.asked - before.asked, 150u);
  EXPECT_LE(after.made - before.made, 10u);
  EXPECT_EQ(Count(reader), 300);
  EXPECT_EQ(*reader.QueryInt("SELECT count(*) FROM t WHERE k LIKE 'key-%'"), 300);
}

// With synchronous = NORMAL SQLite does not sync the log at a commit, and another connection may
// read the new frames straight away: they must be in the file by then.
TEST_F(SqliteVfsTest, ACommitWithoutSyncIsSeenAtOnceByAnotherConnection) {
  Database writer = Open("NORMAL");
  CreateTable(writer);
  Database reader = Open();
  for (int round = 0; round < 20; ++round) {
    Insert(writer, round * 3, round * 3 + 3);  // each row its own transaction
    ASSERT_EQ(Count(reader), round * 3 + 3) << "round " << round;
  }
  EXPECT_EQ(IntegrityCheck(reader), "ok");
}

// A transaction larger than the page cache spills pages to the log before it commits and reads
// them back from there; one larger than the gathering buffer writes out as it goes.
TEST_F(SqliteVfsTest, PagesSpilledByALargeTransactionReadBackIntact) {
  Database db = Open();
  CreateTable(db);
  ASSERT_TRUE(db.Exec("PRAGMA cache_size = 20").ok());
  ASSERT_TRUE(db.Exec("BEGIN IMMEDIATE").ok());
  Insert(db, 0, 4000);  // about 5 MB of pages
  EXPECT_EQ(Count(db), 4000);
  EXPECT_EQ(*db.QueryInt("SELECT count(DISTINCT k) FROM t INDEXED BY t_k"),
            *db.QueryInt("SELECT count(DISTINCT k) FROM t NOT INDEXED"));
  ASSERT_TRUE(db.Exec("COMMIT").ok());
  EXPECT_EQ(IntegrityCheck(db), "ok");
  Database again = Open();
  EXPECT_EQ(Count(again), 4000);
}

// A rolled-back transaction's frames, gathered or spilled, leave nothing behind; the log restarts
// after a checkpoint empties it, and what follows is kept.
TEST_F(SqliteVfsTest, RolledBackFramesAndARestartedLogKeepOnlyWhatWasCommitted) {
  {
    Database db = Open();
    CreateTable(db);
    ASSERT_TRUE(db.Exec("PRAGMA cache_size = 20").ok());
    Insert(db, 0, 10);
    ASSERT_TRUE(db.Exec("BEGIN IMMEDIATE").ok());
    Insert(db, 10, 2000);
    ASSERT_TRUE(db.Exec("ROLLBACK").ok());
    Insert(db, 10, 20);
    ASSERT_TRUE(db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    EXPECT_EQ(fs::file_size(dir_ / "test.db-wal"), 0u);
    Insert(db, 20, 30);
    ASSERT_TRUE(db.Exec("BEGIN IMMEDIATE").ok());
    Insert(db, 30, 500);
    ASSERT_TRUE(db.Exec("COMMIT").ok());
  }
  Database db = Open();
  EXPECT_EQ(Count(db), 500);
  EXPECT_EQ(*db.QueryInt("SELECT max(id) FROM t"), 499);
  EXPECT_EQ(IntegrityCheck(db), "ok");
}

}  // namespace
}  // namespace vinculo::sql
