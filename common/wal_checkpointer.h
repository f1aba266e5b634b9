#pragma once
// Checkpoints a database's write-ahead log from a connection and a thread of its own, so that the
// commit that fills the log does not also copy its pages into the database before it returns.
// SQLite's automatic checkpoint runs inside that commit: on the server, one sync in four paid for
// a checkpoint of about a thousand pages (docs/performance.md, "Checkpoints off the request path").
//
// The checkpoints are passive: they never block the writer, and copy what no reader still needs.
// Should they fall far behind (a reader holding an old snapshot, a thread starved of CPU), the
// writer checkpoints itself as SQLite would have, so the log stays bounded.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/sqlite.h"

namespace vinculo::sql {

class WalCheckpointer {
 public:
  // Starts checkpointing the database at `path`, which `writer` has open in WAL mode, once its log
  // holds `frames` frames; the writer checkpoints itself past 8 times that. `writer` must outlive
  // the checkpointer, and its automatic checkpoints stop meanwhile.
  static Result<std::unique_ptr<WalCheckpointer>> Start(Database& writer, const std::string& path,
                                                        int frames = 1000);
  // Stops the thread (after the checkpoint under way, if any) and gives `writer` back its
  // automatic checkpoints.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints run so far: by the thread, and by the writer itself.
  uint64_t background_checkpoints() const;
  uint64_t writer_checkpoints() const;

 private:
  WalCheckpointer(Database& writer, Database own, int frames);
  static int OnCommit(void* self, ::sqlite3* db, const char* schema, int frames);
  void Run();

  Database& writer_;
  Database own_;
  const int frames_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  // Under mutex_:
  bool due_ = false;
  bool stopping_ = false;
  uint64_t background_ = 0;
  uint64_t by_writer_ = 0;
  std::thread thread_;
};

}  // namespace vinculo::sql
