#include "common/zstd.h"

#include <zstd.h>

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

Error NotZstd(size_t code) {
  return Error::InvalidArgument(
      std::string("the body is not valid zstd (") + ZSTD_getErrorName(code) + ")", "body");
}

}  // namespace

std::string ZstdCompress(std::string_view data, int level) {
  std::unique_ptr<ZSTD_CCtx, FreeCCtx> context(ZSTD_createCCtx());
  if (!context) throw std::bad_alloc();
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_checksumFlag, 1);  // damage is caught, not decoded
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n =
      ZSTD_compress2(context.get(), out.data(), out.size(), data.data(), data.size());
  // Only a destination smaller than ZSTD_compressBound or an allocation failure can fail here.
  if (ZSTD_isError(n)) throw std::bad_alloc();
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view data, size_t max_bytes) {
  std::unique_ptr<ZSTD_DStream, FreeDStream> stream(ZSTD_createDStream());
  if (!stream) return Error::Internal("zstd would not start");
  ZSTD_DCtx_setParameter(stream.get(), ZSTD_d_windowLogMax, kMaxWindowLog);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string out;
  char buffer[64 * 1024];
  size_t remaining = 0;  // what the decoder still expects; 0 once the last frame is complete
  bool filled = false;   // the last call filled the buffer: it may hold more to give
  do {
    ZSTD_outBuffer chunk{buffer, sizeof buffer, 0};
    remaining = ZSTD_decompressStream(stream.get(), &chunk, &in);
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
