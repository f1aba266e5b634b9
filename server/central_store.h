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

#include "common/field_seqs.h"
#include "common/hlc.h"
#include "common/record.h"
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
  FieldSeqs field_seqs;        // when each of its fields last changed (set by StoreTransaction's
                               // reads; CentralStore's query reads leave it empty)
};

// Which records a reader may see: one region, or all of them.
struct Scope {
  bool all_regions = false;
  std::string region;
};

// One entry of the pull feed, in server_seq order: a record's state, or its leaving the scope.
struct FeedEntry {
  uint64_t server_seq = 0;
  std::optional<std::string> state;       // set for a change: its v1::RecordState as stored,
                                          // serialized (an echo needs only its digest)
  FieldSeqs field_seqs;                   // for a change: when each of its fields last changed
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
  int64_t resolved_ms = 0;  // 0 while open
  std::string resolved_by;
  std::string resolution;   // "keep_winner" or "reinstate_loser"
};

// Who read or changed which child's record. STORED.
struct AuditRecord {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string username;
  std::string device_id;
  std::string remote;
  std::string action;      // "read" or "write"
  std::string child_id;
  v1::RecordType record_type = v1::RECORD_TYPE_UNSPECIFIED;
  std::string record_id;
};

// Filters of GET /v1/visits. Results come in (at_ms, id) order, after `after` when set.
struct VisitQuery {
  Scope scope;
  std::string worker;                 // empty: any
  std::string child_id;               // empty: any
  std::optional<int64_t> from_ms;     // visited at or after
  std::optional<int64_t> to_ms;       // visited before
  int kind = 0;                       // v1::VisitKind; 0: any
  std::optional<std::pair<int64_t, std::string>> after;  // the last (at_ms, id) of the previous page
  size_t limit = 500;
};

// A child's latest visit (for overdue and caseload figures).
struct LatestVisit {
  int64_t at_ms = 0;
  std::string at_text;     // visited_at as written
  std::string due;         // next_visit_due; empty when none was agreed
};

// A child's case as the store's columns hold it: what caseload and outcomes need, without
// decoding the record.
struct CaseSummary {
  std::string child_id;
  std::string region;
  std::string worker;      // assigned_worker
  std::string programme;
  int status = 0;          // v1::CaseStatus
  int placement = 0;       // v1::Placement, the current one
};

// An open case (not closed) with its latest live visit: what caseload and overdue start from.
struct OpenCase {
  CaseSummary summary;
  std::optional<LatestVisit> latest;  // unset: never visited
};

// A placement change as the outcomes count it.
struct PlacementMove {
  std::string child_id;
  int64_t day = 0;         // changed_on, in days since 1970
  int from = 0;            // v1::Placement
  int to = 0;
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
  // transaction), and returns that seq. `previous` is the record as LoadRecord returned it in this
  // transaction, unchanged since (nullptr: there is none, a new record): saving reads nothing.
  virtual Result<uint64_t> SaveRecord(const v1::RecordState& state, const std::string& region,
                                      const StoredRecord* previous) = 0;
  // The same, loading the record's previous version first.
  Result<uint64_t> SaveRecord(const v1::RecordState& state, const std::string& region);
  // The region of a stored record (nullopt when there is none), without decoding its state.
  virtual Result<std::optional<std::string>> LoadRegion(v1::RecordType type,
                                                        const std::string& id) = 0;
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

  virtual Status AddAudit(const AuditRecord& entry) = 0;

  // Rejections are remembered per (device, seq), so that a resend after a lost reply is told again.
  virtual Status SaveRejection(const std::string& device_id, const v1::Rejection& rejection) = 0;
  virtual Result<std::optional<v1::Rejection>> FindRejection(const std::string& device_id,
                                                             uint64_t seq) = 0;
  // Forgets the device's rejections below `seq` (the device no longer holds those mutations).
  virtual Status PruneRejections(const std::string& device_id, uint64_t seq) = 0;

  // NotFound when there is no such conflict.
  virtual Status MarkConflictResolved(int64_t id, const std::string& by,
                                      const std::string& resolution, int64_t now_ms) = 0;

  virtual Status Commit() = 0;
};

// A group commit: the work of several requests in one store transaction, made durable by one
// commit (one fsync instead of one per request). See CentralStore::BeginGroup.
class StoreGroup {
 public:
  // Rolls back everything done in the group unless it was committed.
  virtual ~StoreGroup() = default;
  // Makes every nested transaction committed in the group durable, all together. On an error
  // nothing of the group is kept.
  virtual Status Commit() = 0;
};

class CentralStore {
 public:
  virtual ~CentralStore() = default;

  // A write transaction (at most one at a time; others wait). While a group is open (BeginGroup),
  // the transaction is nested in the group: its Commit keeps its work in the group, durable only
  // when the group commits; destroyed without Commit, it undoes its own work and nothing else.
  virtual Result<std::unique_ptr<StoreTransaction>> Begin() = 0;

  // Opens a group commit. REQUIRES: no transaction or group open. Writes made outside Begin's
  // transactions while the group is open also join the group. A reply that acknowledges work done
  // in the group must wait for StoreGroup::Commit. The default for a store without groups: each
  // transaction commits on its own, and the group's Commit does nothing.
  virtual Result<std::unique_ptr<StoreGroup>> BeginGroup() {
    struct Ungrouped final : StoreGroup {
      Status Commit() override { return Status::Ok(); }
    };
    return std::unique_ptr<StoreGroup>(new Ungrouped());
  }

  // ---- Users and devices (administration and login).
  virtual Status AddUser(const UserRecord& user) = 0;  // AlreadyExists for a taken name
  virtual Result<std::optional<UserRecord>> FindUser(const std::string& username) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  virtual Status SetUserDisabled(const std::string& username, bool disabled) = 0;
  virtual Status SetLoginFailures(const std::string& username, int failures,
                                  int64_t window_start_ms) = 0;

  // Binds `device_id` to `username` (on first login) and sets its token, remembering `store_id`
  // (the device store that logged in). PermissionDenied when the device belongs to another user or
  // was revoked. Returns the store's base seq: 0 for the device's first store; for another store
  // of an enrolled device (a wiped phone), the device's last seq when that store first logged in
  // (LoginResponse.store_base_seq).
  virtual Result<uint64_t> IssueDeviceToken(const std::string& device_id, const std::string& username,
                                        const std::string& token_hash, int64_t expires_ms,
                                        int64_t now_ms, const std::string& store_id = {}) = 0;
  virtual Result<std::optional<DeviceRecord>> FindDeviceByTokenHash(const std::string& hash) = 0;
  virtual Result<std::vector<DeviceRecord>> ListDevices() = 0;
  virtual Status RevokeDevice(const std::string& device_id, int64_t now_ms) = 0;
  // Voids the device's token (a sign-out); the device may log in again.
  virtual Status ClearDeviceToken(const std::string& device_id) = 0;

  // Counts for health and tests.
  virtual Result<uint64_t> CountRecords(v1::RecordType type) = 0;

  // ---- Conflicts and audit.
  // Conflicts in `scope` (all when `open_only` is false), oldest first.
  virtual Result<std::vector<StoredConflict>> ListConflicts(const Scope& scope = {.all_regions = true},
                                                            bool open_only = false) = 0;
  virtual Result<std::optional<StoredConflict>> FindConflict(int64_t id) = 0;
  virtual Status AddAudit(const AuditRecord& entry) = 0;
  // Audit entries with id > `after_id`, oldest first, at most `limit`.
  virtual Result<std::vector<AuditRecord>> ListAudit(int64_t after_id, size_t limit) = 0;

  // ---- Supervisor queries: reads of committed state, outside write transactions.
  virtual Result<std::optional<StoredRecord>> ReadRecord(v1::RecordType type,
                                                         const std::string& id) = 0;
  // A child's contacts, visits and placement changes (deleted ones included).
  virtual Result<std::vector<StoredRecord>> ReadChildRecords(const std::string& child_id) = 0;
  // Every record of `type` in `scope` that is not deleted.
  virtual Result<std::vector<StoredRecord>> ReadRecords(v1::RecordType type, const Scope& scope) = 0;
  // Every child in `scope` that is not deleted, as a summary, in no particular order.
  virtual Result<std::vector<CaseSummary>> ReadCases(const Scope& scope) = 0;
  // Every placement change in `scope` that is not deleted and has a child and a date, in no
  // particular order.
  virtual Result<std::vector<PlacementMove>> ReadPlacementMoves(const Scope& scope) = 0;
  virtual Result<std::vector<StoredRecord>> QueryVisits(const VisitQuery& query) = 0;
  // Every open child in `scope` that is not deleted, with its latest visit (not deleted), in no
  // particular order. Reads one row a child, however many visits there are.
  virtual Result<std::vector<OpenCase>> ReadOpenCases(const Scope& scope) = 0;
  // Visits (not deleted) per worker with at_ms in [from_ms, to_ms).
  virtual Result<std::vector<std::pair<std::string, uint32_t>>> VisitCountsByWorker(
      const Scope& scope, int64_t from_ms, int64_t to_ms) = 0;
};

inline Result<uint64_t> StoreTransaction::SaveRecord(const v1::RecordState& state,
                                                    const std::string& region) {
  Result<std::optional<StoredRecord>> previous = LoadRecord(TypeOf(state.record()),
                                                            RecordId(state.record()));
  if (!previous) return previous.error();
  return SaveRecord(state, region, previous->has_value() ? &**previous : nullptr);
}

}  // namespace vinculo::server
