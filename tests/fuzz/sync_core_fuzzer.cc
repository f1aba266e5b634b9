// Fuzz target: the pure sync core on whatever a device might push. The input is a serialized
// v1::SyncRequest; each of its mutations goes through CheckMutationShape and ApplyMutation into a
// per-record RecordState (as the server does), and the result through ValidateRecord, MergeState,
// MakeMutation and RevertFields. No store, no clock: tens of thousands of inputs a second.
//
// Oracles (docs/protocol.md, common/merge.h):
//   - ApplyMutation fails exactly when CheckMutationShape does (or the record differs), and then
//     leaves the state untouched;
//   - applying the same mutation again changes nothing (byte-identical state, changed == false);
//   - stamps stay sorted by field number, one per field, never for `id`;
//   - every conflict names the mutation's record;
//   - MergeState of a state into an empty one reproduces it, and merging it again changes nothing;
//   - MakeMutation of a well-formed write yields a well-formed mutation;
//   - RevertFields of a write undoes it.
#include <map>
#include <string>

#include "common/merge.h"
#include "common/record.h"
#include "common/validate.h"
#include "tests/fuzz/fuzz_check.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::fuzz {
namespace {

// Three devices, chosen by the mutation's seq: enough for writes to meet writes of others.
const std::string& DeviceFor(uint64_t seq) {
  static const std::string kDevices[] = {"01890a5d-ac96-7000-8000-000000000001",
                                         "01890a5d-ac96-7000-8000-000000000002",
                                         "01890a5d-ac96-7000-8000-000000000003"};
  return kDevices[seq % 3];
}

void CheckStamps(const v1::RecordState& state) {
  uint32_t previous = 0;
  for (const v1::FieldStamp& s : state.stamps()) {
    FUZZ_CHECK(s.field() > previous, "stamps ascend without repeats");
    FUZZ_CHECK(s.field() != static_cast<uint32_t>(kIdField), "no stamp for id");
    FUZZ_CHECK(!IsZeroStamp(s.stamp()), "no zero stamp is stored");
    previous = s.field();
  }
}

void ApplyOne(std::map<std::string, v1::RecordState>& replica, const v1::Mutation& m) {
  const std::string& device = DeviceFor(m.seq());
  const Status shape = CheckMutationShape(m);
  v1::RecordState& state =
      replica[std::to_string(TypeOf(m.record())) + "/" + RecordId(m.record())];
  const v1::RecordState before = state;
  const std::string before_bytes = before.SerializeAsString();

  Result<ApplyOutcome> applied = ApplyMutation(&state, m, device);
  if (!shape.ok()) FUZZ_CHECK(!applied.has_value(), "an ill-formed mutation is refused");
  if (!applied) {
    FUZZ_CHECK(state.SerializeAsString() == before_bytes, "a refused mutation changes nothing");
    return;
  }
  CheckStamps(state);
  for (const v1::Conflict& c : applied->conflicts) {
    FUZZ_CHECK(c.record_id() == RecordId(m.record()), "a conflict names the mutation's record");
    FUZZ_CHECK(TypeOf(c.losing()) == TypeOf(m.record()), "the losing value is of the record's kind");
    FUZZ_CHECK(TypeOf(c.winning()) == TypeOf(m.record()), "the winning value likewise");
  }

  // A replay (a resend after a lost reply) changes nothing.
  v1::RecordState replayed = state;
  Result<ApplyOutcome> again = ApplyMutation(&replayed, m, device);
  FUZZ_CHECK(again.has_value(), "a mutation applied once applies again");
  FUZZ_CHECK(!again->changed, "a replay reports no change");
  FUZZ_CHECK(replayed.SerializeAsString() == state.SerializeAsString(), "a replay is a no-op");

  // Whatever was merged, validation answers (the server rejects; it must not crash).
  const ValidationContext context{.today = "2026-05-28"};
  std::vector<ValidationIssue> issues = ValidateRecord(state.record(), context);
  FUZZ_CHECK(issues.empty() == CheckRecord(state.record(), context).ok(),
             "CheckRecord agrees with ValidateRecord");
  for (const ValidationIssue& issue : issues) {
    FUZZ_CHECK(!issue.field.empty() && !issue.rule.empty() && !issue.message.empty(),
               "an issue names its field, rule and message");
  }

  // The device's side: the same write made from the state before it is well-formed.
  const v1::Stamp& max_before = MaxStamp(before);
  const HlcValue hlc = std::max<HlcValue>(m.hlc(), max_before.hlc() + 1);
  if (hlc > max_before.hlc()) {  // no overflow
    const std::vector<uint32_t> fields(m.fields().begin(), m.fields().end());
    v1::Mutation remade = MakeMutation(before, m.record(), fields, hlc, m.seq());
    const Status remade_shape = CheckMutationShape(remade);
    FUZZ_CHECK(remade_shape.ok(), "MakeMutation of a well-formed write is well-formed: " +
                                      remade_shape.error().ToString());
  }

  // A refused write is undone on the device with the server's state: here, the state before.
  if (TypeOf(before.record()) != v1::RECORD_TYPE_UNSPECIFIED && applied->changed) {
    v1::RecordState reverted = state;
    const std::vector<uint32_t> fields(m.fields().begin(), m.fields().end());
    RevertFields(&reverted, MakeStamp(m.hlc(), device), fields, &before);
    CheckStamps(reverted);
    FUZZ_CHECK(reverted.SerializeAsString() == before_bytes, "RevertFields undoes the write");
  }
}

}  // namespace
}  // namespace vinculo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  [[maybe_unused]] static const bool kQuiet = vinculo::fuzz::QuietProtobuf();
  using namespace vinculo;
  v1::SyncRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  std::map<std::string, v1::RecordState> replica;
  for (const v1::Mutation& m : request.mutations()) fuzz::ApplyOne(replica, m);

  // A device pulling each state learns it exactly, once.
  for (const auto& [key, state] : replica) {
    if (TypeOf(state.record()) == v1::RECORD_TYPE_UNSPECIFIED) continue;
    v1::RecordState pulled;
    Result<bool> merged = MergeState(&pulled, state);
    FUZZ_CHECK(merged.has_value(), "a state merges into an empty one");
    Result<bool> again = MergeState(&pulled, state);
    FUZZ_CHECK(again.has_value() && !*again, "merging the same state again changes nothing");
    FUZZ_CHECK(pulled.SerializeAsString() == state.SerializeAsString(),
               "a pulled state equals the server's");
  }
  return 0;
}
