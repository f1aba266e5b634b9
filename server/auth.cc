#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <vector>

namespace vinculo::server {
namespace {

constexpr std::pair<Role, std::string_view> kRoles[] = {
    {Role::kFieldWorker, "field_worker"},
    {Role::kRegionalOffice, "regional_office"},
    {Role::kSupervisor, "supervisor"},
    {Role::kAdmin, "admin"},
};

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0F]);
  }
  return out;
}

std::optional<std::vector<unsigned char>> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<unsigned char> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, value, 16);
    if (ec != std::errc() || end != hex.data() + 2 * i + 2) return std::nullopt;
    out[i] = static_cast<unsigned char>(value);
  }
  return out;
}

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

bool Scrypt(std::string_view password, const unsigned char* salt, size_t salt_size,
            const PasswordCost& cost, unsigned char* out) {
  // maxmem: enough for N * r * 128 bytes plus slack.
  const uint64_t maxmem = cost.n * cost.r * 128 * 2 + (1 << 20);
  return EVP_PBE_scrypt(password.data(), password.size(), salt, salt_size, cost.n, cost.r, cost.p,
                        maxmem, out, kHashBytes) == 1;
}

}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [r, name] : kRoles) {
    if (r == role) return name;
  }
  return "field_worker";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& [r, n] : kRoles) {
    if (n == name) return r;
  }
  return std::nullopt;
}

Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost) {
  if (password.find('\0') != std::string_view::npos) {
    return Error::InvalidArgument("must not contain a NUL byte", "password");
  }
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return Error::Internal("OpenSSL could not produce random bytes for a salt");
  }
  std::array<unsigned char, kHashBytes> hash{};
  if (!Scrypt(password, salt.data(), salt.size(), cost, hash.data())) {
    return Error::Internal("scrypt failed (cost parameters too large?)");
  }
  return "scrypt$" + std::to_string(cost.n) + "$" + std::to_string(cost.r) + "$" +
         std::to_string(cost.p) + "$" + Hex(salt.data(), salt.size()) + "$" +
         Hex(hash.data(), hash.size());
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  // scrypt cannot tell "secret" from "secret\0\0" (HMAC pads short keys with zeros): a password
  // with a NUL is never right, whatever the hash.
  if (password.find('\0') != std::string_view::npos) return false;
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dollar = encoded.find('$', start);
    parts.push_back(encoded.substr(start, dollar - start));
    if (dollar == std::string_view::npos) break;
    start = dollar + 1;
  }
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  PasswordCost cost;
  for (auto [text, target] : {std::pair{parts[1], &cost.n}, {parts[2], &cost.r}, {parts[3], &cost.p}}) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *target);
    if (ec != std::errc() || end != text.data() + text.size()) return false;
  }
  if (cost.n < 2 || cost.n > (1u << 22) || cost.r == 0 || cost.r > 32 || cost.p == 0 || cost.p > 16) {
    return false;  // refuse cost parameters that could exhaust the server
  }
  std::optional<std::vector<unsigned char>> salt = Unhex(parts[4]);
  std::optional<std::vector<unsigned char>> expected = Unhex(parts[5]);
  if (!salt || !expected || expected->size() != kHashBytes) return false;
  std::array<unsigned char, kHashBytes> actual{};
  if (!Scrypt(password, salt->data(), salt->size(), cost, actual.data())) return false;
  return CRYPTO_memcmp(actual.data(), expected->data(), kHashBytes) == 0;
}

Result<std::string> NewToken() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Error::Internal("OpenSSL could not produce random bytes for a token");
  }
  return Hex(bytes.data(), bytes.size());
}

std::string TokenHash(std::string_view token) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return Hex(digest.data(), digest.size());
}

}  // namespace vinculo::server
