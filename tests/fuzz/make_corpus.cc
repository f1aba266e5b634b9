// Writes the seed corpus of the fuzz targets: small valid (and a few nearly valid) inputs, from
// which the fuzzers mutate their way into the code, and the cli_json target's dictionary (the JSON
// names of every record field and enum value). The output is committed under
// tests/fuzz/corpus/<target>/ and tests/fuzz/cli_json.dict; run this again after a schema change:
//
//   build/tests/fuzz/fuzz_make_corpus tests/fuzz
//
// Inputs are framed as each target reads them (see the targets and fuzz_store.h).
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "common/merge.h"
#include "common/record.h"
#include "tests/fuzz/fuzz_store.h"

namespace vinculo::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path out_dir;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = out_dir / "corpus" / target;
  fs::create_directories(dir);
  std::ofstream(dir / ("seed-" + name), std::ios::binary) << bytes;
}

std::string Framed(uint8_t flags, const std::string& body) {
  return std::string(1, static_cast<char>(flags)) + body;
}

// Mutations as a device makes them: per-record state, numbered from 1.
struct Author {
  std::string device;
  uint64_t seq = 0;
  HlcValue hlc = MakeHlc(static_cast<uint64_t>(kNow) - 10'000, 0);
  std::map<std::string, v1::RecordState> states;

  v1::Mutation Write(const v1::Record& values, std::vector<uint32_t> fields) {
    v1::RecordState& state = states[RecordId(values)];
    v1::Mutation m = MakeMutation(state, values, fields, ++hlc, ++seq);
    (void)ApplyMutation(&state, m, device);
    return m;
  }
  v1::Mutation Create(const v1::Record& values) { return Write(values, SetFields(values)); }
};

v1::Record Child(const std::string& id, const std::string& region) {
  v1::Record r;
  v1::Child* c = r.mutable_child();
  c->set_id(id);
  c->set_given_name("Lucía");
  c->set_family_name("Quispe Mamani");
  c->set_birth_date("2015-03-02");
  c->set_sex(v1::SEX_FEMALE);
  c->set_region(region);
  c->set_programme("acogimiento familiar");
  c->set_assigned_worker("ana");
  c->set_placement(v1::PLACEMENT_FOSTER_FAMILY);
  c->set_status(v1::CASE_STATUS_OPEN);
  c->set_risk_level(v1::RISK_LEVEL_MEDIUM);
  c->set_notes("Vive con su abuela.\nVa a la escuela.");
  return r;
}

v1::Record Visit(const std::string& id, const std::string& child) {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_id(id);
  v->set_child_id(child);
  v->set_worker("ana");
  v->set_visited_at("2026-05-20T10:15:00.5-05:00");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  v->add_attendees(kContactCusco);
  v->set_observations("Come bien.");
  v->set_risk_assessment(v1::RISK_LEVEL_LOW);
  v->set_next_visit_due("2026-06-17");
  v->set_latitude(-13.5319);
  v->set_longitude(-71.9675);
  return r;
}

v1::Record Contact(const std::string& id, const std::string& child) {
  v1::Record r;
  v1::Contact* c = r.mutable_contact();
  c->set_id(id);
  c->set_child_id(child);
  c->set_given_name("Rosa");
  c->set_relationship(v1::RELATIONSHIP_GRANDPARENT);
  c->set_phone("+51 (984) 111-222");
  c->set_consent_to_contact(true);
  return r;
}

v1::Record Placement(const std::string& id, const std::string& child) {
  v1::Record r;
  v1::PlacementChange* p = r.mutable_placement_change();
  p->set_id(id);
  p->set_child_id(child);
  p->set_from_placement(v1::PLACEMENT_RESIDENTIAL_INSTITUTION);
  p->set_to_placement(v1::PLACEMENT_KINSHIP_CARE);
  p->set_changed_on("2026-05-01");
  p->set_reason("Reintegración con la abuela");
  return r;
}

v1::Record Family(const std::string& id, const std::string& region) {
  v1::Record r;
  v1::Family* f = r.mutable_family();
  f->set_id(id);
  f->set_name("Familia Quispe");
  f->set_region(region);
  f->set_address("Jr. Los Pinos 214");
  return r;
}

// Sync requests of `device`, for both the core and the API targets.
std::vector<std::pair<std::string, v1::SyncRequest>> SyncRequests(const std::string& device,
                                                                  const std::string& region) {
  std::vector<std::pair<std::string, v1::SyncRequest>> out;
  auto request = [&](const std::string& name) -> v1::SyncRequest& {
    out.emplace_back(name, v1::SyncRequest());
    v1::SyncRequest& r = out.back().second;
    r.set_device_id(device);
    r.set_clock(MakeHlc(static_cast<uint64_t>(kNow) - 5'000, 0));
    return r;
  };
  request("pull-only");
  {
    Author a{.device = device};
    v1::SyncRequest& r = request("create-every-kind");
    const std::string child = FuzzId(1001);
    *r.add_mutations() = a.Create(Child(child, region));
    *r.add_mutations() = a.Create(Family(FuzzId(1002), region));
    *r.add_mutations() = a.Create(Contact(FuzzId(1003), child));
    *r.add_mutations() = a.Create(Visit(FuzzId(1004), child));
    *r.add_mutations() = a.Create(Placement(FuzzId(1005), child));
    r.set_limit(10);
  }
  {
    Author a{.device = device};
    v1::SyncRequest& r = request("edit-delete-restore");
    v1::Record c = Child(FuzzId(1011), region);
    *r.add_mutations() = a.Create(c);
    c.mutable_child()->set_given_name("Lucía Carmen");
    c.mutable_child()->clear_notes();
    *r.add_mutations() = a.Write(c, {2, 13});
    c.mutable_child()->set_deleted(true);
    *r.add_mutations() = a.Write(c, {15});
    c.mutable_child()->set_deleted(false);
    *r.add_mutations() = a.Write(c, {15});
  }
  {
    // Writes over the seeded records: conflicts with the stored notes, an edit of the deleted
    // family, a visit moved to the Lima child (another region for ana).
    Author a{.device = device};
    v1::SyncRequest& r = request("edit-seeded");
    v1::Record c = Child(kChildCusco, "Cusco");
    *r.add_mutations() = a.Write(c, {13});
    v1::Record f = Family(kFamilyDeleted, "Cusco");
    *r.add_mutations() = a.Write(f, {5});
    v1::Record v = Visit(kVisitCusco, kChildLima);
    *r.add_mutations() = a.Write(v, {2});
    v1::Record moved = Child(kChildCusco, "Lima");
    *r.add_mutations() = a.Write(moved, {6});
  }
  {
    Author a{.device = device};
    v1::SyncRequest& r = request("invalid-values");
    v1::Record c = Child(FuzzId(1021), region);
    c.mutable_child()->set_birth_date("2015-02-29");
    *r.add_mutations() = a.Create(c);
    v1::Record v = Visit(FuzzId(1022), FuzzId(1021));
    v.mutable_home_visit()->clear_longitude();
    *r.add_mutations() = a.Create(v);
    v1::Record k = Contact(FuzzId(1023), kChildCusco);
    k.mutable_contact()->set_phone("'; DROP TABLE records; --");
    *r.add_mutations() = a.Create(k);
  }
  {
    Author a{.device = device};
    v1::SyncRequest& r = request("gap-and-resend");
    *r.add_mutations() = a.Create(Child(FuzzId(1031), region));
    a.seq = 5;
    *r.add_mutations() = a.Create(Child(FuzzId(1032), region));
  }
  {
    Author a{.device = device};
    v1::SyncRequest& r = request("malformed-shapes");
    v1::Mutation m = a.Create(Child(FuzzId(1041), region));
    m.add_fields(99);
    *r.add_mutations() = m;
    v1::Mutation zero = a.Create(Child(FuzzId(1042), region));
    zero.set_hlc(0);
    *r.add_mutations() = zero;
    v1::Mutation ahead = a.Create(Child(FuzzId(1043), region));
    ahead.set_hlc(MakeHlc(static_cast<uint64_t>(kNow) + 3'600'000, 0));
    *r.add_mutations() = ahead;
  }
  return out;
}

void SyncCore() {
  for (const auto& [name, r] : SyncRequests(FuzzId(101), "Cusco")) {
    Write("sync_core", name, r.SerializeAsString());
  }
}

void SyncApi() {
  for (size_t d = 0; d < 4; ++d) {
    const FuzzDevice& device = Devices()[d];
    const std::string region = device.region.empty() ? "Cusco" : device.region;
    for (const auto& [name, r] : SyncRequests(device.device_id, region)) {
      const auto flags = static_cast<uint8_t>(d << 2);
      Write("sync_api", device.username + "-" + name, Framed(flags, r.SerializeAsString()));
      if (name == "create-every-kind" || name == "pull-only") {
        std::string json;
        (void)google::protobuf::util::MessageToJsonString(r, &json);
        Write("sync_api", device.username + "-" + name + "-json", Framed(flags | 1, json));
        Write("sync_api", device.username + "-" + name + "-gzip",
              Framed(flags | 2, r.SerializeAsString()));
      }
    }
  }
  // Refusals: another device's id, an expired token, a cursor from the future.
  v1::SyncRequest other;
  other.set_device_id(FuzzId(102));
  Write("sync_api", "wrong-device", Framed(0, other.SerializeAsString()));
  v1::SyncRequest expired;
  expired.set_device_id(FuzzId(107));
  Write("sync_api", "expired", Framed(6 << 2, expired.SerializeAsString()));
  v1::SyncRequest future;
  future.set_device_id(FuzzId(101));
  future.set_cursor(1000);
  Write("sync_api", "future-cursor", Framed(0, future.SerializeAsString()));
}

void LoginApi() {
  auto login = [](const std::string& user, const std::string& password, const std::string& device) {
    v1::LoginRequest l;
    l.set_username(user);
    l.set_password(password);
    l.set_device_id(device);
    return l;
  };
  const std::pair<std::string, v1::LoginRequest> cases[] = {
      {"ana", login("ana", FuzzPassword("ana"), FuzzId(301))},
      {"ana-own-device", login("ana", FuzzPassword("ana"), FuzzId(101))},
      {"ana-others-device", login("ana", FuzzPassword("ana"), FuzzId(104))},
      {"ana-revoked-device", login("ana", FuzzPassword("ana"), FuzzId(106))},
      {"ana-wrong-password", login("ana", "password-root", FuzzId(301))},
      {"root", login("root", FuzzPassword("root"), FuzzId(302))},
      {"dora-disabled", login("dora", FuzzPassword("dora"), FuzzId(303))},
      {"unknown-user", login("nadie", FuzzPassword("nadie"), FuzzId(304))},
      {"bad-device-id", login("ana", FuzzPassword("ana"), "not-a-uuid")},
      {"no-username", login("", "x", FuzzId(305))},
  };
  for (const auto& [name, l] : cases) {
    Write("login_api", name, Framed(0, l.SerializeAsString()));
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(l, &json);
    Write("login_api", name + "-json", Framed(1, json));
  }
  Write("login_api", "ana-gzip", Framed(2, cases[0].second.SerializeAsString()));
  Write("login_api", "ana-text-plain", Framed(3, cases[0].second.SerializeAsString()));
}

void CliJson() {
  const std::pair<std::string, std::string> cases[] = {
      {"child", "\x01{\"givenName\":\"Lucía\",\"familyName\":\"Quispe Mamani\",\"region\":"
                "\"Cusco\",\"birthDate\":\"2015-03-02\",\"sex\":\"SEX_FEMALE\",\"status\":"
                "\"CASE_STATUS_OPEN\",\"riskLevel\":2,\"notes\":\"Vive con su abuela.\\n\"}"},
      {"child-update", "\x01{\"given_name\":\"\",\"notes\":null}"},
      {"child-with-id", "\x01{\"id\":\"01890a5d-ac96-7000-8000-000000000042\",\"givenName\":"
                        "\"Ana\",\"region\":\"Lima\"}"},
      {"family", "\x02{\"name\":\"Familia Quispe\",\"region\":\"Cusco\",\"address\":\"Jr. Los "
                 "Pinos 214\\tdepto 3\"}"},
      {"contact", "\x03{\"childId\":\"01890a5d-ac96-7000-8000-000000000001\",\"givenName\":"
                  "\"Rosa\",\"relationship\":\"RELATIONSHIP_GRANDPARENT\",\"phone\":\"+51 984 "
                  "111 222\",\"consentToContact\":true}"},
      {"visit", "\x04{\"childId\":\"01890a5d-ac96-7000-8000-000000000001\",\"worker\":\"ana\","
                "\"visitedAt\":\"2026-05-20T10:15:00-05:00\",\"kind\":\"VISIT_KIND_FOLLOW_UP\","
                "\"attendees\":[\"01890a5d-ac96-7000-8000-000000000002\"],\"latitude\":-13.53,"
                "\"longitude\":-71.97,\"nextVisitDue\":\"2026-06-17\"}"},
      {"visit-nan", "\x04{\"latitude\":\"NaN\",\"longitude\":\"-Infinity\"}"},
      {"placement", "\x05{\"childId\":\"01890a5d-ac96-7000-8000-000000000001\",\"toPlacement\":"
                    "\"PLACEMENT_KINSHIP_CARE\",\"changedOn\":\"2026-05-01\",\"reason\":"
                    "\"Reintegraci\\u00f3n\"}"},
      {"unknown-key", "\x01{\"nombre\":\"Lucía\"}"},
      {"not-object", "\x01[1,2,3]"},
      {"escapes", "\x01{\"givenName\":\"\\ud83d\\ude00 \\u0000 \\\"x\\\"\",\"region\":\"a\"}"},
  };
  for (const auto& [name, bytes] : cases) Write("cli_json", name, bytes);
}

// libFuzzer's dictionary format: one quoted token a line.
void CliJsonDictionary() {
  std::ofstream dict(out_dir / "cli_json.dict");
  dict << "# Written by make_corpus.cc: JSON names of the record fields and enum values.\n";
  for (const char* token : {"true", "false", "null", "\\\"NaN\\\"", "\\\"Infinity\\\"", "\\\\u0000",
                            "\\\\ud800", "\\\"\\\"", "[]", "{}"}) {
    dict << "\"" << token << "\"\n";
  }
  for (int t = 1; t <= 5; ++t) {
    const google::protobuf::Descriptor* d = RecordDescriptor(static_cast<v1::RecordType>(t));
    for (int i = 0; i < d->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* f = d->field(i);
      dict << "\"\\\"" << f->json_name() << "\\\":\"\n";
      if (f->enum_type() == nullptr) continue;
      for (int v = 0; v < f->enum_type()->value_count(); ++v) {
        dict << "\"\\\"" << f->enum_type()->value(v)->name() << "\\\"\"\n";
      }
    }
  }
}

}  // namespace
}  // namespace vinculo::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus OUT_DIR (tests/fuzz)\n";
    return 2;
  }
  vinculo::fuzz::out_dir = argv[1];
  vinculo::fuzz::SyncCore();
  vinculo::fuzz::SyncApi();
  vinculo::fuzz::LoginApi();
  vinculo::fuzz::CliJson();
  vinculo::fuzz::CliJsonDictionary();
  std::cout << "wrote seeds and the dictionary under " << argv[1] << "\n";
  return 0;
}
