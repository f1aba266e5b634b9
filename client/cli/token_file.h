#pragma once
// A device token kept in a file of its own, for a sync that runs as a service: `vinculo login
// --token-file FILE` writes it, `vinculo sync --token-file FILE` reads it. The token is this
// device's password towards the server, so the file must be readable by its owner only.
//
// Format (STORED ON DISK): the token on one line (64 lowercase hex characters today), then a
// newline. Whitespace around it is ignored when reading.

#include <string>

#include "common/result.h"

namespace vinculo::client::cli {

// The token in `path`. Errors, each naming the file:
//   NotFound           — no such file;
//   FailedPrecondition — not a regular file, or its mode lets the group or others read or write
//                        it (the mode must be 0600 or stricter: the message says which mode it has
//                        and the chmod that fixes it);
//   InvalidArgument    — the file is empty or holds more than one token-like word;
//   Internal           — it cannot be read.
Result<std::string> ReadTokenFile(const std::string& path);

// Writes `token` to `path` with mode 0600, replacing the file atomically (a temporary file in the
// same directory, fsynced, then renamed over it). Internal naming the file when that fails.
Status WriteTokenFile(const std::string& path, const std::string& token);

}  // namespace vinculo::client::cli
