#include "common/state_digest.h"

#include <openssl/sha.h>

#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace vinculo {

uint64_t StateDigestOfBytes(std::string_view serialized) {
  unsigned char hash[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(serialized.data()), serialized.size(), hash);
  uint64_t digest = 0;
  for (int i = 0; i < 8; ++i) digest = (digest << 8) | hash[i];
  return digest;
}

uint64_t StateDigest(const v1::RecordState& state) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    state.SerializeToCodedStream(&out);
  }
  return StateDigestOfBytes(bytes);
}

}  // namespace vinculo
