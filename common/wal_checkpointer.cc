#include "common/wal_checkpointer.h"

#include <sqlite3.h>

#include <utility>

namespace vinculo::sql {
namespace {

constexpr int kSqliteAutocheckpointFrames = 1000;  // SQLite's default

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(Database& writer,
                                                                 const std::string& path,
                                                                 int frames) {
  Result<Database> own = Database::Open(path);
  if (!own) return own.error();
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(writer, std::move(own).value(), frames));
  sqlite3_wal_hook(writer.handle(), &WalCheckpointer::OnCommit, c.get());
  c->thread_ = std::thread([p = c.get()] { p->Run(); });
  return c;
}

WalCheckpointer::WalCheckpointer(Database& writer, Database own, int frames)
    : writer_(writer), own_(std::move(own)), frames_(frames) {}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_autocheckpoint(writer_.handle(), kSqliteAutocheckpointFrames);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

// Called by SQLite on the writer's thread after each commit, with the frames in the log.
int WalCheckpointer::OnCommit(void* self, ::sqlite3* db, const char* schema, int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (frames >= 8 * c->frames_) {
    // Far behind: do it here, as SQLite's own automatic checkpoint does.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    std::lock_guard<std::mutex> lock(c->mutex_);
    ++c->by_writer_;
  } else if (frames >= c->frames_) {
    {
      std::lock_guard<std::mutex> lock(c->mutex_);
      c->due_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return due_ || stopping_; });
    if (stopping_) return;
    due_ = false;
    lock.unlock();
    // A failure (the log busy, say) is left for the next commit to ask again.
    sqlite3_wal_checkpoint_v2(own_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    ++background_;
  }
}

uint64_t WalCheckpointer::background_checkpoints() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return background_;
}

uint64_t WalCheckpointer::writer_checkpoints() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_writer_;
}

}  // namespace vinculo::sql
