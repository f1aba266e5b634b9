#pragma once
// zstd bodies for HTTP (Content-Encoding: zstd, RFC 8878), over libzstd. Preferred to gzip by the
// reference client and the server: on sync pages it is about three times faster than gzip's
// default level and a fifth smaller (docs/performance.md).

#include <string>
#include <string_view>

#include "common/result.h"

namespace vinculo {

// The level used for HTTP bodies: 6 compresses a 1.2 MB page of visits in about 10 ms here.
inline constexpr int kZstdBodyLevel = 6;

// `data` as one zstd frame at `level`, with its content size and a checksum of the content.
std::string ZstdCompress(std::string_view data, int level = kZstdBodyLevel);

// The decompressed `data` (one or more frames). InvalidArgument when it is not zstd, is damaged or
// truncated, or asks for a window larger than 16 MiB; ResourceExhausted when the result would exceed
// `max_bytes` (a decompression bomb is refused before it is inflated).
Result<std::string> ZstdDecompress(std::string_view data, size_t max_bytes);

}  // namespace vinculo
