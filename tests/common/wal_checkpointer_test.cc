// Checkpoints on a thread of their own (common/wal_checkpointer.h): they happen, the writer's
// commits no longer do them, the log stays bounded and nothing written is lost.

#include "common/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace vinculo::sql {
namespace {

namespace fs = std::filesystem;

TEST(WalCheckpointer, CheckpointsOffTheWriterAndKeepsTheLogBounded) {
  const fs::path dir = fs::temp_directory_path() / ("vinculo-ckpt-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "test.db").string();
  {
    Result<Database> db = Database::Open(path, {.create = true});
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    ASSERT_TRUE(db->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                         "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
                    .ok());
    Result<std::unique_ptr<WalCheckpointer>> c = WalCheckpointer::Start(*db, path, 100);
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    Result<Statement> insert = db->Prepare("INSERT INTO t (v) VALUES (randomblob(3000))");
    ASSERT_TRUE(insert.has_value());
    uintmax_t largest_log = 0;
    for (int commit = 0; commit < 600; ++commit) {  // about 2 frames each
      ASSERT_TRUE(db->Exec("BEGIN IMMEDIATE").ok());
      insert->Reset();
      ASSERT_TRUE(insert->Run().ok());
      ASSERT_TRUE(db->Exec("COMMIT").ok());
      largest_log = std::max(largest_log, fs::file_size(path + "-wal"));
      if (commit % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((*c)->background_checkpoints() < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE((*c)->background_checkpoints(), 3u);
    EXPECT_EQ((*c)->writer_checkpoints(), 0u);
    // Without checkpoints the log would hold all 1,200 frames (about 5 MB); it restarts instead.
    EXPECT_LT(largest_log, uintmax_t{3} << 20);
    EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 600);
  }
  Result<Database> again = Database::Open(path);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again->QueryInt("SELECT count(*) FROM t"), 600);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vinculo::sql
