// Fuzz target: the whole server path of POST /v1/sync, in process: server::Api::Handle over a
// real SqliteCentralStore (a fresh copy of a seeded store per input, fuzz_store.h), with a bearer
// token of one of the enrolled devices. The input's first byte frames the rest (fuzz_store.h:
// protobuf, JSON, gzip, or a wrong content type; which device sends it); the rest is the body.
//
// Oracles:
//   - the reply is one of the statuses the API documents, never 5xx (the store is healthy, so a
//     500 is a bug), with a body that decodes;
//   - a 200 is a SyncResponse whose acked_seq and rejections concern the pushed seqs;
//   - nothing invalid is stored: afterwards every record that is not deleted passes
//     ValidateRecord (read back through an admin's pull), and every stored state's stamps are
//     sorted, one per field.
#include <set>

#include "common/civil_time.h"
#include "common/validate.h"
#include "server/api.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_store.h"

namespace vinculo::fuzz {
namespace {

void CheckStored(server::Api& api) {
  // The admin's device reads every region; a page large enough for the whole store.
  const FuzzDevice& admin = Devices()[3];
  v1::SyncRequest pull;
  pull.set_device_id(admin.device_id);
  pull.set_limit(5000);
  server::HttpRequest r{.method = "POST",
                        .target = "/v1/sync",
                        .content_type = "application/x-protobuf",
                        .authorization = "Bearer " + admin.token,
                        .body = pull.SerializeAsString()};
  const server::HttpResponse reply = api.Handle(r, kNow);
  FUZZ_CHECK(reply.status == 200, "the admin's pull succeeds after any request");
  v1::SyncResponse all;
  FUZZ_CHECK(all.ParseFromString(reply.body), "the pull decodes");
  FUZZ_CHECK(!all.has_more(), "the whole store fits a page");
  const ValidationContext context{.today = UtcDate(kNow + 86'400'000)};
  for (const v1::Change& c : all.changes()) {
    const v1::RecordState& state = c.state();
    uint32_t previous = 0;
    for (const v1::FieldStamp& s : state.stamps()) {
      FUZZ_CHECK(s.field() > previous, "stored stamps ascend without repeats");
      previous = s.field();
    }
    if (IsDeleted(state.record())) continue;
    const std::vector<ValidationIssue> issues = ValidateRecord(state.record(), context);
    FUZZ_CHECK(issues.empty(), "a stored record that is not deleted is valid: " +
                                   RecordId(state.record()) + " " +
                                   (issues.empty() ? "" : issues[0].field + " " + issues[0].rule));
  }
}

}  // namespace
}  // namespace vinculo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  [[maybe_unused]] static const bool kQuiet = vinculo::fuzz::QuietProtobuf();
  using namespace vinculo;
  using namespace vinculo::fuzz;
  if (size < 1) return 0;
  std::unique_ptr<server::CentralStore> store = FuzzStore::Get().Fresh();
  server::Api api(*store, server::ApiOptions{});
  const server::HttpRequest request =
      FramedRequest("/v1/sync", data[0], AsText(data + 1, size - 1), /*with_token=*/true);
  const server::HttpResponse reply = api.Handle(request, kNow);

  static const std::set<int> kDocumented = {200, 400, 401, 403, 409, 412, 413, 415, 429};
  FUZZ_CHECK(kDocumented.count(reply.status) == 1,
             "a documented status, not " + std::to_string(reply.status) + ": " + reply.body);
  if (reply.status == 200) {
    v1::SyncResponse response;
    FUZZ_CHECK(response.ParseFromString(reply.body), "a 200 carries a SyncResponse");
    if (Verbose()) {
      std::fprintf(stderr, "200 acked %llu, %d rejections, %d changes, %u conflicts\n",
                   static_cast<unsigned long long>(response.acked_seq()),
                   response.rejections_size(), response.changes_size(), response.conflicts());
      for (const v1::Rejection& r : response.rejections()) {
        std::fprintf(stderr, "  rejected %llu %s %s: %s\n",
                     static_cast<unsigned long long>(r.seq()),
                     v1::RejectionCode_Name(r.code()).c_str(), r.field().c_str(),
                     r.message().c_str());
      }
    }
    v1::SyncRequest sent;  // what was pushed, when it was protobuf (the common case)
    if ((data[0] & 3) == 0 && sent.ParseFromArray(data + 1, static_cast<int>(size - 1))) {
      std::set<uint64_t> seqs;
      for (const v1::Mutation& m : sent.mutations()) seqs.insert(m.seq());
      for (const v1::Rejection& r : response.rejections()) {
        FUZZ_CHECK(seqs.count(r.seq()) == 1, "a rejection names a pushed seq");
        FUZZ_CHECK(r.seq() <= response.acked_seq(), "a rejected seq is acknowledged");
      }
      FUZZ_CHECK(response.acked_seq() == 0 || seqs.count(response.acked_seq()) == 1,
                 "acked_seq is a pushed seq (the devices start at 0)");
    }
  } else {
    if (Verbose()) std::fprintf(stderr, "%d %s\n", reply.status, reply.body.c_str());
    v1::ErrorResponse error;
    const bool json = (data[0] & 3) == 1;
    FUZZ_CHECK(json || error.ParseFromString(reply.body), "an error carries an ErrorResponse");
  }
  CheckStored(api);
  return 0;
}
