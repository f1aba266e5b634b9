#pragma once
// A short fingerprint of a record's whole state (values and field stamps), so that the server can
// tell a device "you hold this already" without sending the state back (SyncResponse.echoes).
// Pure: no I/O.

#include <cstdint>
#include <string_view>

#include "vinculo/v1/sync.pb.h"

namespace vinculo {

// The first 8 bytes (big-endian) of SHA-256 over `state` serialized deterministically. ON THE WIRE:
// the server and the device must compute it alike. Equal digests mean equal states (short of a
// 64-bit collision); unequal digests may also come from builds that serialize differently (a
// newer schema's unknown fields), which only costs the device a round trip.
uint64_t StateDigest(const v1::RecordState& state);

// StateDigest of the state whose serialization by this library is `serialized` (as the stores keep
// states), without decoding it: no message a RecordState holds has a map field, so its plain and
// deterministic serializations are the same bytes. Bytes written otherwise (another library
// ordering fields differently) give another digest, which costs the device a round trip.
uint64_t StateDigestOfBytes(std::string_view serialized);

}  // namespace vinculo
