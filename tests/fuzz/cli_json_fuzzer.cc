// Fuzz target: the `vinculo KIND add|update --json OBJECT` input path. The input's first byte picks
// the record kind (1..5, as RecordType); the rest is the --json text. It goes through
// ParseJsonObject (client/cli/json.h) into the record message, as record_commands.cc does, then
// through what LocalStore::Add does with it in the core: MakeMutation for the named fields,
// CheckMutationShape, ApplyMutation and ValidateRecord.
//
// Oracles:
//   - ParseJsonObject either fails with InvalidArgument naming --json, or returns the named field
//     numbers ascending without repeats, each a field of the message;
//   - ToJson of the parsed message, when it prints, parses back to the same message;
//   - the record, once given an id, makes a well-formed mutation that applies; validation answers.
#include <algorithm>

#include "client/cli/json.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/validate.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  [[maybe_unused]] static const bool kQuiet = vinculo::fuzz::QuietProtobuf();
  using namespace vinculo;
  if (size < 1) return 0;
  const auto type = static_cast<v1::RecordType>(1 + data[0] % 5);
  const std::string_view json = fuzz::AsText(data + 1, size - 1);

  v1::Record record;
  google::protobuf::Message* message = MutableRecordMessage(&record, type);
  Result<std::vector<uint32_t>> fields = client::cli::ParseJsonObject(json, message);
  if (!fields) {
    FUZZ_CHECK(fields.error().code == ErrorCode::kInvalidArgument, "a bad --json is a usage error");
    FUZZ_CHECK(fields.error().field == "--json", "naming --json");
    return 0;
  }
  uint32_t previous = 0;
  for (uint32_t f : *fields) {
    FUZZ_CHECK(f > previous, "named fields ascend without repeats");
    FUZZ_CHECK(message->GetDescriptor()->FindFieldByNumber(static_cast<int>(f)) != nullptr,
               "a named field exists");
    previous = f;
  }
  FUZZ_CHECK(TypeOf(record) == type, "the record keeps its kind");

  // Printing and parsing again gives the same message (what `get --json` prints, `add --json`
  // takes).
  Result<std::string> printed = client::cli::ToJson(*message);
  if (printed) {
    v1::Record again;
    Result<std::vector<uint32_t>> reparsed =
        client::cli::ParseJsonObject(*printed, MutableRecordMessage(&again, type));
    FUZZ_CHECK(reparsed.has_value(), "printed JSON parses: " + *printed);
    FUZZ_CHECK(again.SerializeAsString() == record.SerializeAsString(),
               "printed JSON parses to the same record: " + *printed);
  }

  // What LocalStore::Add does with it: an id, a mutation of the set fields, validation.
  const ValidationContext context{.today = "2026-05-28"};
  (void)ValidateRecord(record, context);
  if (RecordId(record).empty()) {
    message->GetReflection()->SetString(
        message, message->GetDescriptor()->FindFieldByNumber(kIdField),
        "01890a5d-ac96-7000-8000-000000000001");
  }
  std::vector<uint32_t> written = SetFields(record);
  if (written.empty() || (std::find(written.begin(), written.end(),
                                    static_cast<uint32_t>(kDeletedField)) != written.end() &&
                          written.size() > 1)) {
    return 0;  // nothing to write, or a delete mixed with edits (LocalStore refuses both)
  }
  v1::RecordState state;
  const v1::Mutation m = MakeMutation(state, record, written, MakeHlc(1'780'000'000'000, 0), 1);
  const Status shape = CheckMutationShape(m);
  if (!IsUuid(RecordId(record))) {
    FUZZ_CHECK(!shape.ok(), "a mutation of a record without a UUID id is refused");
    return 0;
  }
  FUZZ_CHECK(shape.ok(), "the mutation of a parsed record is well-formed: " +
                             (shape.ok() ? "" : shape.error().ToString()));
  Result<ApplyOutcome> applied = ApplyMutation(&state, m, "01890a5d-ac96-7000-8000-000000000009");
  FUZZ_CHECK(applied.has_value() && applied->changed, "it applies to an empty state");
  FUZZ_CHECK(state.record().SerializeAsString() == record.SerializeAsString(),
             "the stored record is the record given");
  (void)CheckRecord(state.record(), context);
  return 0;
}
