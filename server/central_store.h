#pragma once
// The central store: everything the server keeps, behind an interface so that the embedded SQLite
// store (sqlite_central_store.h) can be joined by a PostgreSQL one without touching the sync logic.
// The sync rules live in sync_service.h; a store only keeps and finds things, inside transactions.
//
// Thread safety: a CentralStore may be shared by threads; a StoreTransaction belongs to one thread.
// Only one write transaction is open at a time (the store serializes them).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/hlc.h"
#include "common/result.h"
#include "server/auth.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::server {

struct UserRecord {
  std::string username;
  std::string password_hash;  // HashPassword's encoding
  Role role = Role::kFieldWorker;
  std::string region;         // empty for admin
  bool disabled = false;
  int64_t created_ms = 0;
  int failed_logins = 0;      // consecutive failures in the current window
  int64_t failure_window_start_ms = 0;
};

struct DeviceRecord {
  std::string device_id;
  std::string username;
  std::string token_hash;
  int64_t token_expires_ms = 0;
  int64_t revoked_ms = 0;      // 0: not revoked
  int64_t created_ms = 0;
  int64_t last_seen_ms = 0;
  uint64_t last_seq = 0;       // the highest mutation seq applied or rejected for this device
};

// A record as the server holds it.
struct StoredRecord {
  v1::RecordState state;
  std::string region;          // the region that decides who sees it
  uint64_t server_seq = 0;     // the seq of its latest change
};

// Which records a reader may see: one region, or all of them.
struct Scope {
  bool all_regions = false;
  std::string region;
};

// One entry of the pull feed, in server_seq order: a record's state, or its leaving the scope.
struct FeedEntry {
  uint64_t server_seq = 0;
  std::optional<v1::RecordState> state;  // set for a change
  v1::RecordType evicted_type = v1::RECORD_TYPE_UNSPECIFIED;  // set for an eviction
  std::string evicted_id;
};

struct StoredConflict {
  int64_t id = 0;
  v1::Conflict conflict;
  v1::RecordType type = v1::RECORD_TYPE_UNSPECIFIED;
  std::string region;
  std::string device_id;  // the device whose push revealed it
  int64_t detected_ms = 0;
};

// One transaction. Nothing is visible to others until Commit; the destructor rolls back.
class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;

  virtual Result<std::optional<DeviceRecord>> FindDevice(const std::string& device_id) = 0;
  virtual Status SetDeviceLastSeq(const std::string& device_id, uint64_t seq, int64_t now_ms) = 0;

  virtual Result<std::optional<StoredRecord>> LoadRecord(v1::RecordType type,
                                                         const std::string& id) = 0;
  // Stores the record's new state with the next server seq (dense, monotonic, assigned inside this
  // transaction), and returns that seq.
  virtual Result<uint64_t> SaveRecord(const v1::RecordState& state, const std::string& region) = 0;
  // Records that the record left `old_region` at `server_seq` (the seq of the change that moved it).
  virtual Status AddScopeExit(uint64_t server_seq, v1::RecordType type, const std::string& id,
                              const std::string& old_region) = 0;
  // The contacts, visits and placement changes of a child.
  virtual Result<std::vector<StoredRecord>> LoadChildDependents(const std::string& child_id) = 0;

  // Adds a conflict unless one with the same (record, field, losing stamp) is stored. Returns
  // whether it was new.
  virtual Result<bool> AddConflict(const StoredConflict& conflict) = 0;

  // Up to `limit` feed entries with server_seq > `cursor` in `scope`, ascending.
  virtual Result<std::vector<FeedEntry>> Feed(uint64_t cursor, const Scope& scope,
                                              size_t limit) = 0;

  // The seq of the latest committed change (0 for an empty store).
  virtual Result<uint64_t> LastServerSeq() = 0;

  virtual Result<HlcValue> LoadClock() = 0;
  virtual Status SaveClock(HlcValue value) = 0;

  virtual Status Commit() = 0;
};

class CentralStore {
 public:
  virtual ~CentralStore() = default;

  // A write transaction (at most one at a time; others wait).
  virtual Result<std::unique_ptr<StoreTransaction>> Begin() = 0;

  // ---- Users and devices (administration and login).
  virtual Status AddUser(const UserRecord& user) = 0;  // AlreadyExists for a taken name
  virtual Result<std::optional<UserRecord>> FindUser(const std::string& username) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  virtual Status SetUserDisabled(const std::string& username, bool disabled) = 0;
  virtual Status SetLoginFailures(const std::string& username, int failures,
                                  int64_t window_start_ms) = 0;

  // Binds `device_id` to `username` (on first login) and sets its token. PermissionDenied when the
  // device belongs to another user or was revoked.
  virtual Status IssueDeviceToken(const std::string& device_id, const std::string& username,
                                  const std::string& token_hash, int64_t expires_ms,
                                  int64_t now_ms) = 0;
  virtual Result<std::optional<DeviceRecord>> FindDeviceByTokenHash(const std::string& hash) = 0;
  virtual Result<std::vector<DeviceRecord>> ListDevices() = 0;
  virtual Status RevokeDevice(const std::string& device_id, int64_t now_ms) = 0;

  // Counts for health and tests.
  virtual Result<uint64_t> CountRecords(v1::RecordType type) = 0;
  virtual Result<std::vector<StoredConflict>> ListConflicts() = 0;
};

}  // namespace vinculo::server
