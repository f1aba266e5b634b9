#pragma once
// Offline bundles: a device's pending mutations in one file, for a server that cannot be reached
// (carried on a USB stick from an area with no connection). The device seals a bundle for the
// server; the server opens it with its private key, checks which device made it, and applies the
// mutations with exactly the rules of an online sync (server/bundle_import.h). Shared by both
// sides: the device calls SealBundle, the server PeekBundle and OpenBundle. OpenSSL only.
//
// Security:
// - Confidential for the server: an ephemeral key pair of the server key's type (EC P-256 from
//   deploy/make-certs.sh, or X25519) is agreed with the server's public key (ECDH); HKDF-SHA256 of
//   the shared secret gives an AES-256-GCM key used once. Only the holder of the server's private
//   key can read the bundle; a copy left on a stick leaks nothing.
// - Authenticated as the device's: HMAC-SHA256 over the whole file with a key derived (HKDF-SHA256)
//   from the SHA-256 of the device's token — the value the server stores for the device — so the
//   server knows the bundle was made by a holder of that device's token, and that not one byte
//   changed since. A bundle made before the device's latest login does not verify (the token
//   changed); the device's next online sync pushes the same changes anyway.
//
// File format, version 1. STORED (on sticks, between versions of the device and the server):
// integers big-endian.
//   magic        8 bytes   "VINCBNDL"
//   version      u16       1
//   device id    u16 length, then that many bytes (the device's UUID)
//   created      u64       Unix ms on the device's clock when sealed
//   ephemeral    u16 length, then the ephemeral public key (DER SubjectPublicKeyInfo)
//   nonce        12 bytes  AES-GCM nonce
//   ciphertext   u32 length, then AES-256-GCM(payload), additional data = every byte above
//   tag          16 bytes  the GCM tag
//   mac          32 bytes  HMAC-SHA256 over every byte above
// The payload is a serialized vinculo.v1.SyncRequest: device_id, the mutations in seq order,
// clock (the device's HLC when sealed); cursor and limit unused.
// AES key = HKDF-SHA256(ikm = shared secret, salt = ephemeral key DER, info =
// "vinculo-bundle-v1 aes-256-gcm"), 32 bytes. MAC key = HKDF-SHA256(ikm = lowercase hex SHA-256 of
// the token as text, salt = "vinculo-bundle-v1 mac", info = device id), 32 bytes.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::client {

inline constexpr char kBundleMagic[] = "VINCBNDL";  // 8 bytes, no NUL in the file
inline constexpr uint16_t kBundleVersion = 1;
// The largest file PeekBundle and OpenBundle accept: a device's outbox is far smaller.
inline constexpr size_t kMaxBundleBytes = size_t{1} << 30;

// What the clear header says. Not authenticated until OpenBundle succeeds.
struct BundleHeader {
  uint16_t version = 0;
  std::string device_id;
  int64_t created_ms = 0;
};

// Lowercase hex SHA-256 of `token` (what the server stores as the device's token hash).
std::string BundleTokenHash(std::string_view token);

// The server's public key for sealing, as DER SubjectPublicKeyInfo, from its certificate (PEM) at
// `cert_file`. When `ca_file` is not empty the certificate must verify against that CA (the one the
// device trusts for TLS), and when `host` is not empty it must name that host or IP address — so a
// device never seals its children's data for the wrong key. NotFound / InvalidArgument naming the
// file; FailedPrecondition when verification fails, with OpenSSL's reason; InvalidArgument when the
// key is not EC or X25519 (RSA keys cannot do key agreement).
Result<std::string> ServerKeyFromCertificate(const std::string& cert_file,
                                             const std::string& ca_file = {},
                                             const std::string& host = {});

// Seals `request` (its device_id and mutations; clock as the device's HLC) for the server whose
// public key is `server_key_der`, authenticated with `token_hash` (BundleTokenHash of the device's
// token). Returns the file's bytes. InvalidArgument for an unusable key; Internal when OpenSSL
// fails.
Result<std::string> SealBundle(const v1::SyncRequest& request, int64_t created_ms,
                               const std::string& server_key_der, const std::string& token_hash);

// Reads the clear header of a bundle. DataLoss "not a Vínculo bundle" for another file,
// FailedPrecondition for a version this build does not know, DataLoss for a truncated header.
Result<BundleHeader> PeekBundle(std::string_view bundle);

// Verifies and decrypts a bundle with the server's private key (PEM text) and the token hash the
// server holds for the header's device. DataLoss when any byte was changed or the file is cut
// short (the MAC or the GCM tag does not verify, or the payload is not a SyncRequest for that
// device): nothing of such a bundle may be used. InvalidArgument for an unusable private key.
Result<v1::SyncRequest> OpenBundle(std::string_view bundle, const std::string& private_key_pem,
                                   const std::string& token_hash);

}  // namespace vinculo::client
