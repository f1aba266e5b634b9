// The `vinculo` program end to end: every test runs the real binary (VINCULO_CLI) against its own
// temporary --home, captures stdout, stderr and the exit status, and checks both the output and the
// store itself (opened with LocalStore::Open once the program has exited).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client/local_store.h"
#include "common/merge.h"
#include "common/record.h"
#include "common/validate.h"

#ifndef VINCULO_CLI
#error "VINCULO_CLI must name the vinculo executable (see tests/CMakeLists.txt)"
#endif

extern char** environ;

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;

constexpr char kNow[] = "2026-05-28T12:00:00Z";  // VINCULO_NOW of every run unless a test says
constexpr char kDeviceId[] = "01890a5d-ac96-774b-bcce-b302099a8057";
constexpr char kUnknownId[] = "01890a5d-ac96-774b-bcce-b30209900000";

struct Outcome {
  int status = -1;  // the exit status; -1 when the program did not exit normally
  std::string out;
  std::string err;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vinculo-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    home_ = dir_ / "home";
    ca_ = dir_ / "ca.pem";
    std::ofstream(ca_) << "-----BEGIN CERTIFICATE-----\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `vinculo args...` with VINCULO_NOW = kNow (or env's), VINCULO_HOME unset (or env's), and
  // no --home added.
  Outcome RunBare(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv_strings = {VINCULO_CLI};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::map<std::string, std::string> vars = {{"VINCULO_NOW", kNow}};
    for (const auto& [k, v] : env) vars[k] = v;
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      if (name != "VINCULO_NOW" && name != "VINCULO_HOME") env_strings.push_back(entry);
    }
    for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    const fs::path out = dir_ / "stdout";
    const fs::path err = dir_ / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, VINCULO_CLI, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    Outcome run;
    if (spawned != 0) {
      ADD_FAILURE() << "cannot run " << VINCULO_CLI << ": " << std::strerror(spawned);
      return run;
    }
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    run.out = ReadFile(out);
    run.err = ReadFile(err);
    return run;
  }

  // Runs `vinculo --home <home_> args...`.
  Outcome Vinculo(std::vector<std::string> args,
                  const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--home", home_.string()});
    return RunBare(args, env);
  }

  // Runs a command that must succeed and returns its stdout.
  std::string Ok(const std::vector<std::string>& args) {
    Outcome run = Vinculo(args);
    EXPECT_EQ(run.status, 0) << "vinculo " << ::testing::PrintToString(args) << "\n" << run.err;
    EXPECT_EQ(run.err, "");
    return run.out;
  }

  // Runs an `add` that must succeed and returns the new id.
  std::string Add(const std::vector<std::string>& args) {
    std::string out = Ok(args);
    EXPECT_FALSE(out.empty());
    if (!out.empty() && out.back() == '\n') out.pop_back();
    EXPECT_TRUE(IsUuid(out)) << "not an id: " << out;
    return out;
  }

  void Init(const fs::path& home) {
    Outcome run =
        RunBare({"--home", home.string(), "init", "--server", "https://vinculo.example.org", "--ca",
                 ca_.string(), "--device-id", kDeviceId});
    ASSERT_EQ(run.status, 0) << run.err;
  }
  void Init() { Init(home_); }

  LocalStore Store(const fs::path& home) {
    Result<LocalStore> store = LocalStore::Open((home / "store.db").string());
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return std::move(store).value();
  }
  LocalStore Store() { return Store(home_); }

  uint64_t Pending() { return Store().ReadStatus()->pending; }

  v1::Record Get(v1::RecordType type, const std::string& id, bool include_deleted = false) {
    Result<v1::RecordState> state = Store().Get(type, id, include_deleted);
    EXPECT_TRUE(state.has_value()) << state.error().ToString();
    return state.has_value() ? state->record() : v1::Record();
  }

  std::string Child(const std::string& given, const std::string& family = "Quispe") {
    return Add({"child", "add", "--given-name", given, "--family-name", family, "--region", "Cusco",
                "--status", "open", "--placement", "residential-institution"});
  }

  fs::path dir_;
  fs::path home_;
  fs::path ca_;
};

// ---- init

TEST_F(CliTest, InitCreatesAPrivateHomeAndPrintsTheDeviceId) {
  home_ = dir_ / "new" / "home";
  Outcome run =
      Vinculo({"init", "--server", "https://vinculo.example.org:8443", "--ca", ca_.string()});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.err, "");
  ASSERT_EQ(run.out.size(), 37u);
  const std::string device_id = run.out.substr(0, 36);
  EXPECT_TRUE(IsUuid(device_id));
  EXPECT_EQ((fs::status(home_).permissions() & fs::perms::all), fs::perms::owner_all);

  LocalStore store = Store();
  EXPECT_EQ(store.device_id(), device_id);
  DeviceStatus status = *store.ReadStatus();
  EXPECT_EQ(status.server_url, "https://vinculo.example.org:8443");
  EXPECT_EQ(status.ca_file, fs::absolute(ca_).string());
  EXPECT_EQ(status.pending, 0u);
}

TEST_F(CliTest, InitKeepsAGivenDeviceId) {
  Init();
  EXPECT_EQ(Store().device_id(), kDeviceId);
}

TEST_F(CliTest, InitTwiceRefusesAndLeavesTheStoreUntouched) {
  Init();
  Child("Lucía");
  const std::string before = ReadFile(home_ / "store.db");
  Outcome again = Vinculo({"init", "--server", "https://other.example.org", "--ca", ca_.string()});
  EXPECT_EQ(again.status, 1);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err, "error: a store already exists at " + (home_ / "store.db").string() +
                           "; vinculo init never overwrites one\n");
  EXPECT_EQ(ReadFile(home_ / "store.db"), before);
  EXPECT_EQ(Store().device_id(), kDeviceId);
  EXPECT_EQ(Store().ReadStatus()->server_url, "https://vinculo.example.org");
}

TEST_F(CliTest, InitArgumentsAreChecked) {
  EXPECT_EQ(Vinculo({"init", "--ca", ca_.string()}).status, 2);  // --server missing
  Outcome no_ca =
      Vinculo({"init", "--server", "https://x.org", "--ca", (dir_ / "nope.pem").string()});
  EXPECT_EQ(no_ca.status, 2);
  EXPECT_NE(no_ca.err.find("--ca"), std::string::npos) << no_ca.err;
  EXPECT_EQ(Vinculo({"init", "--server", "http://x.org", "--ca", ca_.string()}).status, 2);
  Outcome bad_id = Vinculo(
      {"init", "--server", "https://x.org", "--ca", ca_.string(), "--device-id", "phone-7"});
  EXPECT_EQ(bad_id.status, 2);
  EXPECT_NE(bad_id.err.find("--device-id"), std::string::npos) << bad_id.err;
  EXPECT_FALSE(fs::exists(home_ / "store.db"));
}

// ---- add

TEST_F(CliTest, AddChildWithFlagsPrintsOnlyTheNewId) {
  Init();
  Outcome run = Vinculo({"child",
                         "add",
                         "--given-name",
                         "Lucía",
                         "--family-name",
                         "Quispe",
                         "--region",
                         "Cusco",
                         "--birth-date",
                         "2015-03-02",
                         "--sex",
                         "female",
                         "--programme",
                         "acogimiento familiar",
                         "--assigned-worker",
                         "ana",
                         "--placement",
                         "kinship-care",
                         "--status",
                         "open",
                         "--risk",
                         "medium",
                         "--notes",
                         "vive con su abuela"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.err, "");
  ASSERT_EQ(run.out.size(), 37u);
  const std::string id = run.out.substr(0, 36);
  EXPECT_EQ(run.out, id + "\n");

  const v1::Child child = Get(v1::RECORD_TYPE_CHILD, id).child();
  EXPECT_EQ(child.given_name(), "Lucía");
  EXPECT_EQ(child.birth_date(), "2015-03-02");
  EXPECT_EQ(child.sex(), v1::SEX_FEMALE);
  EXPECT_EQ(child.programme(), "acogimiento familiar");
  EXPECT_EQ(child.assigned_worker(), "ana");
  EXPECT_EQ(child.placement(), v1::PLACEMENT_KINSHIP_CARE);
  EXPECT_EQ(child.status(), v1::CASE_STATUS_OPEN);
  EXPECT_EQ(child.risk_level(), v1::RISK_LEVEL_MEDIUM);
  EXPECT_EQ(child.notes(), "vive con su abuela");
  EXPECT_EQ(Pending(), 1u);
}

TEST_F(CliTest, AddEveryOtherKindWithFlags) {
  Init();
  const std::string child = Child("Lucía");
  const std::string family = Add({"family", "add", "--name", "Familia Quispe Mamani", "--region",
                                  "Cusco", "--address", "Jr. Túpac Amaru 123"});
  const std::string mother =
      Add({"contact", "add", "--child", child, "--family", family, "--given-name", "Rosa",
           "--family-name", "Mamani", "--relationship", "mother", "--phone", "+51 984 123 456",
           "--consent", "yes"});
  const std::string grandmother =
      Add({"contact", "add", "--child", child, "--family", family, "--given-name", "Juana",
           "--relationship", "grandparent", "--consent", "no"});
  const std::string visit = Add({"visit",
                                 "add",
                                 "--child",
                                 child,
                                 "--family",
                                 family,
                                 "--worker",
                                 "ana",
                                 "--kind",
                                 "reintegration-preparation",
                                 "--attendee",
                                 mother,
                                 "--attendee",
                                 grandmother,
                                 "--observations",
                                 "Lucía juega con sus primos",
                                 "--risk",
                                 "low",
                                 "--agreed-actions",
                                 "visita quincenal",
                                 "--next-due",
                                 "2026-06-11",
                                 "--lat",
                                 "-13.5319",
                                 "--lon",
                                 "-71.9675"});
  const std::string placement =
      Add({"placement", "add", "--child", child, "--from", "residential-institution", "--to",
           "kinship-care", "--date", "2026-05-01", "--reason", "la abuela acepta"});

  EXPECT_EQ(Get(v1::RECORD_TYPE_FAMILY, family).family().address(), "Jr. Túpac Amaru 123");
  const v1::Contact m = Get(v1::RECORD_TYPE_CONTACT, mother).contact();
  EXPECT_EQ(m.child_id(), child);
  EXPECT_EQ(m.family_id(), family);
  EXPECT_EQ(m.relationship(), v1::RELATIONSHIP_MOTHER);
  EXPECT_EQ(m.phone(), "+51 984 123 456");
  EXPECT_TRUE(m.consent_to_contact());
  EXPECT_EQ(Get(v1::RECORD_TYPE_CONTACT, grandmother).contact().relationship(),
            v1::RELATIONSHIP_GRANDPARENT);
  EXPECT_FALSE(Get(v1::RECORD_TYPE_CONTACT, grandmother).contact().consent_to_contact());

  const v1::HomeVisit v = Get(v1::RECORD_TYPE_HOME_VISIT, visit).home_visit();
  EXPECT_EQ(v.visited_at(), kNow);  // --visited-at defaults to now
  EXPECT_EQ(v.kind(), v1::VISIT_KIND_REINTEGRATION_PREPARATION);
  ASSERT_EQ(v.attendees_size(), 2);
  EXPECT_EQ(v.attendees(0), mother);
  EXPECT_EQ(v.attendees(1), grandmother);
  EXPECT_EQ(v.risk_assessment(), v1::RISK_LEVEL_LOW);
  EXPECT_EQ(v.next_visit_due(), "2026-06-11");
  ASSERT_TRUE(v.has_latitude());
  EXPECT_DOUBLE_EQ(v.latitude(), -13.5319);
  EXPECT_DOUBLE_EQ(v.longitude(), -71.9675);

  const v1::PlacementChange p = Get(v1::RECORD_TYPE_PLACEMENT_CHANGE, placement).placement_change();
  EXPECT_EQ(p.from_placement(), v1::PLACEMENT_RESIDENTIAL_INSTITUTION);
  EXPECT_EQ(p.to_placement(), v1::PLACEMENT_KINSHIP_CARE);
  EXPECT_EQ(p.changed_on(), "2026-05-01");
  EXPECT_EQ(Pending(), 6u);
}

TEST_F(CliTest, AddEveryKindWithJson) {
  Init();
  const std::string child = "019e6e74-aa00-7000-8000-000000000001";
  const std::string family = "019e6e74-aa00-7000-8000-000000000002";
  const std::string contact = "019e6e74-aa00-7000-8000-000000000003";
  EXPECT_EQ(Add({"child", "add", "--json",
                 R"({"id":")" + child +
                     R"(","givenName":"Lucía","region":"Cusco",)"
                     R"("placement":"PLACEMENT_FOSTER_FAMILY","status":"CASE_STATUS_OPEN"})"}),
            child);
  EXPECT_EQ(Add({"family", "add", "--json",
                 R"({"id":")" + family + R"(","name":"Familia Quispe","region":"Cusco"})"}),
            family);
  EXPECT_EQ(Add({"contact", "add", "--json",
                 R"({"id":")" + contact + R"(","childId":")" + child +
                     R"(","givenName":"Rosa","relationship":"RELATIONSHIP_FOSTER_CARER",)"
                     R"("consentToContact":true})"}),
            contact);
  const std::string visit = Add({"visit", "add", "--json",
                                 R"({"childId":")" + child +
                                     R"(","worker":"ana","visitedAt":"2026-05-27T10:15:00-05:00",)"
                                     R"("kind":"VISIT_KIND_ASSESSMENT","attendees":[")" +
                                     contact + R"("],"latitude":-13.5,"longitude":-72})"});
  const std::string placement =
      Add({"placement", "add", "--json",
           R"({"child_id":")" + child +
               R"(","to_placement":"PLACEMENT_FOSTER_FAMILY",)"
               R"("changed_on":"2026-05-20"})"});  // proto field names are accepted too

  EXPECT_EQ(Get(v1::RECORD_TYPE_CHILD, child).child().placement(), v1::PLACEMENT_FOSTER_FAMILY);
  EXPECT_EQ(Get(v1::RECORD_TYPE_FAMILY, family).family().name(), "Familia Quispe");
  EXPECT_TRUE(Get(v1::RECORD_TYPE_CONTACT, contact).contact().consent_to_contact());
  const v1::HomeVisit v = Get(v1::RECORD_TYPE_HOME_VISIT, visit).home_visit();
  EXPECT_EQ(v.visited_at(), "2026-05-27T10:15:00-05:00");
  EXPECT_EQ(v.attendees_size(), 1);
  EXPECT_TRUE(v.has_latitude());
  EXPECT_EQ(Get(v1::RECORD_TYPE_PLACEMENT_CHANGE, placement).placement_change().changed_on(),
            "2026-05-20");
  EXPECT_EQ(Pending(), 5u);
}

TEST_F(CliTest, VisitWorkerDefaultsToTheLoggedInUser) {
  Init();
  const std::string child = Child("Lucía");
  // Not logged in: the worker must be given.
  Outcome run = Vinculo({"visit", "add", "--child", child, "--kind", "follow-up"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err, "error: home_visit.worker: is required\n");
  ASSERT_TRUE(Store().SetCredentials("ana", "token").ok());
  const std::string visit = Add({"visit", "add", "--child", child, "--kind", "follow-up"});
  EXPECT_EQ(Get(v1::RECORD_TYPE_HOME_VISIT, visit).home_visit().worker(), "ana");
  const std::string other =
      Add({"visit", "add", "--child", child, "--kind", "follow-up", "--worker", "beto"});
  EXPECT_EQ(Get(v1::RECORD_TYPE_HOME_VISIT, other).home_visit().worker(), "beto");
}

TEST_F(CliTest, JsonWithUnknownFieldsNamesThemAndWritesNothing) {
  Init();
  Outcome run = Vinculo({"child", "add", "--json",
                         R"({"givenName":"Lucía","region":"Cusco","nombre":"x","edad":7})"});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err.rfind("error: --json: unknown field(s) \"edad\", \"nombre\" in a Child", 0), 0u)
      << run.err;
  EXPECT_EQ(Pending(), 0u);

  Outcome not_object = Vinculo({"child", "add", "--json", "[1, 2]"});
  EXPECT_EQ(not_object.status, 2);
  EXPECT_NE(not_object.err.find("--json"), std::string::npos);
  Outcome bad_enum =
      Vinculo({"child", "add", "--json", R"({"givenName":"A","region":"B","sex":"F"})"});
  EXPECT_EQ(bad_enum.status, 2);
  EXPECT_NE(bad_enum.err.find("sex"), std::string::npos) << bad_enum.err;
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(CliTest, JsonAndFlagsTogetherIsAUsageError) {
  Init();
  Outcome run = Vinculo(
      {"child", "add", "--json", R"({"givenName":"Lucía","region":"Cusco"})", "--region", "Lima"});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.err.rfind("error: --json: cannot be combined with flags (--region)", 0), 0u)
      << run.err;
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(CliTest, RepeatedAttendeeTakesOneValuePerFlag) {
  Init();
  const std::string child = Child("Lucía");
  Outcome run = Vinculo({"visit", "add", "--child", child, "--worker", "ana", "--kind", "follow-up",
                         "--attendee", kUnknownId, kDeviceId});
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find(kDeviceId), std::string::npos) << run.err;
  EXPECT_EQ(Pending(), 1u);
}

// ---- show and list

TEST_F(CliTest, ShowPrintsOneLinePerSetFieldWithFriendlyEnums) {
  Init();
  const std::string id =
      Add({"visit",      "add",     "--child",    kUnknownId,     "--worker",
           "ana",        "--kind",  "follow-up",  "--visited-at", "2026-05-27T10:15:00-05:00",
           "--attendee", kDeviceId, "--attendee", kUnknownId,     "--risk",
           "high",       "--lat",   "-13.5",      "--lon",        "-71.96"});
  EXPECT_EQ(Ok({"visit", "show", id}), "id: " + id +
                                           "\n"
                                           "child_id: " +
                                           kUnknownId +
                                           "\n"
                                           "worker: ana\n"
                                           "visited_at: 2026-05-27T10:15:00-05:00\n"
                                           "kind: follow-up\n"
                                           "attendees: " +
                                           kDeviceId + ", " + kUnknownId +
                                           "\n"
                                           "risk_assessment: high\n"
                                           "latitude: -13.5\n"
                                           "longitude: -71.96\n");
}

TEST_F(CliTest, ShowJsonPrintsTheRecordObject) {
  Init();
  const std::string id = Add({"contact", "add", "--child", kUnknownId, "--given-name", "Rosa",
                              "--relationship", "aunt-uncle", "--consent", "yes"});
  EXPECT_EQ(Ok({"contact", "show", id, "--json"}),
            R"({"id":")" + id + R"(","childId":")" + kUnknownId +
                R"(","givenName":"Rosa","relationship":"RELATIONSHIP_AUNT_UNCLE",)"
                R"("consentToContact":true})"
                "\n");
}

TEST_F(CliTest, ListPrintsATableAndAJsonArrayInIdOrder) {
  Init();
  Child("Lucía", "Quispe");
  Child("Mateo", "Condori");
  std::vector<v1::RecordState> held = *Store().List(v1::RECORD_TYPE_CHILD);
  ASSERT_EQ(held.size(), 2u);

  const std::vector<std::string> table = Lines(Ok({"child", "list"}));
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0].rfind("ID", 0), 0u);
  for (const char* header : {"NAME", "REGION", "STATUS", "PLACEMENT", "RISK"}) {
    EXPECT_NE(table[0].find(header), std::string::npos) << header;
  }
  for (size_t i = 0; i < held.size(); ++i) {
    const v1::Child& c = held[i].record().child();
    EXPECT_EQ(table[i + 1].rfind(c.id(), 0), 0u);
    EXPECT_NE(table[i + 1].find(c.given_name() + " " + c.family_name()), std::string::npos);
    EXPECT_NE(table[i + 1].find("residential-institution"), std::string::npos);
  }

  const std::vector<std::string> json = Lines(Ok({"child", "list", "--json"}));
  ASSERT_EQ(json.size(), 4u);
  EXPECT_EQ(json[0], "[");
  EXPECT_EQ(json[1].rfind(R"({"id":")" + held[0].record().child().id() + "\"", 0), 0u) << json[1];
  EXPECT_EQ(json[1].back(), ',');
  EXPECT_EQ(json[2].rfind(R"({"id":")" + held[1].record().child().id() + "\"", 0), 0u) << json[2];
  EXPECT_EQ(json[3], "]");

  EXPECT_EQ(Ok({"family", "list", "--json"}), "[]\n");
}

TEST_F(CliTest, ListDeletedIncludesTombstones) {
  Init();
  const std::string kept = Child("Ana");
  const std::string gone = Child("Beto");
  Ok({"child", "delete", gone});
  EXPECT_EQ(Lines(Ok({"child", "list"})).size(), 2u);
  const std::string all = Ok({"child", "list", "--deleted"});
  ASSERT_EQ(Lines(all).size(), 3u);
  EXPECT_NE(Lines(all)[0].find("DELETED"), std::string::npos);
  EXPECT_NE(all.find(gone), std::string::npos);
  EXPECT_NE(Ok({"child", "list", "--deleted", "--json"}).find("\"deleted\":true"),
            std::string::npos);
}

// ---- update and delete

TEST_F(CliTest, UpdateChangesOnlyTheGivenFieldsAndQueuesOneMutation) {
  Init();
  const std::string id = Add({"child", "add", "--given-name", "Lucía", "--region", "Cusco",
                              "--placement", "residential-institution", "--notes", "primera nota"});
  ASSERT_EQ(Pending(), 1u);
  Outcome run = Vinculo({"child", "update", id, "--placement", "kinship-care", "--notes", ""});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "");

  const v1::Child c = Get(v1::RECORD_TYPE_CHILD, id).child();
  EXPECT_EQ(c.placement(), v1::PLACEMENT_KINSHIP_CARE);
  EXPECT_EQ(c.notes(), "");  // cleared by the empty value
  EXPECT_EQ(c.given_name(), "Lucía");
  EXPECT_EQ(c.region(), "Cusco");
  std::vector<v1::Mutation> pending = *Store().Pending(10);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(std::vector<uint32_t>(pending[1].fields().begin(), pending[1].fields().end()),
            (std::vector<uint32_t>{9, 13}));
}

TEST_F(CliTest, UpdateWithJsonChangesOnlyTheNamedFields) {
  Init();
  const std::string id = Add({"child", "add", "--given-name", "Lucía", "--region", "Cusco",
                              "--risk", "high", "--notes", "nota"});
  Ok({"child", "update", id, "--json", R"({"riskLevel":"RISK_LEVEL_LOW","notes":""})"});
  const v1::Child c = Get(v1::RECORD_TYPE_CHILD, id).child();
  EXPECT_EQ(c.risk_level(), v1::RISK_LEVEL_LOW);
  EXPECT_EQ(c.notes(), "");
  EXPECT_EQ(c.given_name(), "Lucía");
  std::vector<v1::Mutation> pending = *Store().Pending(10);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(std::vector<uint32_t>(pending[1].fields().begin(), pending[1].fields().end()),
            (std::vector<uint32_t>{11, 13}));

  EXPECT_EQ(Vinculo({"child", "update", id, "--json", R"({"deleted":true})"}).status, 2);
  EXPECT_EQ(Vinculo({"child", "update", id, "--json",
                     R"({"id":")" + std::string(kUnknownId) + R"(","notes":"x"})"})
                .status,
            2);
  EXPECT_EQ(Pending(), 2u);
}

TEST_F(CliTest, UpdateWithNothingToChangeIsAUsageError) {
  Init();
  const std::string id = Child("Lucía");
  Outcome run = Vinculo({"child", "update", id});
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find("nothing to change"), std::string::npos) << run.err;
  EXPECT_EQ(Vinculo({"child", "update"}).status, 2);  // no id
  EXPECT_EQ(Pending(), 1u);
}

TEST_F(CliTest, UpdateThatBreaksARuleNamesTheFieldAndWritesNothing) {
  Init();
  const std::string id = Child("Lucía");
  Outcome run = Vinculo({"child", "update", id, "--given-name", ""});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err.rfind("error: child.given_name: ", 0), 0u) << run.err;
  EXPECT_EQ(Get(v1::RECORD_TYPE_CHILD, id).child().given_name(), "Lucía");
  EXPECT_EQ(Pending(), 1u);
}

TEST_F(CliTest, DeleteThenShowIsNotFound) {
  Init();
  const std::string id = Add({"family", "add", "--name", "Familia Quispe", "--region", "Cusco"});
  Outcome run = Vinculo({"family", "delete", id});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(Pending(), 2u);
  EXPECT_TRUE(Get(v1::RECORD_TYPE_FAMILY, id, true).family().deleted());

  Outcome show = Vinculo({"family", "show", id});
  EXPECT_EQ(show.status, 1);
  EXPECT_EQ(show.out, "");
  EXPECT_EQ(show.err, "error: family " + id + " not found\n");
  EXPECT_EQ(Vinculo({"family", "delete", id}).status, 1);  // already deleted
  EXPECT_EQ(Pending(), 2u);
}

TEST_F(CliTest, RestoreUndoesADelete) {
  Init();
  const std::string id = Add({"family", "add", "--name", "Familia Quispe", "--region", "Cusco"});
  Outcome live = Vinculo({"family", "restore", id});
  EXPECT_EQ(live.status, 1);  // not deleted
  EXPECT_EQ(live.err, "error: family " + id + " is not deleted\n");
  ASSERT_EQ(Vinculo({"family", "delete", id}).status, 0);
  Outcome run = Vinculo({"family", "restore", id});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(Get(v1::RECORD_TYPE_FAMILY, id).family().name(), "Familia Quispe");
  EXPECT_EQ(Pending(), 3u);
}

TEST_F(CliTest, UnknownIdIsNotFound) {
  Init();
  const std::string not_found = std::string("error: child ") + kUnknownId + " not found\n";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"child", "show", kUnknownId},
        std::vector<std::string>{"child", "update", kUnknownId, "--notes", "x"},
        std::vector<std::string>{"child", "delete", kUnknownId}}) {
    Outcome run = Vinculo(args);
    EXPECT_EQ(run.status, 1) << args[1];
    EXPECT_EQ(run.err, not_found) << args[1];
  }
  // A child's id is not a family's.
  const std::string child = Child("Lucía");
  EXPECT_EQ(Vinculo({"family", "show", child}).err, "error: family " + child + " not found\n");
  EXPECT_EQ(Pending(), 1u);
}

// ---- usage errors and failures

TEST_F(CliTest, UnknownFlagOrCommandIsAUsageError) {
  Init();
  Outcome flag =
      Vinculo({"child", "add", "--given-name", "Lucía", "--region", "Cusco", "--colour", "red"});
  EXPECT_EQ(flag.status, 2);
  EXPECT_EQ(flag.out, "");
  EXPECT_EQ(flag.err.rfind("error: ", 0), 0u) << flag.err;
  EXPECT_NE(flag.err.find("--colour"), std::string::npos) << flag.err;
  EXPECT_EQ(Vinculo({"child", "adopt"}).status, 2);
  EXPECT_EQ(Vinculo({"child"}).status, 2);
  EXPECT_EQ(Vinculo({}).status, 2);
  EXPECT_EQ(Vinculo({"child", "add", "--region"}).status, 2);  // missing value
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(CliTest, BadEnumValueIsAUsageErrorListingTheAllowedValues) {
  Init();
  Outcome run =
      Vinculo({"child", "add", "--given-name", "Lucía", "--region", "Cusco", "--sex", "f"});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.err.rfind("error: --sex: 'f' is not one of: female, male, other\n", 0), 0u)
      << run.err;
  Outcome kind =
      Vinculo({"visit", "add", "--child", kUnknownId, "--worker", "a", "--kind", "visit"});
  EXPECT_EQ(kind.status, 2);
  EXPECT_NE(kind.err.find("assessment, follow-up, reintegration-preparation, "
                          "post-reintegration-monitoring, other"),
            std::string::npos)
      << kind.err;
  Outcome consent = Vinculo({"contact", "add", "--consent", "sí"});
  EXPECT_EQ(consent.status, 2);
  EXPECT_NE(consent.err.find("yes, no"), std::string::npos) << consent.err;
  EXPECT_EQ(Vinculo({"visit", "add", "--lat", "norte"}).status, 2);
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(CliTest, InvalidDateNamesTheFieldAndWritesNothing) {
  Init();
  Child("Ana");
  const DeviceStatus before = *Store().ReadStatus();
  Outcome run = Vinculo(
      {"child", "add", "--given-name", "Lucía", "--region", "Cusco", "--birth-date", "2019-02-30"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "error: child.birth_date: must be a date YYYY-MM-DD\n");
  const DeviceStatus after = *Store().ReadStatus();
  EXPECT_EQ(after.pending, before.pending);
  EXPECT_EQ(after.records, before.records);
  EXPECT_EQ(after.next_seq, before.next_seq);
}

TEST_F(CliTest, HomeWithoutAStoreSaysRunInit) {
  fs::create_directories(home_);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"child", "list"}, std::vector<std::string>{"status"},
        std::vector<std::string>{"child", "add", "--given-name", "A", "--region", "B"}}) {
    Outcome run = Vinculo(args);
    EXPECT_EQ(run.status, 1);
    EXPECT_EQ(run.err, "error: no Vínculo store in " + home_.string() + ": run vinculo init\n");
  }
  EXPECT_FALSE(fs::exists(home_ / "store.db"));
}

TEST_F(CliTest, AFileThatIsNotAStoreIsRefusedAndNeverModified) {
  fs::create_directories(home_);
  std::string garbage(8192, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7 + 3);
  std::ofstream(home_ / "store.db", std::ios::binary) << garbage;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"child", "list"}, std::vector<std::string>{"status"},
        std::vector<std::string>{"caseload"}, std::vector<std::string>{"export", "--json"},
        std::vector<std::string>{"child", "add", "--given-name", "A", "--region", "B"}}) {
    Outcome run = Vinculo(args);
    EXPECT_EQ(run.status, 1) << args[0];
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err.rfind("error: ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find("is not a Vínculo store"), std::string::npos) << run.err;
  }
  EXPECT_EQ(Vinculo({"init", "--server", "https://x.org", "--ca", ca_.string()}).status, 1);
  EXPECT_EQ(ReadFile(home_ / "store.db"), garbage);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(home_)) files.push_back(entry.path().filename());
  EXPECT_EQ(files, std::vector<std::string>{"store.db"});
}

TEST_F(CliTest, BadVinculoNowIsAnError) {
  Init();
  Outcome run = Vinculo({"child", "add", "--given-name", "A", "--region", "B"},
                        {{"VINCULO_NOW", "yesterday"}});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err.rfind("error: VINCULO_NOW: must be an RFC 3339 instant", 0), 0u) << run.err;
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(CliTest, VinculoHomeIsTheDefaultHome) {
  Outcome init = RunBare({"init", "--server", "https://x.org", "--ca", ca_.string()},
                         {{"VINCULO_HOME", home_.string()}});
  ASSERT_EQ(init.status, 0) << init.err;
  Outcome add = RunBare({"family", "add", "--name", "Familia Quispe", "--region", "Cusco"},
                        {{"VINCULO_HOME", home_.string()}});
  ASSERT_EQ(add.status, 0) << add.err;
  EXPECT_EQ(Pending(), 1u);
  // --home wins over VINCULO_HOME, also after the subcommand.
  Outcome other = RunBare({"family", "list", "--home", (dir_ / "elsewhere").string()},
                          {{"VINCULO_HOME", home_.string()}});
  EXPECT_EQ(other.status, 1);
  EXPECT_NE(other.err.find("elsewhere"), std::string::npos) << other.err;
}

// ---- UTF-8

TEST_F(CliTest, AccentedTextRoundTripsByteForByte) {
  Init();
  const std::string given = "Joaquín Ángel";
  const std::string family = "Conceição Muñoz";
  const std::string notes = "ação, pão, útil, ñandú, café, éxito, ópera, Íngrid, Úrsula, ç ã õ";
  const std::string id = Add({"child", "add", "--given-name", given, "--family-name", family,
                              "--region", "Ñuñoa", "--notes", notes});
  const v1::Child stored = Get(v1::RECORD_TYPE_CHILD, id).child();
  EXPECT_EQ(stored.given_name(), given);
  EXPECT_EQ(stored.family_name(), family);
  EXPECT_EQ(stored.notes(), notes);

  const std::string show = Ok({"child", "show", id});
  EXPECT_NE(show.find("given_name: " + given + "\n"), std::string::npos) << show;
  EXPECT_NE(show.find("family_name: " + family + "\n"), std::string::npos);
  EXPECT_NE(show.find("region: Ñuñoa\n"), std::string::npos);
  EXPECT_NE(show.find("notes: " + notes + "\n"), std::string::npos);
  EXPECT_NE(Ok({"child", "list"}).find(given + " " + family + "  Ñuñoa"), std::string::npos);
  const std::string json = Ok({"child", "show", id, "--json"});
  EXPECT_NE(json.find(R"("givenName":")" + given + "\""), std::string::npos) << json;
  EXPECT_NE(json.find(R"("notes":")" + notes + "\""), std::string::npos) << json;
  EXPECT_NE(Ok({"child", "list", "--json"}).find(family), std::string::npos);

  const std::string from_json = Add(
      {"family", "add", "--json",
       R"({"name":"Família Gonçalves Peña","region":"São Paulo","address":"Rua da Conceição, 5º"})"});
  const v1::Family f = Get(v1::RECORD_TYPE_FAMILY, from_json).family();
  EXPECT_EQ(f.name(), "Família Gonçalves Peña");
  EXPECT_EQ(f.region(), "São Paulo");
  EXPECT_EQ(f.address(), "Rua da Conceição, 5º");
  EXPECT_NE(Ok({"family", "show", from_json}).find("address: Rua da Conceição, 5º\n"),
            std::string::npos);
}

TEST_F(CliTest, TableColumnsAlignByCharactersNotBytes) {
  Init();
  Add({"family", "add", "--name", "Ñuñez", "--region", "Cusco"});
  Add({"family", "add", "--name", "Nunez", "--region", "Lima"});
  const std::vector<std::string> rows = Lines(Ok({"family", "list"}));
  ASSERT_EQ(rows.size(), 3u);
  // "Ñuñez" has 7 bytes but 5 characters: REGION starts at the same character in every row.
  const auto column = [](const std::string& row, const std::string& cell) {
    const std::string before = row.substr(0, row.find(cell));
    return std::count_if(before.begin(), before.end(),
                         [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  };
  const size_t ascii = rows[1].find("Nunez") != std::string::npos ? 1 : 2;
  EXPECT_EQ(column(rows[0], "REGION"), column(rows[ascii], "Lima"));
  EXPECT_EQ(column(rows[0], "REGION"), column(rows[3 - ascii], "Cusco"));
}

// ---- caseload

TEST_F(CliTest, CaseloadPutsOverdueFirstCountingFromToday) {
  Init();
  const std::string ana = Child("Ana");
  const std::string beto = Child("Beto");
  const std::string carla = Child("Carla");
  Child("Dario");
  Add({"child", "add", "--given-name", "Eva", "--region", "Cusco", "--status", "closed"});
  const auto visit = [&](const std::string& child, const std::string& at, const std::string& due) {
    Add({"visit", "add", "--child", child, "--worker", "ana", "--kind", "follow-up", "--visited-at",
         at, "--next-due", due});
  };
  visit(ana, "2026-05-20T10:00:00-05:00", "2026-06-10");
  visit(beto, "2026-05-01T10:00:00-05:00", "2026-05-20");
  visit(carla, "2026-03-01T10:00:00Z", "2026-03-15");
  visit(carla, "2026-04-01T10:00:00Z", "2026-04-28");

  std::vector<std::string> rows = Lines(Ok({"caseload", "--today", "2026-05-28"}));
  ASSERT_EQ(rows.size(), 5u);
  for (const char* header : {"CHILD", "STATUS", "PLACEMENT", "LAST VISIT", "NEXT DUE", "OVERDUE"}) {
    EXPECT_NE(rows[0].find(header), std::string::npos) << header;
  }
  EXPECT_EQ(rows[1].rfind("Carla Quispe", 0), 0u);
  EXPECT_NE(rows[1].find("2026-04-01"), std::string::npos);
  EXPECT_NE(rows[1].find("2026-04-28"), std::string::npos);
  EXPECT_NE(rows[1].find("OVERDUE 30 days"), std::string::npos) << rows[1];
  EXPECT_NE(rows[1].find("open"), std::string::npos);
  EXPECT_NE(rows[1].find("residential-institution"), std::string::npos);
  EXPECT_EQ(rows[2].rfind("Beto Quispe", 0), 0u);
  EXPECT_NE(rows[2].find("OVERDUE 8 days"), std::string::npos) << rows[2];
  EXPECT_EQ(rows[3].rfind("Dario Quispe", 0), 0u);
  EXPECT_NE(rows[3].find("OVERDUE (never visited)"), std::string::npos) << rows[3];
  EXPECT_EQ(rows[4].rfind("Ana Quispe", 0), 0u);
  EXPECT_EQ(rows[4].find("OVERDUE"), std::string::npos);

  // Later, Ana is overdue too and moves above Dario.
  rows = Lines(Ok({"caseload", "--today", "2026-06-20"}));
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[3].rfind("Ana Quispe", 0), 0u);
  EXPECT_NE(rows[3].find("OVERDUE 10 days"), std::string::npos) << rows[3];

  const std::vector<std::string> json = Lines(Ok({"caseload", "--today", "2026-05-28", "--json"}));
  ASSERT_EQ(json.size(), 6u);
  EXPECT_EQ(json[1].rfind(R"({"child":{"id":")" + carla + "\"", 0), 0u) << json[1];
  EXPECT_NE(json[1].find(R"("lastVisitAt":"2026-04-01T10:00:00Z","nextVisitDue":"2026-04-28",)"
                         R"("overdue":true,"daysOverdue":30})"),
            std::string::npos)
      << json[1];
  EXPECT_NE(json[4].find(R"("overdue":false,"daysOverdue":0})"), std::string::npos) << json[4];

  EXPECT_EQ(Vinculo({"caseload", "--today", "2026-13-01"}).status, 2);
}

TEST_F(CliTest, CaseloadTodayDefaultsToTheUtcDateOfNow) {
  Init();
  const std::string child = Child("Ana");
  Add({"visit", "add", "--child", child, "--worker", "ana", "--kind", "follow-up", "--next-due",
       "2026-05-25"});
  // VINCULO_NOW is 2026-05-28: three days overdue.
  EXPECT_NE(Ok({"caseload"}).find("OVERDUE 3 days"), std::string::npos);
  Outcome later =
      Vinculo({"caseload"}, {{"VINCULO_NOW", "2026-05-30T23:30:00-05:00"}});  // 05-31 UTC
  EXPECT_NE(later.out.find("OVERDUE 6 days"), std::string::npos) << later.out;
}

// ---- status

TEST_F(CliTest, StatusShowsPendingChangesAndRejectedOnes) {
  Init();
  Child("Ana");
  const std::string beto = Child("Beto");
  Child("Carla");
  std::string out = Ok({"status"});
  EXPECT_NE(out.find(std::string("device:     ") + kDeviceId + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("server:     https://vinculo.example.org\n"), std::string::npos) << out;
  EXPECT_NE(out.find("user:       not logged in\n"), std::string::npos) << out;
  EXPECT_NE(out.find("pending:    3 changes waiting to be pushed\n"), std::string::npos) << out;
  EXPECT_NE(out.find("last sync:  never\n"), std::string::npos) << out;
  EXPECT_NE(out.find("records:    3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("rejected:   none\n"), std::string::npos) << out;

  {  // The server acknowledges seqs 1-2 and rejects 2.
    LocalStore store = Store();
    v1::SyncResponse reply;
    reply.set_acked_seq(2);
    v1::Rejection* r = reply.add_rejections();
    r->set_seq(2);
    r->set_code(v1::REJECTION_CODE_FORBIDDEN);
    r->set_message("region Lima is not yours");
    r->set_field("child.region");
    ASSERT_TRUE(store.ApplySyncResponse(reply, 1'780'000'000'000).has_value());
    ASSERT_TRUE(
        store.RecordSyncResult("pushed 2, pulled 0, rejected 1, conflicts 0", 1'780'000'000'000)
            .ok());
    ASSERT_TRUE(store.SetCredentials("ana", "token").ok());
  }
  out = Ok({"status"});
  EXPECT_NE(out.find("user:       ana\n"), std::string::npos) << out;
  EXPECT_NE(out.find("pending:    1 change waiting to be pushed\n"), std::string::npos) << out;
  EXPECT_NE(out.find("last sync:  2026-05-28T20:26:40Z (pushed 2, pulled 0, rejected 1, "
                     "conflicts 0)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("rejected:   1\n  seq 2  child " + beto +
                     "  forbidden  child.region: region Lima is not yours\n"),
            std::string::npos)
      << out;

  const std::string json = Ok({"status", "--json"});
  EXPECT_EQ(json.rfind(std::string(R"({"deviceId":")") + kDeviceId + "\"", 0), 0u) << json;
  EXPECT_NE(json.find(R"("user":"ana","pending":1,"ackedSeq":2,"nextSeq":4)"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("rejected":[{"seq":2,"kind":"child","recordId":")" + beto +
                      R"(","code":"forbidden","field":"child.region",)"
                      R"("message":"region Lima is not yours")"),
            std::string::npos)
      << json;
}

// ---- export

TEST_F(CliTest, ExportIsDeterministicAcrossReadsAndDevices) {
  const fs::path other = dir_ / "other";
  const std::string child = "019e6e74-aa00-7000-8000-00000000000a";
  const std::string family = "019e6e74-aa00-7000-8000-00000000000b";
  const std::string visit = "019e6e74-aa00-7000-8000-00000000000c";
  for (const fs::path& home : {home_, other}) {
    Init(home);
    const std::string h = home.string();
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"family", "add", "--json",
              R"({"id":")" + family + R"(","name":"Familia Quispe Ñusta","region":"Cusco"})"},
             {"child", "add", "--json",
              R"({"id":")" + child + R"(","givenName":"Lucía","region":"Cusco","familyId":")" +
                  family + R"("})"},
             {"visit", "add", "--json",
              R"({"id":")" + visit + R"(","childId":")" + child +
                  R"(","worker":"ana","visitedAt":"2026-05-27T10:00:00-05:00",)"
                  R"("kind":"VISIT_KIND_FOLLOW_UP","latitude":-13.5319,"longitude":-71.9675})"},
             {"child", "update", child, "--risk", "medium"},
             {"visit", "delete", visit}}) {
      std::vector<std::string> full = {"--home", h};
      full.insert(full.end(), args.begin(), args.end());
      Outcome run = RunBare(full);
      ASSERT_EQ(run.status, 0) << run.err;
    }
  }
  const Outcome first = Vinculo({"export", "--json"});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(Vinculo({"export", "--json"}).out, first.out);
  EXPECT_EQ(RunBare({"--home", other.string(), "export", "--json"}).out, first.out);

  const std::vector<std::string> lines = Lines(first.out);
  ASSERT_EQ(lines.size(), 5u);  // [ child family visit ]: kind then id order
  EXPECT_EQ(lines[1].rfind(R"({"record":{"child":{"id":")" + child + "\"", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find(R"("stamps":[{"field":2,"stamp":{"hlc":")"), std::string::npos);
  EXPECT_NE(lines[1].find(kDeviceId), std::string::npos);
  EXPECT_EQ(lines[2].rfind(R"({"record":{"family":{"id":")" + family + "\"", 0), 0u);
  EXPECT_NE(lines[3].find(R"("deleted":true)"), std::string::npos) << lines[3];
}

TEST_F(CliTest, ExportRequiresJson) {
  Init();
  Outcome run = Vinculo({"export"});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err.rfind("error: export: --json is required", 0), 0u) << run.err;
  EXPECT_EQ(Ok({"export", "--json"}), "[]\n");
}

// ---- help

TEST_F(CliTest, EveryCommandHasHelp) {
  std::vector<std::vector<std::string>> commands = {
      {}, {"init"}, {"status"}, {"caseload"}, {"export"}};
  for (const char* kind : {"child", "family", "contact", "visit", "placement"}) {
    commands.push_back({kind});
    for (const char* verb : {"add", "update", "delete", "show", "list"}) {
      commands.push_back({kind, verb});
    }
  }
  for (std::vector<std::string> args : commands) {
    const std::string name = ::testing::PrintToString(args);
    args.push_back("--help");
    Outcome run = RunBare(args);
    EXPECT_EQ(run.status, 0) << name << run.err;
    EXPECT_NE(run.out.find("Usage: vinculo"), std::string::npos) << name;
    EXPECT_EQ(run.err, "") << name;
  }
  const std::string add = RunBare({"child", "add", "--help"}).out;
  EXPECT_NE(add.find("--given-name TEXT"), std::string::npos) << add;
  EXPECT_NE(add.find("--placement residential-institution|foster-family|kinship-care|"
                     "family-of-origin|independent-living|other"),
            std::string::npos)
      << add;
  EXPECT_NE(RunBare({"visit", "add", "--help"}).out.find("--attendee ID"), std::string::npos);
}

}  // namespace
}  // namespace vinculo::client
