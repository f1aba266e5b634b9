// Linked into the API fuzz targets (and their replays) only: replaces OpenSSL's EVP_PBE_scrypt for
// server/auth.cc with the real function at a cost capped to N = 16, r = 1, p = 1. A login costs
// ~0.1 s and 32 MiB at the server's default cost, and an unknown user is verified against a
// default-cost dummy hash (api.cc), so without this a login fuzzer would manage ten inputs a second.
// Hashing and verifying both go through here, so every hash still verifies against its password.
//
// How: a definition in the executable wins over the one in libcrypto.so when the static linker
// resolves auth.o's reference; the real function is found with dlsym(RTLD_NEXT).
#include <dlfcn.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "tests/fuzz/fuzz_check.h"

namespace vinculo::fuzz {
std::atomic<long> cheap_scrypt_calls{0};  // checked once at start-up: the interposition works
}  // namespace vinculo::fuzz

extern "C" int EVP_PBE_scrypt(const char* pass, size_t passlen, const unsigned char* salt,
                              size_t saltlen, uint64_t N, uint64_t r, uint64_t p, uint64_t maxmem,
                              unsigned char* key, size_t keylen) {
  using Scrypt = int (*)(const char*, size_t, const unsigned char*, size_t, uint64_t, uint64_t,
                         uint64_t, uint64_t, unsigned char*, size_t);
  static const Scrypt real = reinterpret_cast<Scrypt>(dlsym(RTLD_NEXT, "EVP_PBE_scrypt"));
  FUZZ_CHECK(real != nullptr, "find libcrypto's EVP_PBE_scrypt");
  ++vinculo::fuzz::cheap_scrypt_calls;
  if (key == nullptr) return real(pass, passlen, salt, saltlen, N, r, p, maxmem, key, keylen);
  return real(pass, passlen, salt, saltlen, std::min<uint64_t>(N, 16), std::min<uint64_t>(r, 1),
              std::min<uint64_t>(p, 1), maxmem, key, keylen);
}
