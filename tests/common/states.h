#pragma once
// Helpers the core's tests and the simulation share to build record states and compare them.

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/merge.h"
#include "common/record.h"
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

// One random write, number `w` (from 0) of a history of the home visit `id`: the first sets most
// fields; a later one writes a few (with values, or cleared), or deletes or restores the visit.
struct RandomWrite {
  v1::Record values;
  std::vector<uint32_t> fields;
};
inline RandomWrite RandomVisitWrite(std::mt19937_64& rng, int w, const std::string& id) {
  static constexpr uint32_t kFields[] = {2, 6, 7, 8, 9, 10, 11, 12};
  RandomWrite out;
  v1::HomeVisit* v = out.values.mutable_home_visit();
  v->set_id(id);
  if (w > 0 && rng() % 5 == 0) {
    v->set_deleted(rng() % 2 == 0);
    out.fields.push_back(kDeletedField);
    return out;
  }
  for (uint32_t f : kFields) {
    if (w == 0 ? rng() % 4 != 0 : rng() % 3 == 0) out.fields.push_back(f);
  }
  if (out.fields.empty()) out.fields.push_back(8);
  if (rng() % 4 != 0) {  // else the fields are written cleared
    v->set_child_id("01890a5d-ac96-774b-bcce-b302099a8058");
    v->set_kind(v1::VISIT_KIND_ASSESSMENT);
    v->add_attendees("p" + std::to_string(rng() % 3));
    v->set_observations("obs " + std::to_string(rng() % 3));
    v->set_risk_assessment(v1::RISK_LEVEL_LOW);
    v->set_agreed_actions("acción");
    v->set_next_visit_due("2026-07-01");
    v->set_latitude(-12.5);
  }
  return out;
}

}  // namespace vinculo
