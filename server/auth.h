#pragma once
// Credentials: password hashing with scrypt (memory-hard, OpenSSL's EVP_PBE_scrypt), device bearer
// tokens (random, stored only as their SHA-256), and the roles. No I/O besides OpenSSL's CSPRNG.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vinculo::server {

enum class Role { kFieldWorker, kRegionalOffice, kSupervisor, kAdmin };

// "field_worker", "regional_office", "supervisor", "admin". STORED AND ON THE WIRE.
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// scrypt cost. The defaults take ~32 MiB and ~0.1 s per hash on the reference machine; tests use
// cheaper ones.
struct PasswordCost {
  uint64_t n = 1 << 15;
  uint64_t r = 8;
  uint64_t p = 1;
};

// "scrypt$N$r$p$<salt hex>$<hash hex>" for `password` with a fresh random salt. STORED ON DISK.
// InvalidArgument for a password holding a NUL byte: scrypt keys HMAC with the password, and HMAC
// pads short keys with zero bytes, so "secret" and "secret\0\0" would hash alike.
Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost = {});

// True when `password` matches `encoded` (compared in constant time). False for a malformed
// encoding, and for a password holding a NUL byte (see HashPassword).
bool VerifyPassword(std::string_view password, std::string_view encoded);

// A new bearer token: 32 random bytes as 64 hex characters.
Result<std::string> NewToken();

// Lowercase hex SHA-256 of `token`: what the server stores and looks tokens up by.
std::string TokenHash(std::string_view token);

}  // namespace vinculo::server
