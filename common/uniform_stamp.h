#pragma once
// The wire form of a record state whose fields were all written by one write (a record created and
// never edited since: nearly every record of a first pull). Its per-field stamps repeat one stamp,
// so a sync reply may carry that stamp once (v1::Change.uniform_stamp) instead. Pure: no I/O.

#include <optional>

#include "common/result.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo {

// When every stamped field of `state` carries the same stamp and the stamped fields are exactly
// the record's set fields (SetFields, merge.h), clears the stamps and returns that stamp:
// PutUniformStamp then rebuilds `state` exactly (in the same schema). Otherwise, and for a state
// with no stamps, leaves `state` untouched and returns nullopt.
std::optional<v1::Stamp> TakeUniformStamp(v1::RecordState* state);

// Stamps every set field of `state`'s record with `stamp`. InvalidArgument, leaving `state`
// untouched, when `state` already has stamps, its record has no kind, or `stamp` lacks its hlc or
// its device.
Status PutUniformStamp(v1::RecordState* state, const v1::Stamp& stamp);

}  // namespace vinculo
