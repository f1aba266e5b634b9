#pragma once
// UUIDv7 record and device ids (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made
// later sort later, which keeps B-tree inserts local. Text form: canonical lowercase 8-4-4-4-12.

#include <array>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace vinculo {

// The UUIDv7 for `unix_ms` with the given 10 random bytes (74 of their bits are used). Pure.
std::string UuidV7(uint64_t unix_ms, const std::array<uint8_t, 10>& random);

// A new UUIDv7 for `unix_ms`, its random bits from OpenSSL's CSPRNG. Ids made by one thread sort in
// the order they were made, also within one millisecond and when the clock goes back (they keep
// counting from the last). Fails only when OpenSSL cannot produce random bytes.
Result<std::string> NewUuidV7(uint64_t unix_ms);

}  // namespace vinculo
