#pragma once
// The wire forms of a record state whose fields mostly carry one stamp. A record created and never
// edited since (nearly every record of a first pull) has one stamp on every field; a record edited
// since has the creation's stamp on all but the edited fields. A sync reply may carry that stamp
// once (v1::Change.uniform_stamp) instead of on every such field. Pure: no I/O.

#include <optional>

#include "common/result.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo {

// The uniform form, for a device that set accepts_uniform_stamps: when every stamped field of
// `state` carries the same stamp and the stamped fields are exactly the record's set fields
// (SetFields, merge.h), clears the stamps and returns that stamp. Otherwise, and for a state with
// no stamps, leaves `state` untouched and returns nullopt.
std::optional<v1::Stamp> TakeUniformStamp(v1::RecordState* state);

// The base form, for a device that set accepts_base_stamps: when the record has set fields and
// every one is stamped, removes the stamps of the set fields that carry the stamp most of them
// carry (the first such stamp in field order on a tie) and returns that stamp: the base. Stamps of
// fields that are not set, and the other stamps, stay. Otherwise leaves `state` untouched and
// returns nullopt. A state the uniform form takes comes out of this one the same way.
std::optional<v1::Stamp> TakeBaseStamp(v1::RecordState* state);

// Rebuilds a state taken by either form: stamps with `stamp` every set field of `state`'s record
// that has no stamp, keeping the stamps sorted by field. InvalidArgument, leaving `state`
// untouched, when its record has no kind, its stamps are not strictly ascending by field, or
// `stamp` lacks its hlc or its device.
Status PutBaseStamp(v1::RecordState* state, const v1::Stamp& stamp);

}  // namespace vinculo
