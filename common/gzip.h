#pragma once
// gzip bodies for HTTP (Content-Encoding: gzip), over zlib.

#include <string>
#include <string_view>

#include "common/result.h"

namespace vinculo {

// `data` gzip-compressed at the default level.
std::string GzipCompress(std::string_view data);

// The gunzipped `data`. InvalidArgument when it is not gzip or is damaged; ResourceExhausted when
// the result would exceed `max_bytes` (a decompression bomb is refused before it is inflated).
Result<std::string> GzipDecompress(std::string_view data, size_t max_bytes);

}  // namespace vinculo
