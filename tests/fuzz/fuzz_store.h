#pragma once
// The server side of the API fuzz targets: a central store built once per process, with users of
// every role, enrolled devices and a few records (one deleted, one in another region, one stored
// conflict), then copied afresh for every input, so that every input meets the same state — a
// fuzzer must be deterministic, and each input is judged on its own. The files live under /dev/shm
// when it is writable, where SQLite's fsyncs cost nothing.
//
// The names and ids here are shared with make_corpus.cc, which writes the seed inputs.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/gzip.h"
#include "common/merge.h"
#include "common/record.h"
#include "server/auth.h"
#include "server/central_store.h"
#include "server/http_types.h"
#include "server/sqlite_central_store.h"
#include "server/sync_service.h"
#include "tests/fuzz/fuzz_check.h"

namespace vinculo::fuzz {

inline constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28, Unix ms: every request's time

// A UUIDv7-shaped id numbered n.
inline std::string FuzzId(int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "01890a5d-ac96-7000-8000-%012d", n);
  return buffer;
}

// Records in the pristine store.
inline const std::string kChildCusco = FuzzId(1);   // child in Cusco, with a contact and a visit
inline const std::string kContactCusco = FuzzId(2);
inline const std::string kVisitCusco = FuzzId(3);
inline const std::string kFamilyDeleted = FuzzId(4);  // family in Cusco, deleted
inline const std::string kChildLima = FuzzId(5);      // child in Lima (another region for ana)

struct FuzzDevice {
  std::string username;
  server::Role role;
  std::string region;
  std::string device_id;
  std::string token;  // its bearer token
  int64_t expires_ms;
  bool revoked;
};

// The devices of the pristine store. The first four (ana, rafa, sara, root) are usable; the rest
// exercise the refusals: a disabled user, a revoked device, an expired token. No device has pushed
// anything yet (their last seq is 0): the records above were written by two seeding devices.
inline const std::vector<FuzzDevice>& Devices() {
  static const auto* const kDevices = new std::vector<FuzzDevice>{
      {"ana", server::Role::kFieldWorker, "Cusco", FuzzId(101), "token-ana", kNow + 86'400'000,
       false},
      {"rafa", server::Role::kRegionalOffice, "Lima", FuzzId(102), "token-rafa",
       kNow + 86'400'000, false},
      {"sara", server::Role::kSupervisor, "Cusco", FuzzId(103), "token-sara", kNow + 86'400'000,
       false},
      {"root", server::Role::kAdmin, "", FuzzId(104), "token-root", kNow + 86'400'000, false},
      {"dora", server::Role::kFieldWorker, "Cusco", FuzzId(105), "token-dora", kNow + 86'400'000,
       false},
      {"ana", server::Role::kFieldWorker, "Cusco", FuzzId(106), "token-revoked",
       kNow + 86'400'000, true},
      {"ana", server::Role::kFieldWorker, "Cusco", FuzzId(107), "token-expired", kNow - 1, false},
  };
  return *kDevices;
}
inline const std::string kDisabledUser = "dora";

// Every user's password (login seeds use it).
inline std::string FuzzPassword(const std::string& username) { return "password-" + username; }

// How a fuzz input's first byte frames the body that follows it.
enum class Encoding { kProtobuf = 0, kJson = 1, kGzipProtobuf = 2, kOtherType = 3 };

// The request for `body` framed as the flags byte says: bits 0-1 the encoding, bits 2-4 which of
// Devices() sends it (its bearer token; none for login).
inline server::HttpRequest FramedRequest(const std::string& target, uint8_t flags,
                                         std::string_view body, bool with_token) {
  server::HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.remote = "127.0.0.1";
  switch (static_cast<Encoding>(flags & 3)) {
    case Encoding::kProtobuf:
      r.content_type = "application/x-protobuf";
      r.body = std::string(body);
      break;
    case Encoding::kJson:
      r.content_type = "application/json";
      r.body = std::string(body);
      break;
    case Encoding::kGzipProtobuf:
      r.content_type = "application/x-protobuf";
      r.content_encoding = "gzip";
      r.body = GzipCompress(body);
      break;
    case Encoding::kOtherType:
      r.content_type = "text/plain";
      r.body = std::string(body);
      break;
  }
  if (with_token) {
    const std::vector<FuzzDevice>& devices = Devices();
    r.authorization = "Bearer " + devices[((flags >> 2) & 7) % devices.size()].token;
  }
  return r;
}

// True when VINCULO_FUZZ_VERBOSE is set: the targets then print what each input got (to check
// what the seeds reach).
inline bool Verbose() {
  static const bool kVerbose = std::getenv("VINCULO_FUZZ_VERBOSE") != nullptr;
  return kVerbose;
}

// The pristine store and a scratch copy of it.
class FuzzStore {
 public:
  static FuzzStore& Get() {
    static FuzzStore* const kStore = new FuzzStore();
    return *kStore;
  }

  // A fresh copy of the pristine store, open; the previous copy must be closed (destroyed).
  std::unique_ptr<server::CentralStore> Fresh() {
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
    std::filesystem::create_directories(scratch_, ec);
    {
      // Through streams, which retry reads and writes that a signal interrupted (libFuzzer's
      // timeout alarm does): std::filesystem::copy_file fails on EINTR.
      std::ifstream from(pristine_ + "/central.db", std::ios::binary);
      std::ofstream to(scratch_ + "/central.db", std::ios::binary);
      to << from.rdbuf();
      FUZZ_CHECK(from.good() && to.good(), "copy the pristine store");
    }
    Result<std::unique_ptr<server::CentralStore>> store =
        server::OpenSqliteCentralStore(scratch_, /*create=*/false);
    FUZZ_CHECK(store.has_value(), "open the scratch store: " + store.error().ToString());
    return std::move(store).value();
  }

 private:
  FuzzStore() {
    const char* shm = "/dev/shm";
    const std::string base = access(shm, W_OK) == 0 ? shm : std::filesystem::temp_directory_path().string();
    root_ = base + "/vinculo-fuzz-" + std::to_string(getpid());
    pristine_ = root_ + "/pristine";
    scratch_ = root_ + "/scratch";
    std::filesystem::remove_all(root_);
    std::atexit([] { std::filesystem::remove_all(Get().root_); });
    // What processes that crashed (no atexit) left behind.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("vinculo-fuzz-", 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + 13, nullptr, 10);
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        std::filesystem::remove_all(e.path(), ec);
      }
    }
    Build();
  }

  void Build() {
    Result<std::unique_ptr<server::CentralStore>> opened =
        server::OpenSqliteCentralStore(pristine_, /*create=*/true);
    FUZZ_CHECK(opened.has_value(), "create the pristine store");
    server::CentralStore& store = **opened;
    for (const FuzzDevice& d : Devices()) {
      Result<std::string> hash = server::HashPassword(FuzzPassword(d.username),
                                                      {.n = 16, .r = 1, .p = 1});  // cheap
      FUZZ_CHECK(hash.has_value(), "hash a password");
      Status added = store.AddUser({.username = d.username,
                                    .password_hash = *hash,
                                    .role = d.role,
                                    .region = d.region,
                                    .created_ms = kNow - 1000});
      FUZZ_CHECK(added.ok() || added.error().code == ErrorCode::kAlreadyExists, "add a user");
      FUZZ_CHECK(store.IssueDeviceToken(d.device_id, d.username, server::TokenHash(d.token),
                                        d.expires_ms, kNow - 1000)
                     .has_value(),
                 "enrol a device");
      if (d.revoked) FUZZ_CHECK(store.RevokeDevice(d.device_id, kNow - 500).ok(), "revoke");
    }
    FUZZ_CHECK(store.SetUserDisabled(kDisabledUser, true).ok(), "disable a user");
    Seed(store);
    opened->reset();  // closes the store: its WAL is checkpointed into central.db
  }

  // Writes the records through the sync service, as two admin devices would.
  void Seed(server::CentralStore& store) {
    const std::string seeders[] = {FuzzId(201), FuzzId(202)};
    for (const std::string& id : seeders) {
      FUZZ_CHECK(store.IssueDeviceToken(id, "root", server::TokenHash("seed-" + id),
                                        kNow + 86'400'000, kNow - 1000)
                     .has_value(),
                 "enrol a seeding device");
    }
    server::SyncService sync(store, {});
    uint64_t seq[2] = {0, 0};
    std::map<std::string, v1::RecordState> states[2];
    HlcValue hlc = MakeHlc(static_cast<uint64_t>(kNow) - 60'000, 0);
    auto push = [&](int device, const v1::Record& values, std::vector<uint32_t> fields) {
      v1::RecordState& state = states[device][RecordId(values)];
      v1::Mutation m = MakeMutation(state, values, fields, ++hlc, ++seq[device]);
      FUZZ_CHECK(ApplyMutation(&state, m, seeders[device]).has_value(), "seed mutation applies");
      v1::SyncRequest request;
      request.set_device_id(seeders[device]);
      *request.add_mutations() = m;
      request.set_cursor(0);
      const server::Principal who{.username = "root",
                                  .role = server::Role::kAdmin,
                                  .device_id = seeders[device]};
      Result<v1::SyncResponse> r = sync.Sync(who, request, kNow - 30'000);
      FUZZ_CHECK(r.has_value() && r->rejections_size() == 0, "seed mutation is accepted");
      for (const v1::Change& c : r->changes()) {
        (void)MergeState(&states[device][RecordId(c.state().record())], c.state());
      }
    };
    v1::Record child;
    child.mutable_child()->set_id(kChildCusco);
    child.mutable_child()->set_given_name("Lucía");
    child.mutable_child()->set_family_name("Quispe Mamani");
    child.mutable_child()->set_region("Cusco");
    child.mutable_child()->set_status(v1::CASE_STATUS_OPEN);
    push(0, child, SetFields(child));
    v1::Record contact;
    contact.mutable_contact()->set_id(kContactCusco);
    contact.mutable_contact()->set_child_id(kChildCusco);
    contact.mutable_contact()->set_given_name("Rosa");
    contact.mutable_contact()->set_relationship(v1::RELATIONSHIP_GRANDPARENT);
    contact.mutable_contact()->set_phone("+51 984 111 222");
    push(0, contact, SetFields(contact));
    v1::Record visit;
    v1::HomeVisit* v = visit.mutable_home_visit();
    v->set_id(kVisitCusco);
    v->set_child_id(kChildCusco);
    v->set_worker("ana");
    v->set_visited_at("2026-05-20T10:00:00-05:00");
    v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
    v->add_attendees(kContactCusco);
    v->set_latitude(-13.53);
    v->set_longitude(-71.97);
    push(0, visit, SetFields(visit));
    v1::Record family;
    family.mutable_family()->set_id(kFamilyDeleted);
    family.mutable_family()->set_region("Cusco");
    family.mutable_family()->set_name("Familia Quispe");
    push(0, family, SetFields(family));
    family.mutable_family()->set_deleted(true);
    push(0, family, {static_cast<uint32_t>(kDeletedField)});
    v1::Record lima = child;
    lima.mutable_child()->set_id(kChildLima);
    lima.mutable_child()->set_region("Lima");
    push(1, lima, SetFields(lima));
    // Both seeders write the Cusco child's notes without seeing each other: a stored conflict.
    states[1][kChildCusco] = states[0][kChildCusco];
    v1::Record notes = child;
    notes.mutable_child()->set_notes("Vive con su abuela.");
    push(0, notes, {13});
    notes.mutable_child()->set_notes("Vive con su tía.");
    push(1, notes, {13});
  }

  std::string root_, pristine_, scratch_;
};

}  // namespace vinculo::fuzz
