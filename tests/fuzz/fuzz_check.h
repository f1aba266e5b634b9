#pragma once
// What the fuzz targets share: the libFuzzer entry points' declarations and FUZZ_CHECK, the oracle
// that turns a broken promise into a crash (which libFuzzer reports and the corpus replay fails on).

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Aborts, naming the broken promise, when `condition` is false. Not compiled out in any build.
#define FUZZ_CHECK(condition, what)                                                    \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__,   \
                   #condition, std::string(what).c_str());                             \
      std::abort();                                                                    \
    }                                                                                  \
  } while (false)

namespace vinculo::fuzz {

// Silences protobuf's log (it complains on stderr about every string that is not UTF-8, which
// fuzzers produce all the time). Call once; returns true.
inline bool QuietProtobuf() {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace vinculo::fuzz
