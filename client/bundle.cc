#include "client/bundle.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace vinculo::client {
namespace {

constexpr size_t kMagicSize = 8;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kMacSize = 32;
constexpr size_t kKeySize = 32;
constexpr char kAesInfo[] = "vinculo-bundle-v1 aes-256-gcm";
constexpr char kMacSalt[] = "vinculo-bundle-v1 mac";

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Deleter<EVP_KDF_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

// The latest OpenSSL error queued on this thread as text (and the queue cleared).
std::string OpenSslReason() {
  unsigned long code = 0, last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(last, buffer, sizeof buffer);
  return buffer;
}

Error OpenSslError(const std::string& what) {
  return Error::Internal(what + ": " + OpenSslReason());
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Result<std::string> ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot read " + std::string(what) + " " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::string> Hkdf(std::string_view ikm, std::string_view salt, std::string_view info,
                         size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return OpenSslError("HKDF is not available");
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  EVP_KDF_free(kdf);
  if (!ctx) return OpenSslError("HKDF");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), length, params) !=
      1) {
    return OpenSslError("HKDF");
  }
  return out;
}

Result<std::string> MacKey(const std::string& token_hash, const std::string& device_id) {
  return Hkdf(token_hash, kMacSalt, device_id, kKeySize);
}

Result<std::string> HmacSha256(const std::string& key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), Bytes(data),
                data.size(), out, sizeof out, &length) == nullptr ||
      length != kMacSize) {
    return OpenSslError("HMAC-SHA256");
  }
  return std::string(reinterpret_cast<char*>(out), length);
}

bool IsAgreementKey(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "EC") || EVP_PKEY_is_a(key, "X25519") || EVP_PKEY_is_a(key, "X448");
}

Result<std::string> Derive(EVP_PKEY* own, EVP_PKEY* peer) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  size_t length = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1) {
    return OpenSslError("key agreement");
  }
  std::string secret(length, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) != 1) {
    return OpenSslError("key agreement");
  }
  secret.resize(length);
  return secret;
}

void PutU16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

// Reads the fields of a bundle in order; every read fails once the data runs out.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Bytes(size_t n, std::string_view* out) {
    if (data_.size() - pos_ < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool U(size_t width, uint64_t* out) {
    std::string_view b;
    if (!Bytes(width, &b)) return false;
    *out = 0;
    for (char c : b) *out = (*out << 8) | static_cast<unsigned char>(c);
    return true;
  }
  bool Sized(size_t width, std::string_view* out) {
    uint64_t n = 0;
    return U(width, &n) && Bytes(static_cast<size_t>(n), out);
  }
  size_t pos() const { return pos_; }
  size_t left() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Every part of a bundle, as views into its bytes.
struct Parts {
  BundleHeader header;
  std::string_view ephemeral, nonce, header_bytes, ciphertext, tag, signed_bytes, mac;
};

Result<Parts> Split(std::string_view bundle) {
  if (bundle.size() > kMaxBundleBytes) {
    return Error::ResourceExhausted("the bundle is larger than " +
                                    std::to_string(kMaxBundleBytes >> 20) + " MiB");
  }
  Parts parts;
  Reader r(bundle);
  std::string_view magic, device;
  uint64_t version = 0, created = 0;
  if (!r.Bytes(kMagicSize, &magic) || magic != std::string_view(kBundleMagic, kMagicSize)) {
    return Error::DataLoss("not a Vínculo bundle (it does not start with " +
                           std::string(kBundleMagic) + ")");
  }
  if (!r.U(2, &version)) return Error::DataLoss("the bundle is cut short in its header");
  parts.header.version = static_cast<uint16_t>(version);
  if (version != kBundleVersion) {
    return Error::FailedPrecondition("the bundle has format version " + std::to_string(version) +
                                     "; this build reads version " +
                                     std::to_string(kBundleVersion));
  }
  if (!r.Sized(2, &device) || !r.U(8, &created)) {
    return Error::DataLoss("the bundle is cut short in its header");
  }
  parts.header.device_id = std::string(device);
  parts.header.created_ms = static_cast<int64_t>(created);
  if (!r.Sized(2, &parts.ephemeral) || !r.Bytes(kNonceSize, &parts.nonce)) {
    return Error::DataLoss("the bundle is cut short in its header");
  }
  parts.header_bytes = bundle.substr(0, r.pos());
  if (!r.Sized(4, &parts.ciphertext) || !r.Bytes(kTagSize, &parts.tag)) {
    return Error::DataLoss("the bundle is cut short: it was damaged or not copied whole");
  }
  parts.signed_bytes = bundle.substr(0, r.pos());
  if (!r.Bytes(kMacSize, &parts.mac)) {
    return Error::DataLoss("the bundle is cut short: it was damaged or not copied whole");
  }
  if (r.left() != 0) {
    return Error::DataLoss("the bundle has " + std::to_string(r.left()) +
                           " bytes after its end: it was damaged or altered");
  }
  return parts;
}

Result<PkeyPtr> PublicKeyFromDer(std::string_view der) {
  const unsigned char* p = Bytes(der);
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != Bytes(der) + der.size()) {
    ERR_clear_error();
    return Error::InvalidArgument("not a DER public key");
  }
  return key;
}

}  // namespace

std::string BundleTokenHash(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(Bytes(token), token.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

Result<std::string> ServerKeyFromCertificate(const std::string& cert_file,
                                             const std::string& ca_file, const std::string& host) {
  Result<std::string> pem = ReadWholeFile(cert_file, "the server certificate");
  if (!pem) return pem.error();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return Error::InvalidArgument(cert_file +
                                  " is not a PEM certificate (give the server's "
                                  "certificate, e.g. server.pem)");
  }
  if (!ca_file.empty()) {
    StorePtr store(X509_STORE_new());
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!store || !ctx) return OpenSslError("certificate store");
    if (X509_STORE_load_file(store.get(), ca_file.c_str()) != 1) {
      ERR_clear_error();
      return Error::NotFound("cannot load the CA certificate " + ca_file);
    }
    if (X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
      return OpenSslError("certificate check");
    }
    if (!host.empty()) {
      X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
      if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
        ERR_clear_error();
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
      }
    }
    if (X509_verify_cert(ctx.get()) != 1) {
      const int code = X509_STORE_CTX_get_error(ctx.get());
      ERR_clear_error();
      return Error::FailedPrecondition(cert_file + " is not this device's server's certificate: " +
                                       X509_verify_cert_error_string(code) + " (checked against " +
                                       ca_file + (host.empty() ? "" : " and host " + host) + ")");
    }
  }
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) return OpenSslError("the certificate's public key");
  if (!IsAgreementKey(key)) {
    return Error::InvalidArgument("the key of " + cert_file +
                                  " is not an EC or X25519 key; bundles need one (make-certs.sh "
                                  "makes EC P-256 keys)");
  }
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  if (length <= 0) return OpenSslError("the certificate's public key");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

Result<std::string> SealBundle(const v1::SyncRequest& request, int64_t created_ms,
                               const std::string& server_key_der, const std::string& token_hash) {
  if (request.device_id().empty() || request.device_id().size() > 0xffff) {
    return Error::InvalidArgument("the request names no device", "device_id");
  }
  Result<PkeyPtr> server_key = PublicKeyFromDer(server_key_der);
  if (!server_key) return server_key.error();
  if (!IsAgreementKey(server_key->get())) {
    return Error::InvalidArgument("the server key is not an EC or X25519 key");
  }
  // The ephemeral key: same type and curve as the server's.
  PkeyCtxPtr gen(EVP_PKEY_CTX_new_from_pkey(nullptr, server_key->get(), nullptr));
  EVP_PKEY* raw_ephemeral = nullptr;
  if (!gen || EVP_PKEY_keygen_init(gen.get()) != 1 ||
      EVP_PKEY_keygen(gen.get(), &raw_ephemeral) != 1) {
    return OpenSslError("ephemeral key");
  }
  PkeyPtr ephemeral(raw_ephemeral);
  Result<std::string> secret = Derive(ephemeral.get(), server_key->get());
  if (!secret) return secret.error();
  unsigned char* der = nullptr;
  const int der_length = i2d_PUBKEY(ephemeral.get(), &der);
  if (der_length <= 0) return OpenSslError("ephemeral key");
  const std::string ephemeral_der(reinterpret_cast<char*>(der), static_cast<size_t>(der_length));
  OPENSSL_free(der);
  Result<std::string> aes_key = Hkdf(*secret, ephemeral_der, kAesInfo, kKeySize);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!aes_key) return aes_key.error();
  unsigned char nonce[kNonceSize];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return OpenSslError("random nonce");

  std::string out(kBundleMagic, kMagicSize);
  PutU16(out, kBundleVersion);
  PutU16(out, static_cast<uint16_t>(request.device_id().size()));
  out += request.device_id();
  PutU64(out, static_cast<uint64_t>(created_ms));
  PutU16(out, static_cast<uint16_t>(ephemeral_der.size()));
  out += ephemeral_der;
  out.append(reinterpret_cast<char*>(nonce), sizeof nonce);
  const size_t header_size = out.size();

  const std::string payload = request.SerializeAsString();
  if (payload.size() > kMaxBundleBytes - 4096) {
    return Error::ResourceExhausted("too many changes for one bundle");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string ciphertext(payload.size(), '\0');
  int length = 0, final_length = 0;
  unsigned char tag[kTagSize];
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(*aes_key), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(out), static_cast<int>(header_size)) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()), &length,
                        Bytes(payload), static_cast<int>(payload.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()) + length,
                          &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1) {
    OPENSSL_cleanse(aes_key->data(), aes_key->size());
    return OpenSslError("AES-256-GCM");
  }
  OPENSSL_cleanse(aes_key->data(), aes_key->size());
  PutU32(out, static_cast<uint32_t>(ciphertext.size()));
  out += ciphertext;
  out.append(reinterpret_cast<char*>(tag), sizeof tag);

  Result<std::string> mac_key = MacKey(token_hash, request.device_id());
  if (!mac_key) return mac_key.error();
  Result<std::string> mac = HmacSha256(*mac_key, out);
  if (!mac) return mac.error();
  out += *mac;
  return out;
}

Result<BundleHeader> PeekBundle(std::string_view bundle) {
  Result<Parts> parts = Split(bundle);
  if (!parts) return parts.error();
  return parts->header;
}

Result<v1::SyncRequest> OpenBundle(std::string_view bundle, const std::string& private_key_pem,
                                   const std::string& token_hash) {
  Result<Parts> parts = Split(bundle);
  if (!parts) return parts.error();
  // The device's MAC first: a bundle altered anywhere, or made by another holder, stops here.
  Result<std::string> mac_key = MacKey(token_hash, parts->header.device_id);
  if (!mac_key) return mac_key.error();
  Result<std::string> mac = HmacSha256(*mac_key, parts->signed_bytes);
  if (!mac) return mac.error();
  if (CRYPTO_memcmp(mac->data(), parts->mac.data(), kMacSize) != 0) {
    return Error::DataLoss(
        "the bundle does not verify as device " + parts->header.device_id +
        "'s: it was altered or damaged after it was made (or made before the device's latest "
        "login, with a token the server no longer holds)");
  }

  BioPtr bio(BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  PkeyPtr server_key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!server_key) {
    ERR_clear_error();
    return Error::InvalidArgument("not a PEM private key (give the server's key, e.g. server.key)",
                                  "--key");
  }
  Result<PkeyPtr> ephemeral = PublicKeyFromDer(parts->ephemeral);
  if (!ephemeral) return Error::DataLoss("the bundle's ephemeral key is damaged");
  Result<std::string> secret = Derive(server_key.get(), ephemeral->get());
  if (!secret) {
    return Error::InvalidArgument(
        "this key cannot open the bundle (is it the private key of the certificate the device "
        "sealed it for?): " +
            secret.error().message,
        "--key");
  }
  Result<std::string> aes_key = Hkdf(*secret, parts->ephemeral, kAesInfo, kKeySize);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!aes_key) return aes_key.error();

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string payload(parts->ciphertext.size(), '\0');
  int length = 0, final_length = 0;
  unsigned char tag[kTagSize];
  std::memcpy(tag, parts->tag.data(), kTagSize);
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(*aes_key), Bytes(parts->nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(parts->header_bytes),
                        static_cast<int>(parts->header_bytes.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(payload.data()), &length,
                        Bytes(parts->ciphertext),
                        static_cast<int>(parts->ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(payload.data()) + length,
                          &final_length) == 1;
  OPENSSL_cleanse(aes_key->data(), aes_key->size());
  if (!ok) {
    ERR_clear_error();
    return Error::DataLoss(
        "the bundle cannot be decrypted with this key: it was sealed for another server's "
        "certificate, or altered");
  }
  v1::SyncRequest request;
  if (!request.ParseFromString(payload)) {
    return Error::DataLoss("the bundle's contents are not a list of changes");
  }
  if (request.device_id() != parts->header.device_id) {
    return Error::DataLoss("the bundle's contents name device " + request.device_id() +
                           ", its header " + parts->header.device_id);
  }
  return request;
}

}  // namespace vinculo::client
