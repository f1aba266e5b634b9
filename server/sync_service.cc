#include "server/sync_service.h"

#include <algorithm>
#include <unordered_map>

#include "common/civil_time.h"
#include "common/echoes.h"
#include "common/field_seqs.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/state_digest.h"
#include "common/uniform_stamp.h"
#include "common/validate.h"

namespace vinculo::server {
namespace {

// What became of one pushed mutation.
struct MutationResult {
  std::optional<v1::Rejection> rejection;
  uint32_t new_conflicts = 0;
  // The server_seq the record was saved under when the device most likely holds that very state
  // already: every field of it carries the pushing device's stamp, and the device held the
  // record's previous version (it is new, or the device's cursor had passed its last change and it
  // stayed in the region). A device that accepts echoes is then sent the state's digest instead
  // of the state (v1::Echo), and checks it. 0 otherwise.
  uint64_t echo_seq = 0;
};

// The region of each child looked up during one request, so that a page of visits to the same
// children decodes each child once. A child saved in the request updates its entry.
using ChildRegions = std::unordered_map<std::string, std::string>;

// True when every field stamp of `state` is `device`'s.
bool AllStampsFrom(const v1::RecordState& state, const std::string& device) {
  if (state.stamps().empty()) return false;
  for (const v1::FieldStamp& fs : state.stamps()) {
    if (fs.stamp().device() != device) return false;
  }
  return true;
}

v1::Rejection Reject(uint64_t seq, v1::RejectionCode code, std::string message,
                     std::string field = {}) {
  v1::Rejection r;
  r.set_seq(seq);
  r.set_code(code);
  r.set_message(std::move(message));
  r.set_field(std::move(field));
  return r;
}

bool WritesOnlyOwnRegion(Role role) {
  return role == Role::kFieldWorker || role == Role::kRegionalOffice;
}

std::string RegionFieldPath(const v1::Record& record) {
  switch (TypeOf(record)) {
    case v1::RECORD_TYPE_CHILD: return "child.region";
    case v1::RECORD_TYPE_FAMILY: return "family.region";
    default: return std::string(RecordFieldName(TypeOf(record))) + ".child_id";
  }
}

// Moves a child's contacts, visits and placement changes to the child's new region, each as a new
// change, with an eviction for the region they left.
Status MoveDependents(StoreTransaction& txn, const std::string& child_id,
                      const std::string& new_region) {
  Result<std::vector<StoredRecord>> dependents = txn.LoadChildDependents(child_id);
  if (!dependents) return dependents.error();
  for (const StoredRecord& d : *dependents) {
    if (d.region == new_region) continue;
    Result<uint64_t> seq = txn.SaveRecord(d.state, new_region, &d);
    if (!seq) return seq.error();
    VINCULO_RETURN_IF_ERROR(
        txn.AddScopeExit(*seq, TypeOf(d.state.record()), RecordId(d.state.record()), d.region));
  }
  return Status::Ok();
}

// Applies one mutation whose seq is the device's next. Returns a rejection for a mutation the
// rules refuse; an Error only when the store fails (the whole request is then rolled back).
Result<MutationResult> ApplyOne(StoreTransaction& txn, const Principal& who, uint64_t cursor,
                                const v1::Mutation& m, const SyncLimits& limits,
                                HybridClock& clock, int64_t now_ms, ChildRegions& child_regions) {
  MutationResult result;
  if (Status s = CheckMutationShape(m); !s.ok()) {
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_MALFORMED, s.error().message,
                              s.error().field);
    return result;
  }
  if (Status s = HybridClock(0, {.max_ahead_ms = limits.max_clock_ahead_ms})
                     .CheckNotTooFarAhead(m.hlc(), static_cast<uint64_t>(now_ms));
      !s.ok()) {
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_CLOCK_AHEAD,
                              "the device clock is ahead of the server's: " + s.error().message +
                                  "; set the device's date and time and enter this change again",
                              "mutation.hlc");
    return result;
  }
  if (who.role == Role::kSupervisor) {
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_FORBIDDEN,
                              "supervisors review records; they do not write them from a device");
    return result;
  }

  const v1::RecordType type = TypeOf(m.record());
  const std::string& id = RecordId(m.record());
  Result<std::optional<StoredRecord>> stored = txn.LoadRecord(type, id);
  if (!stored) return stored.error();
  if (stored->has_value() && WritesOnlyOwnRegion(who.role) && (*stored)->region != who.region) {
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_FORBIDDEN,
                              std::string(RecordTypeName(type)) + " " + id +
                                  " belongs to another region",
                              RegionFieldPath(m.record()));
    return result;
  }

  v1::RecordState state = stored->has_value() ? (*stored)->state : v1::RecordState();
  Result<ApplyOutcome> applied = ApplyMutation(&state, m, who.device_id);
  if (!applied) {
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_MALFORMED, applied.error().message,
                              applied.error().field);
    return result;
  }
  if (!stored->has_value() && IsDeleted(state.record())) {
    // A delete of a record the server never stored (its creation was refused): a tombstone alone
    // has no region, so stored it would sit outside every region's scope, on the admins' devices
    // only. Refused, the device undoes the delete and drops the record as the server has none.
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_INVALID,
                              std::string(RecordTypeName(type)) + " " + id +
                                  " is not on the server (was its creation refused?): there is "
                                  "nothing to delete",
                              std::string(RecordFieldName(type)) + ".id");
    return result;
  }
  if (!IsDeleted(state.record())) {
    // A day of slack so that a device in a time zone ahead of UTC can record today's date.
    const ValidationContext context{.today = UtcDate(now_ms + 86'400'000)};
    std::vector<ValidationIssue> issues = ValidateRecord(state.record(), context);
    if (!issues.empty()) {
      result.rejection = Reject(m.seq(), v1::REJECTION_CODE_INVALID, issues.front().message,
                                issues.front().field);
      return result;
    }
  }
  Result<std::string> region = std::string();
  if (const std::string& child_id = RefsOf(state.record()).child_id;
      type != v1::RECORD_TYPE_CHILD && type != v1::RECORD_TYPE_FAMILY && !child_id.empty()) {
    if (auto known = child_regions.find(child_id); known != child_regions.end()) {
      region = known->second;
    } else {
      region = RegionOf(txn, state.record());
      if (region) child_regions.emplace(child_id, *region);
    }
  } else {
    region = RegionOf(txn, state.record());
  }
  if (!region) {
    if (region.error().code != ErrorCode::kNotFound) return region.error();
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_INVALID, region.error().message,
                              region.error().field);
    return result;
  }
  if (WritesOnlyOwnRegion(who.role) && *region != who.region) {
    result.rejection = Reject(m.seq(), v1::REJECTION_CODE_FORBIDDEN,
                              "region " + *region + " is not yours (" + who.region + ")",
                              RegionFieldPath(state.record()));
    return result;
  }

  if (applied->changed) {
    const StoredRecord* previous = stored->has_value() ? &**stored : nullptr;
    Result<uint64_t> seq = txn.SaveRecord(state, *region, previous);
    if (!seq) return seq.error();
    if (type == v1::RECORD_TYPE_CHILD) child_regions[id] = *region;
    const bool device_held_it = !stored->has_value() || ((*stored)->server_seq <= cursor &&
                                                         (*stored)->region == *region);
    if (device_held_it && AllStampsFrom(state, who.device_id)) result.echo_seq = *seq;
    if (stored->has_value() && (*stored)->region != *region) {
      VINCULO_RETURN_IF_ERROR(txn.AddScopeExit(*seq, type, id, (*stored)->region));
      if (type == v1::RECORD_TYPE_CHILD) VINCULO_RETURN_IF_ERROR(MoveDependents(txn, id, *region));
    }
  }
  if (applied->changed) {
    // Who changed which child's record: the audit log.
    const std::string child_id = type == v1::RECORD_TYPE_CHILD ? id : RefsOf(state.record()).child_id;
    if (!child_id.empty()) {
      VINCULO_RETURN_IF_ERROR(txn.AddAudit({.at_ms = now_ms,
                                            .username = who.username,
                                            .device_id = who.device_id,
                                            .remote = who.remote,
                                            .action = "write",
                                            .child_id = child_id,
                                            .record_type = type,
                                            .record_id = id}));
    }
  }
  for (const v1::Conflict& c : applied->conflicts) {
    Result<bool> added = txn.AddConflict({.conflict = c,
                                          .type = type,
                                          .region = *region,
                                          .device_id = who.device_id,
                                          .detected_ms = now_ms});
    if (!added) return added.error();
    if (*added) ++result.new_conflicts;
  }
  clock.Advance(m.hlc());
  return result;
}

}  // namespace

Scope ReadScope(const Principal& who) {
  if (who.role == Role::kAdmin) return {.all_regions = true};
  return {.all_regions = false, .region = who.region};
}

Result<std::string> RegionOf(StoreTransaction& txn, const v1::Record& record) {
  switch (record.kind_case()) {
    case v1::Record::kChild: return record.child().region();
    case v1::Record::kFamily: return record.family().region();
    default: break;
  }
  const RecordRefs refs = RefsOf(record);
  const std::string field = std::string(RecordFieldName(TypeOf(record))) + ".child_id";
  Result<std::optional<std::string>> child = txn.LoadRegion(v1::RECORD_TYPE_CHILD, refs.child_id);
  if (!child) return child.error();
  if (!child->has_value()) {
    return Error{ErrorCode::kNotFound, "no child " + refs.child_id + " on the server", field};
  }
  return std::move(**child);
}

Result<v1::SyncResponse> SyncService::Sync(const Principal& who, const v1::SyncRequest& request,
                                           int64_t now_ms) {
  if (request.device_id() != who.device_id) {
    return Error::PermissionDenied("the request names device " + request.device_id() +
                                   " but the token belongs to " + who.device_id);
  }
  if (request.held_through() > request.cursor()) {
    return Error::InvalidArgument("held_through " + std::to_string(request.held_through()) +
                                      " is beyond the cursor " + std::to_string(request.cursor()) +
                                      ": a device cannot hold changes it has not pulled",
                                  "held_through");
  }
  if (request.mutations_size() > static_cast<int>(limits_.max_mutations)) {
    return Error::ResourceExhausted("at most " + std::to_string(limits_.max_mutations) +
                                    " mutations per request");
  }
  Result<std::unique_ptr<StoreTransaction>> began = store_.Begin();
  if (!began) return began.error();
  StoreTransaction& txn = **began;

  Result<std::optional<DeviceRecord>> device = txn.FindDevice(who.device_id);
  if (!device) return device.error();
  if (!device->has_value()) return Error::Unauthenticated("unknown device " + who.device_id);
  Result<HlcValue> clock_value = txn.LoadClock();
  if (!clock_value) return clock_value.error();
  HybridClock clock(*clock_value, {.max_ahead_ms = limits_.max_clock_ahead_ms});
  (void)clock.Observe(request.clock(), static_cast<uint64_t>(now_ms));  // a far-off device clock is
                                                                         // refused per mutation

  v1::SyncResponse response;
  std::vector<std::pair<v1::RecordType, std::string>> rejected_records;
  ChildRegions child_regions;
  // (server_seq, mutation seq) of the request's own writes that may go back as digests;
  // ascending, since server seqs are assigned in order.
  std::vector<std::pair<uint64_t, uint64_t>> echoes;
  uint64_t last_seq = (*device)->last_seq;
  if (request.mutations_size() > 0) {
    // The device resends from its oldest pending seq: everything below is settled on both sides.
    VINCULO_RETURN_IF_ERROR(txn.PruneRejections(who.device_id, request.mutations(0).seq()));
  }
  for (const v1::Mutation& m : request.mutations()) {
    if (m.seq() <= last_seq) {
      // Settled before: a resend after a lost reply. A rejection is told again, since the device
      // may never have heard it.
      Result<std::optional<v1::Rejection>> told = txn.FindRejection(who.device_id, m.seq());
      if (!told) return told.error();
      if (told->has_value()) {
        *response.add_rejections() = **told;
        rejected_records.emplace_back(TypeOf(m.record()), RecordId(m.record()));
      }
      continue;
    }
    // A gap: an earlier mutation is missing. Nothing after it is applied; acked_seq tells the
    // device where to resend from.
    if (m.seq() != last_seq + 1) break;
    Result<MutationResult> r = ApplyOne(txn, who, request.cursor(), m, limits_, clock, now_ms, child_regions);
    if (!r) return r.error();
    if (r->echo_seq != 0 && request.accepts_echoes()) echoes.emplace_back(r->echo_seq, m.seq());
    if (r->rejection) {
      VINCULO_RETURN_IF_ERROR(txn.SaveRejection(who.device_id, *r->rejection));
      *response.add_rejections() = *r->rejection;
      rejected_records.emplace_back(TypeOf(m.record()), RecordId(m.record()));
    }
    response.set_conflicts(response.conflicts() + r->new_conflicts);
    last_seq = m.seq();
  }
  // Acknowledge no further than this request went. The device drops every outbox entry at or below
  // acked_seq, but it hears rejections only for the seqs it sent: a resend of fewer mutations than
  // were applied before (a smaller batch after a lost reply) would otherwise drop a rejected one
  // unheard, and its write would stay on the device for good.
  uint64_t acked = last_seq;
  if (request.mutations_size() > 0) {
    uint64_t highest_sent = 0;
    for (const v1::Mutation& m : request.mutations()) highest_sent = std::max(highest_sent, m.seq());
    acked = std::min(last_seq, highest_sent);
  }
  response.set_acked_seq(acked);
  // The server's state of each refused write's record, so the device can undo the write; only
  // records the device may read.
  const Scope scope = ReadScope(who);
  for (const auto& [type, id] : rejected_records) {
    if (type == v1::RECORD_TYPE_UNSPECIFIED || id.empty()) continue;
    Result<std::optional<StoredRecord>> current = txn.LoadRecord(type, id);
    if (!current) return current.error();
    if (current->has_value() && (scope.all_regions || (*current)->region == scope.region)) {
      *response.add_rejected_records() = (*current)->state;
    }
  }
  VINCULO_RETURN_IF_ERROR(txn.SetDeviceLastSeq(who.device_id, last_seq, now_ms));

  // Pull: the page after the device's cursor, in its scope.
  Result<uint64_t> last_server_seq = txn.LastServerSeq();
  if (!last_server_seq) return last_server_seq.error();
  if (request.cursor() > *last_server_seq) {
    // The server was restored from an older backup: keep what was pushed, send nothing, and tell
    // the device to pull again from the start.
    response.set_reset_required(true);
    response.set_next_cursor(0);
    response.set_has_more(true);  // pull again, from the start
    response.set_server_clock(clock.Tick(static_cast<uint64_t>(now_ms)));
    VINCULO_RETURN_IF_ERROR(txn.SaveClock(clock.last()));
    VINCULO_RETURN_IF_ERROR(txn.Commit());
    return response;
  }
  const uint32_t page = request.limit() == 0 ? limits_.default_page
                                             : std::min(request.limit(), limits_.max_page);
  Result<std::vector<FeedEntry>> feed = txn.Feed(request.cursor(), scope, page + 1);
  if (!feed) return feed.error();
  response.set_has_more(feed->size() > page);
  if (feed->size() > page) feed->pop_back();
  uint64_t next_cursor = request.cursor();
  std::vector<EchoEntry> echoed;
  for (FeedEntry& e : *feed) {
    next_cursor = e.server_seq;
    // The device's own writes of this request, which it most likely holds already: their digest.
    auto echo = std::lower_bound(echoes.begin(), echoes.end(),
                                 std::make_pair(e.server_seq, uint64_t{0}));
    if (e.state && echo != echoes.end() && echo->first == e.server_seq) {
      echoed.push_back({.server_seq = e.server_seq,
                        .mutation_seq = echo->second,
                        .state_digest = StateDigestOfBytes(*e.state)});
      continue;
    }
    if (e.state) {
      v1::Change* change = response.add_changes();
      change->set_server_seq(e.server_seq);
      if (!change->mutable_state()->ParseFromString(*e.state)) {
        return Error::DataLoss("the record at server_seq " + std::to_string(e.server_seq) +
                               " is damaged in the central store");
      }
      // A device that holds its scope whole up to held_through gets only what changed since.
      if (request.held_through() > 0 &&
          KeepChangesAfter(change->mutable_state(), e.field_seqs, request.held_through())) {
        change->set_partial(true);
      }
      if (request.accepts_uniform_stamps()) {
        std::optional<v1::Stamp> stamp = request.accepts_base_stamps()
                                             ? TakeBaseStamp(change->mutable_state())
                                             : TakeUniformStamp(change->mutable_state());
        if (stamp) *change->mutable_uniform_stamp() = std::move(*stamp);
      }
    } else {
      v1::Eviction* eviction = response.add_evictions();
      eviction->set_server_seq(e.server_seq);
      eviction->set_type(e.evicted_type);
      eviction->set_record_id(e.evicted_id);
    }
  }
  PutEchoes(echoed, request.accepts_echo_pages(), &response);
  response.set_next_cursor(next_cursor);
  response.set_server_clock(clock.Tick(static_cast<uint64_t>(now_ms)));
  VINCULO_RETURN_IF_ERROR(txn.SaveClock(clock.last()));
  VINCULO_RETURN_IF_ERROR(txn.Commit());
  return response;
}

}  // namespace vinculo::server
