#pragma once
// Per-field merge of records, generic over every record message through protobuf reflection: a new
// record type needs no new merge code. Pure: no I/O, no clock, no logging.
//
// A record's state is its field values plus, per field, the stamp (hlc, device) of its last write
// (v1::RecordState). Two operations:
//
// - ApplyMutation: a write made on a device meets a replica's stored state (in practice the server's,
//   where every device's writes meet). Per field, the higher stamp wins. The write carries the stamps
//   its author had before writing (its bases); when the stored stamp is not that base and the values
//   differ, the author had not seen the stored value: the writes were concurrent, and the losing
//   value is returned as a Conflict. Deleting and editing concurrently is always a conflict.
// - MergeState: a replica folds in another replica's state of the same record (a device applying a
//   pulled change). Per field, the higher stamp wins; no conflicts are detected here, since they were
//   decided where the writes met. Commutative, associative and idempotent.
//
// docs/protocol.md states the rules with a worked example.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/hlc.h"
#include "common/result.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo {

// Orders stamps by hlc, then device bytewise: <0, 0, >0. The zero stamp is below all others.
int CompareStamps(const v1::Stamp& a, const v1::Stamp& b);
inline bool StampLess(const v1::Stamp& a, const v1::Stamp& b) { return CompareStamps(a, b) < 0; }
inline bool StampEqual(const v1::Stamp& a, const v1::Stamp& b) { return CompareStamps(a, b) == 0; }
bool IsZeroStamp(const v1::Stamp& stamp);
v1::Stamp MakeStamp(HlcValue hlc, std::string_view device);

// The stamp of `field` in `state`, or the zero stamp when it was never written.
const v1::Stamp& FieldStampOf(const v1::RecordState& state, uint32_t field);

// The highest stamp of any field of `state` (zero for an empty state).
const v1::Stamp& MaxStamp(const v1::RecordState& state);

// What applying a mutation did.
struct ApplyOutcome {
  bool changed = false;                 // some field took the mutation's value
  // Values that lost to a concurrent write. One field can yield two: an edit of a deleted record
  // (EDIT_OF_DELETED) that also overwrote a concurrent value (CONCURRENT_WRITE).
  std::vector<v1::Conflict> conflicts;
};

// Checks that `mutation` is well-formed on its own: a record kind and a UUID-shaped id are set, the
// written field numbers exist in that record type, ascend without repeats, exclude `id`, and name
// `deleted` only alone; every value set is listed; the hlc is not zero and is above every base;
// every base names a field of the record. InvalidArgument naming the rule otherwise.
Status CheckMutationShape(const v1::Mutation& mutation);

// Applies `mutation`, written on `device`, to the stored `state` of its record (an empty state for a
// record not seen before). Fails with InvalidArgument, leaving `state` untouched, when the mutation
// is ill-formed (CheckMutationShape) or names another record or kind than `state` holds.
// Applying the same mutation again changes nothing; it may report the same conflicts again (same
// keys), so a conflict log must be a set keyed by (record, field, losing stamp).
Result<ApplyOutcome> ApplyMutation(v1::RecordState* state, const v1::Mutation& mutation,
                                   std::string_view device);

// Folds `other` (another replica's state of the same record) into `state`. Returns whether `state`
// changed. Fails with InvalidArgument, leaving `state` untouched, when the two are different records.
Result<bool> MergeState(v1::RecordState* state, const v1::RecordState& other);

// A device's local edit as a mutation: writes `fields` of `values` (a record of the right kind and
// id), with bases taken from the device's current `state` of the record. For a delete (`fields` is
// just `deleted`), the bases name every field the device holds. Does not change `state`: apply the
// result with ApplyMutation, in the same transaction that queues it.
v1::Mutation MakeMutation(const v1::RecordState& state, const v1::Record& values,
                          std::span<const uint32_t> fields, HlcValue hlc, uint64_t seq);

// Undoes a write the server refused: each of `fields` whose stamp in `state` is still `stamp`
// takes its value and stamp from `authority` (the server's state of the record), or is cleared and
// loses its stamp when the authority has none (or is null). Fields written since keep their value.
void RevertFields(v1::RecordState* state, const v1::Stamp& stamp, std::span<const uint32_t> fields,
                  const v1::RecordState* authority);

// Field numbers of `record` whose value differs from the default (all set fields), ascending,
// without `id`: the fields a new record writes.
std::vector<uint32_t> SetFields(const v1::Record& record);

}  // namespace vinculo
