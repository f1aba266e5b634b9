#include "common/zstd.h"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <new>

namespace vinculo {
namespace {

// A decoder needs memory for the frame's whole window: a hostile frame could ask for gigabytes.
// Our compressor's windows stay far below this for bodies up to the server's 32 MiB limit.
constexpr int kMaxWindowLog = 24;  // 16 MiB

struct FreeCCtx {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct FreeDStream {
  void operator()(ZSTD_DStream* d) const { ZSTD_freeDStream(d); }
};

// One compression and one decompression context per thread, reused: making a context costs about
// as much as compressing a small sync body, and a server thread compresses thousands of them.
// Each call resets its context first, so that a failed call leaves nothing behind.
ZSTD_CCtx* ThreadCompressor() {
  thread_local const std::unique_ptr<ZSTD_CCtx, FreeCCtx> context(ZSTD_createCCtx());
  return context.get();
}

ZSTD_DStream* ThreadDecompressor() {
  thread_local const std::unique_ptr<ZSTD_DStream, FreeDStream> stream(ZSTD_createDStream());
  return stream.get();
}

Error NotZstd(size_t code) {
  return Error::InvalidArgument(
      std::string("the body is not valid zstd (") + ZSTD_getErrorName(code) + ")", "body");
}

}  // namespace

std::string ZstdCompress(std::string_view data, int level) {
  ZSTD_CCtx* context = ThreadCompressor();
  if (context == nullptr) throw std::bad_alloc();
  ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);  // damage is caught, not decoded
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress2(context, out.data(), out.size(), data.data(), data.size());
  // Only a destination smaller than ZSTD_compressBound or an allocation failure can fail here.
  if (ZSTD_isError(n)) throw std::bad_alloc();
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view data, size_t max_bytes) {
  ZSTD_DStream* stream = ThreadDecompressor();
  if (stream == nullptr) return Error::Internal("zstd would not start");
  ZSTD_DCtx_reset(stream, ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, kMaxWindowLog);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string out;
  // Room for the frame's stated size taken at once, up to 32 times the input: a false statement
  // costs no more than that, and max_bytes below still bounds what is inflated.
  if (const unsigned long long stated = ZSTD_getFrameContentSize(data.data(), data.size());
      stated != ZSTD_CONTENTSIZE_UNKNOWN && stated != ZSTD_CONTENTSIZE_ERROR) {
    out.reserve(std::min({static_cast<size_t>(stated), max_bytes, data.size() * 32}));
  }
  char buffer[64 * 1024];
  size_t remaining = 0;  // what the decoder still expects; 0 once the last frame is complete
  bool filled = false;   // the last call filled the buffer: it may hold more to give
  do {
    ZSTD_outBuffer chunk{buffer, sizeof buffer, 0};
    remaining = ZSTD_decompressStream(stream, &chunk, &in);
    if (ZSTD_isError(remaining)) return NotZstd(remaining);
    out.append(buffer, chunk.pos);
    if (out.size() > max_bytes) {
      return Error{ErrorCode::kResourceExhausted,
                   "the decompressed body exceeds " + std::to_string(max_bytes) + " bytes", "body"};
    }
    filled = chunk.pos == chunk.size;
  } while (in.pos < in.size || (remaining != 0 && filled));
  if (data.empty() || remaining != 0) {
    return Error::InvalidArgument("the zstd body is truncated", "body");
  }
  return out;
}

}  // namespace vinculo
