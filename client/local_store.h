#pragma once
// The device's local store: every record with its field stamps, the device's identity and persisted
// clock, the outbox of mutations waiting to be pushed, the mutations the server rejected, and the
// pull cursor — one SQLite file in WAL mode, so that a field worker's work survives a crash or a
// flat battery at any instant.
//
// Every local write and its outbox entry commit in one transaction: after a crash either both are
// there or neither is. Every read sees only committed state.
//
// Thread-compatible: one LocalStore is used by one thread at a time. Two processes may open the
// same file; SQLite serializes their writes (a writer waits up to 5 s, then Unavailable).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::client {

// The schema version this build writes (PRAGMA user_version). STORED ON DISK: a store of a newer
// version is refused, an older one is migrated forward on open.
inline constexpr int kStoreSchemaVersion = 2;

// Identity a device is created with by `vinculo init`.
struct DeviceSetup {
  std::string server_url;  // e.g. "https://vinculo.example.org:8443"; remembered, not contacted
  std::string ca_file;     // the CA certificate that signs the server's certificate
  std::string device_id;   // empty: a new UUIDv7 is made
};

// What `vinculo status` shows.
struct DeviceStatus {
  std::string device_id;
  std::string server_url;
  std::string ca_file;
  std::string username;          // empty until login
  uint64_t pending = 0;          // mutations waiting to be pushed
  uint64_t acked_seq = 0;        // the highest seq the server acknowledged
  uint64_t next_seq = 1;         // the seq the next local write gets
  uint64_t cursor = 0;           // server_seq of the last change pulled
  uint64_t hlc = 0;              // the device's persisted HLC (common/hlc.h)
  int64_t last_sync_ms = 0;      // 0: never synced
  std::string last_sync_result;  // one line, e.g. "pushed 3, pulled 12, rejected 0, conflicts 1"
  uint64_t records = 0;          // records held, deleted ones included
};

// A mutation the server refused. It stays on the device, visibly, until the worker deals with it.
struct RejectedMutation {
  v1::Mutation mutation;
  std::string code;     // e.g. "invalid", "forbidden"
  std::string message;
  std::string field;
  int64_t rejected_ms = 0;
};

// One line of the caseload.
struct CaseloadEntry {
  v1::Child child;
  std::string last_visit_at;   // visited_at of the latest visit, empty when never visited
  std::string next_visit_due;  // next_visit_due agreed at the latest visit, empty when none
  bool overdue = false;        // next_visit_due is before today, or no visit and no due date
  int64_t days_overdue = 0;    // days past next_visit_due (0 when not overdue or no due date)
};

// What applying a sync reply changed.
struct PullSummary {
  uint64_t acknowledged = 0;  // outbox entries removed (applied or rejected)
  uint64_t rejected = 0;
  uint64_t changes = 0;
  uint64_t evictions = 0;
  uint64_t echoes = 0;  // own writes the server echoed as digests that matched what the store holds
  // The cursor after this page: the reply's next_cursor, or just below an echo that did not match
  // (the page was applied up to it, and the next round sends that record in full).
  uint64_t cursor = 0;
  // True when the server has more to send (has_more) or the page stopped at an unmatched echo.
  bool more = false;
  // True when the page stopped at a partial change of a record this device does not hold: the
  // next round asks for everything from there whole (held_through 0).
  bool asks_whole = false;
  // True when ApplySyncResponse's `finished` was given and called: the sync is complete and its
  // result line was recorded in the same transaction.
  bool result_recorded = false;
};

class LocalStore {
 public:
  // Creates a new store at `path`. Fails with AlreadyExists when the file exists (a store is never
  // overwritten), InvalidArgument when the setup is incomplete.
  static Result<LocalStore> Create(const std::string& path, const DeviceSetup& setup,
                                   int64_t now_ms);

  // Opens an existing store. NotFound when missing; DataLoss when the file is not a Vínculo store or
  // is damaged; FailedPrecondition when it was written by a newer Vínculo. Never repairs or
  // overwrites anything.
  static Result<LocalStore> Open(const std::string& path);

  LocalStore(LocalStore&&) noexcept;
  LocalStore& operator=(LocalStore&&) noexcept;
  ~LocalStore();

  // ---- Local writes. Each validates the whole resulting record, then commits the record and its
  // outbox entry together. On any error nothing is written. `now_ms` is the wall clock.

  // Adds a new record. An empty id gets a new UUIDv7; a given id must be a UUID not yet used.
  // Returns the id.
  Result<std::string> Add(const v1::Record& record, int64_t now_ms);

  // Adds many new records in one transaction: all or nothing (the first invalid record fails the
  // whole call, naming its position). For bulk entry and imports. Returns the ids in order.
  Result<std::vector<std::string>> AddAll(const std::vector<v1::Record>& records, int64_t now_ms);

  // Changes `fields` (field numbers of the record message) of an existing record to their values in
  // `values` (a record of the same kind; a listed field absent there is cleared). NotFound for an
  // unknown or deleted id; InvalidArgument naming the field for an invalid result.
  Status Update(v1::RecordType type, const std::string& id, const v1::Record& values,
                const std::vector<uint32_t>& fields, int64_t now_ms);

  // Deletes (tombstones) a record. NotFound when unknown or already deleted.
  Status Delete(v1::RecordType type, const std::string& id, int64_t now_ms);

  // Undoes a delete: writes `deleted` = false, so the record and its values are back (on every
  // device, after sync). NotFound when unknown; FailedPrecondition when it is not deleted.
  Status Restore(v1::RecordType type, const std::string& id, int64_t now_ms);

  // ---- Reads.

  // A record with its stamps. NotFound when unknown; a deleted record is returned (check
  // `deleted`) only when `include_deleted`.
  Result<v1::RecordState> Get(v1::RecordType type, const std::string& id,
                              bool include_deleted = false);

  // Every record of `type`, ordered by id (UUIDv7: creation order).
  Result<std::vector<v1::RecordState>> List(v1::RecordType type, bool include_deleted = false);

  // The children whose case is not closed, with their latest visit and next visit due: overdue
  // first (most days overdue first), then by next visit due, then by name. `today` is YYYY-MM-DD.
  Result<std::vector<CaseloadEntry>> Caseload(const std::string& today);

  Result<DeviceStatus> ReadStatus();

  // What a sync round needs of the device row — the pull cursor and the persisted HLC — without
  // ReadStatus's counts, which scan the outbox and every record.
  struct SyncPosition {
    uint64_t cursor = 0;
    uint64_t hlc = 0;
    // The server_seq through which the device holds its whole scope as the server did: the end of
    // the last sync that caught up (a last page, has_more false, applied whole); 0 before one and
    // after a partial change of a record not held. SyncRequest's held_through.
    uint64_t held_through = 0;
  };
  Result<SyncPosition> ReadSyncPosition();
  Result<std::vector<RejectedMutation>> Rejected();

  // Every record with its stamps, deleted ones included, ordered by kind then id: the same records
  // yield the same sequence on every device.
  Result<std::vector<v1::RecordState>> ExportAll();

  // ---- Sync support.

  // The outbox: pending mutations in seq order, at most `limit`.
  Result<std::vector<v1::Mutation>> Pending(size_t limit);

  // Applies one sync reply in one transaction: drops acknowledged outbox entries (moving rejected
  // ones to the rejected list and undoing their writes locally), merges the changes and removes
  // evicted records in server_seq order, advances the cursor to next_cursor (or back to 0 when the
  // server says reset_required) and folds in the server clock. A change of a record kind this
  // build does not know (from a newer server) is skipped. An echo (a write of this device sent
  // back as a digest) whose digest is not that of the state held here stops the page: nothing from
  // it on is applied and the cursor stops just below it, so that the next round brings the record
  // in full (PullSummary::more).
  // A reply whose next_cursor is below the current cursor is refused (DataLoss): the cursor never
  // moves back and never past what was applied.
  //
  // `finished` (may be empty): when the reply ends the sync — the server has nothing more
  // (has_more false) and the outbox is empty once the reply is applied — the line it returns for
  // this page's summary is recorded as the last sync result (as RecordSyncResult would, at now_ms)
  // in the same transaction, so the last page and the result cost one commit, one fsync.
  Result<PullSummary> ApplySyncResponse(
      const v1::SyncResponse& response, int64_t now_ms,
      const std::function<std::string(const PullSummary&)>& finished = {});

  Status RecordSyncResult(const std::string& summary_line, int64_t now_ms);

  // After login: where this store's seqs start on the server (LoginResponse.store_base_seq), and
  // the device's last seq there. A new store for an enrolled device id (a wiped phone, a re-created
  // store) has its pending mutations renumbered after the base, in one transaction, so the server
  // does not take them for resends and skip them. Idempotent: a store that adopted the base (its
  // acked seq reached it) is left alone. Returns how many were renumbered.
  Result<uint64_t> AdoptServerSeq(uint64_t server_last_seq, uint64_t store_base_seq = 0);
  Status SetCredentials(const std::string& username, const std::string& token);
  Result<std::string> Token();

  const std::string& device_id() const;
  // This store's own random id (not the device's): a re-created store has a new one.
  const std::string& store_id() const;

 private:
  struct Impl;
  explicit LocalStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vinculo::client
