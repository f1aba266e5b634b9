#pragma once
// Helpers the core's tests and the simulation share to build record states and compare them.

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/merge.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo {

// `m` in protobuf's deterministic serialization: what "the same state, byte for byte" compares.
inline std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

// `state` after `device` writes `fields` of `values` at `hlc`, as a device's store would.
inline v1::RecordState Written(v1::RecordState state, const v1::Record& values,
                               std::vector<uint32_t> fields, HlcValue hlc,
                               const std::string& device) {
  const v1::Mutation m = MakeMutation(state, values, fields, hlc, 1);
  EXPECT_TRUE(ApplyMutation(&state, m, device).has_value());
  return state;
}

}  // namespace vinculo
