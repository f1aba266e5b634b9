#include "client/bundle.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace vinculo::client {
namespace {

constexpr char kDevice[] = "019e8388-e492-7621-bcd7-000000000a0a";
constexpr int64_t kCreated = 1'780'000'000'000;

// A server key pair made in memory: its private key as PEM and its public key as DER.
struct KeyPair {
  std::string private_pem;
  std::string public_der;
};

KeyPair MakeKeyPair(const char* type, const char* curve = nullptr) {
  EVP_PKEY* key = nullptr;
  if (std::string_view(type) == "RSA") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  } else if (curve != nullptr) {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve);
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  }
  EXPECT_NE(key, nullptr);
  KeyPair pair;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  pair.private_pem.assign(data, static_cast<size_t>(length));
  BIO_free(bio);
  unsigned char* der = nullptr;
  const int der_length = i2d_PUBKEY(key, &der);
  pair.public_der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(der_length));
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  return pair;
}

v1::SyncRequest Request(int mutations) {
  v1::SyncRequest request;
  request.set_device_id(kDevice);
  request.set_clock(123456789);
  for (int i = 1; i <= mutations; ++i) {
    v1::Mutation* m = request.add_mutations();
    m->set_seq(static_cast<uint64_t>(i));
    m->mutable_record()->mutable_child()->set_id("019e8388-e492-7621-bcd7-00000000000" +
                                                 std::to_string(i % 10));
    m->mutable_record()->mutable_child()->set_given_name("Lucía");
    m->add_fields(2);
  }
  return request;
}

class BundleTest : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(BundleTest, RoundTrip) {
  const KeyPair server = MakeKeyPair(GetParam().first, GetParam().second);
  const std::string token_hash = BundleTokenHash("the-device-token");
  Result<std::string> bundle = SealBundle(Request(3), kCreated, server.public_der, token_hash);
  ASSERT_TRUE(bundle.has_value()) << bundle.error().ToString();
  EXPECT_EQ(bundle->substr(0, 8), "VINCBNDL");
  EXPECT_EQ(bundle->find("Lucía"), std::string::npos) << "the payload is encrypted";

  Result<BundleHeader> header = PeekBundle(*bundle);
  ASSERT_TRUE(header.has_value()) << header.error().ToString();
  EXPECT_EQ(header->version, kBundleVersion);
  EXPECT_EQ(header->device_id, kDevice);
  EXPECT_EQ(header->created_ms, kCreated);

  Result<v1::SyncRequest> opened = OpenBundle(*bundle, server.private_pem, token_hash);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  EXPECT_EQ(opened->SerializeAsString(), Request(3).SerializeAsString());
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, BundleTest,
                         ::testing::Values(std::make_pair("EC", "P-256"),
                                           std::make_pair("X25519", nullptr)),
                         [](const auto& param_info) {
                           return std::string(param_info.param.second != nullptr ? "EcP256"
                                                                                 : "X25519");
                         });

TEST(Bundle, TwoSealsOfTheSameChangesDiffer) {
  const KeyPair server = MakeKeyPair("EC", "P-256");
  Result<std::string> a = SealBundle(Request(1), kCreated, server.public_der, "h");
  Result<std::string> b = SealBundle(Request(1), kCreated, server.public_der, "h");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // a fresh ephemeral key and nonce each time
}

TEST(Bundle, EveryFlippedByteIsRefused) {
  const KeyPair server = MakeKeyPair("EC", "P-256");
  const std::string token_hash = BundleTokenHash("token");
  Result<std::string> bundle = SealBundle(Request(2), kCreated, server.public_der, token_hash);
  ASSERT_TRUE(bundle.has_value());
  for (size_t i = 0; i < bundle->size(); ++i) {
    std::string tampered = *bundle;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    Result<v1::SyncRequest> opened = OpenBundle(tampered, server.private_pem, token_hash);
    ASSERT_FALSE(opened.has_value()) << "byte " << i << " of " << bundle->size();
    const ErrorCode code = opened.error().code;
    EXPECT_TRUE(code == ErrorCode::kDataLoss || code == ErrorCode::kFailedPrecondition)
        << "byte " << i << ": " << opened.error().ToString();
  }
}

TEST(Bundle, CutOrExtendedBundleIsRefused) {
  const KeyPair server = MakeKeyPair("EC", "P-256");
  Result<std::string> bundle = SealBundle(Request(2), kCreated, server.public_der, "h");
  ASSERT_TRUE(bundle.has_value());
  for (size_t length : {size_t{0}, size_t{5}, size_t{40}, bundle->size() - 1}) {
    Result<v1::SyncRequest> opened = OpenBundle(bundle->substr(0, length), server.private_pem, "h");
    ASSERT_FALSE(opened.has_value()) << length;
    EXPECT_EQ(opened.error().code, ErrorCode::kDataLoss) << length;
  }
  Result<v1::SyncRequest> longer = OpenBundle(*bundle + "x", server.private_pem, "h");
  ASSERT_FALSE(longer.has_value());
  EXPECT_NE(longer.error().message.find("after its end"), std::string::npos);
}

TEST(Bundle, AnotherTokenDoesNotVerify) {
  const KeyPair server = MakeKeyPair("EC", "P-256");
  Result<std::string> bundle =
      SealBundle(Request(1), kCreated, server.public_der, BundleTokenHash("old token"));
  ASSERT_TRUE(bundle.has_value());
  Result<v1::SyncRequest> opened =
      OpenBundle(*bundle, server.private_pem, BundleTokenHash("new token"));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(opened.error().message.find("does not verify"), std::string::npos);
}

TEST(Bundle, AnotherServerKeyCannotDecrypt) {
  const KeyPair server = MakeKeyPair("EC", "P-256");
  const KeyPair other = MakeKeyPair("EC", "P-256");
  Result<std::string> bundle = SealBundle(Request(1), kCreated, server.public_der, "h");
  ASSERT_TRUE(bundle.has_value());
  Result<v1::SyncRequest> opened = OpenBundle(*bundle, other.private_pem, "h");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(opened.error().message.find("cannot be decrypted"), std::string::npos);
}

TEST(Bundle, OtherFilesAreNotBundles) {
  Result<BundleHeader> header = PeekBundle("SQLite format 3\0 and more");
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(header.error().message.find("not a Vínculo bundle"), std::string::npos);
  Result<BundleHeader> future = PeekBundle(std::string("VINCBNDL\x00\x02", 10) + "rest");
  ASSERT_FALSE(future.has_value());
  EXPECT_EQ(future.error().code, ErrorCode::kFailedPrecondition);
}

TEST(Bundle, RsaServerKeysAreRefusedWhenSealing) {
  const KeyPair rsa = MakeKeyPair("RSA", nullptr);
  Result<std::string> bundle = SealBundle(Request(1), kCreated, rsa.public_der, "h");
  ASSERT_FALSE(bundle.has_value());
  EXPECT_EQ(bundle.error().code, ErrorCode::kInvalidArgument);
}

TEST(Bundle, TokenHashIsLowercaseHexSha256) {
  EXPECT_EQ(BundleTokenHash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace vinculo::client
