// `vinculo import` end to end: the real binary (VINCULO_CLI) against a temporary home, with CSV
// files holding good, bad and repeated rows, quoting edge cases, a byte order mark and CRLF.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/local_store.h"
#include "common/record.h"

#ifndef VINCULO_CLI
#error "VINCULO_CLI must name the vinculo executable (see tests/CMakeLists.txt)"
#endif

namespace vinculo::client {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int status = -1;
  std::string out, err;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vinculo-import-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "ca.pem") << "-----BEGIN CERTIFICATE-----\n";
    ASSERT_EQ(Run({"init", "--server", "https://127.0.0.1:8443", "--ca", dir_ / "ca.pem"}).status,
              0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Outcome Run(std::vector<std::string> args) {
    std::vector<std::string> argv{VINCULO_CLI, "--home", (dir_ / "home").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const pid_t pid = fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
      dup2(e, 2);
      ::setenv("VINCULO_NOW", "2026-06-10T12:00:00Z", 1);
      std::vector<char*> a;
      for (std::string& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
  }

  std::string Csv(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  std::vector<v1::RecordState> Records(v1::RecordType type) {
    Result<LocalStore> store = LocalStore::Open((dir_ / "home" / "store.db").string());
    EXPECT_TRUE(store.has_value());
    return *store->List(type, /*include_deleted=*/true);
  }
  uint64_t Pending() {
    return LocalStore::Open((dir_ / "home" / "store.db").string())->ReadStatus()->pending;
  }

  // Imports two children and returns their ids (in id order).
  std::vector<std::string> TwoChildren() {
    const std::string csv = Csv("children.csv",
                                "given_name,family_name,birth_date,region\n"
                                "Lucía,Quispe Mamani,2015-03-02,Cusco\n"
                                "José,Huamán,2012-11-20,Cusco\n");
    Outcome o = Run({"import", "children", "--csv", csv});
    EXPECT_EQ(o.status, 0) << o.err;
    std::vector<std::string> ids;
    for (const v1::RecordState& s : Records(v1::RECORD_TYPE_CHILD)) {
      ids.push_back(s.record().child().id());
    }
    return ids;
  }

  fs::path dir_;
};

TEST_F(ImportTest, ChildrenWithQuotingBomAndCrlf) {
  const std::string csv =
      Csv("children.csv",
          "\xEF\xBB\xBFgiven-name,family-name,birth-date,sex,region,placement,status,notes\r\n"
          "Lucía,\"Quispe, Mamani\",2015-03-02,female,Cusco,residential-institution,open,"
          "\"dijo \"\"quiero volver\"\"\r\nsegunda línea\"\r\n"
          "José,Huamán,2012-11-20,male,Cusco,Kinship care,OPEN,\r\n");
  Outcome o = Run({"import", "children", "--csv", csv});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, csv + ": 2 rows: 2 imported, 0 already imported, 0 invalid\n");
  std::vector<v1::RecordState> children = Records(v1::RECORD_TYPE_CHILD);
  ASSERT_EQ(children.size(), 2u);
  const v1::Child* lucia = &children[0].record().child();
  if (lucia->given_name() != "Lucía") lucia = &children[1].record().child();
  EXPECT_EQ(lucia->family_name(), "Quispe, Mamani");
  EXPECT_EQ(lucia->notes(), "dijo \"quiero volver\"\nsegunda línea");
  EXPECT_EQ(lucia->placement(), v1::PLACEMENT_RESIDENTIAL_INSTITUTION);
  EXPECT_EQ(Pending(), 2u);  // each is an outbox entry, to sync like any other write
}

TEST_F(ImportTest, ImportingTheSameFileTwiceCreatesNothingNew) {
  const std::vector<std::string> children = TwoChildren();
  ASSERT_EQ(children.size(), 2u);
  const std::string csv =
      Csv("visits.csv", "child_id,visited_at,worker,kind,observations\n" + children[0] +
                            ",2026-06-03T10:15:00-05:00,ana,follow-up,bien\n" + children[1] +
                            ",2026-06-04T09:00:00-05:00,ana,assessment,\"regular, mejora\"\n");
  Outcome first = Run({"import", "visits", "--csv", csv});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(first.out, csv + ": 2 rows: 2 imported, 0 already imported, 0 invalid\n");
  const uint64_t pending = Pending();

  Outcome again = Run({"import", "visits", "--csv", csv});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, csv + ": 2 rows: 0 imported, 2 already imported, 0 invalid\n");
  EXPECT_EQ(Records(v1::RECORD_TYPE_HOME_VISIT).size(), 2u);
  EXPECT_EQ(Pending(), pending);

  // The same forms typed again with other text (a second clerk): the natural key (child, instant,
  // worker) makes them the same visits.
  const std::string retyped = Csv("retyped.csv",
                                  "worker,kind,visited-at,child\nana,follow-up,"
                                  "2026-06-03T10:15:00-05:00," +
                                      children[0] + "\n");
  Outcome third = Run({"import", "visits", "--csv", retyped});
  EXPECT_EQ(third.out, retyped + ": 1 row: 0 imported, 1 already imported, 0 invalid\n");
}

TEST_F(ImportTest, BadRowsAreReportedByLineFieldAndRuleAndNothingIsWritten) {
  const std::vector<std::string> children = TwoChildren();
  const std::string csv =
      Csv("visits.csv",
          "child_id,visited_at,worker,kind,observations\n" + children[0] +
              ",2026-06-03T10:15:00-05:00,ana,follow-up,\"dos\nlíneas\"\n" +                  // 2-3
              children[0] + ",ayer por la tarde,ana,follow-up,\n" +                           // 4
              children[1] + ",2026-06-05T10:00:00Z,ana,visita,\n" +                           // 5
              "019e8388-e492-7621-bcd7-0000000fffff,2026-06-05T10:00:00Z,ana,follow-up,\n" +  // 6
              children[1] + ",2026-06-06T10:00:00Z,ana,other,\n");
  Outcome o = Run({"import", "visits", "--csv", csv});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("line 4: home_visit.visited_at: must be a date and time"), std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("(timestamp)"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("line 5: home_visit.kind: 'visita' is not one of: assessment"),
            std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("line 6: home_visit.child_id: no child 019e8388-e492-7621-bcd7-0000000fffff "
                       "on this device"),
            std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("error: " + csv +
                       ": 3 of 5 rows are invalid (listed above): nothing was "
                       "imported"),
            std::string::npos)
      << o.err;
  EXPECT_TRUE(Records(v1::RECORD_TYPE_HOME_VISIT).empty());

  // --dry-run says the same and writes nothing either.
  Outcome dry = Run({"import", "visits", "--csv", csv, "--dry-run"});
  EXPECT_EQ(dry.status, 1);
  EXPECT_NE(dry.err.find("nothing would be imported"), std::string::npos) << dry.err;

  // --skip-invalid writes the two good rows, reports the bad, and exits 5.
  Outcome skip = Run({"import", "visits", "--csv", csv, "--skip-invalid"});
  EXPECT_EQ(skip.status, 5) << skip.err;
  EXPECT_EQ(skip.out, csv + ": 5 rows: 2 imported, 0 already imported, 3 invalid (skipped)\n");
  EXPECT_NE(skip.err.find("line 5: home_visit.kind"), std::string::npos);
  EXPECT_EQ(Records(v1::RECORD_TYPE_HOME_VISIT).size(), 2u);
}

TEST_F(ImportTest, DryRunWritesNothing) {
  const std::string csv = Csv("children.csv", "given_name,region\nLucía,Cusco\nAna,Puno\n");
  Outcome o = Run({"import", "children", "--csv", csv, "--dry-run"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, csv +
                       ": 2 rows: 2 would be imported, 0 already imported, 0 invalid; nothing "
                       "written (--dry-run)\n");
  EXPECT_TRUE(Records(v1::RECORD_TYPE_CHILD).empty());
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(ImportTest, RowsRepeatedInOneFileAreImportedOnce) {
  const std::string csv = Csv("children.csv",
                              "given_name,family_name,region\nLucía,Quispe,Cusco\nAna,Rojas,Cusco\n"
                              "Lucía,Quispe,Cusco\n");
  Outcome o = Run({"import", "children", "--csv", csv});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, csv +
                       ": 3 rows: 2 imported, 0 already imported, 1 repeated in the file, 0 "
                       "invalid\n");
  EXPECT_NE(o.err.find("line 4: the same child as line 2"), std::string::npos) << o.err;
  EXPECT_EQ(Records(v1::RECORD_TYPE_CHILD).size(), 2u);
}

TEST_F(ImportTest, ContactsWithAnIdColumn) {
  const std::vector<std::string> children = TwoChildren();
  const std::string id = "019e8388-e492-7621-bcd7-0000000c0c01";
  const std::string csv =
      Csv("contacts.csv", "id;child;given name;relationship;phone;consent\n" + id + ";" +
                              children[0] + ";Rosa;mother;+51 984 123 456;sí\n");
  Outcome o = Run({"import", "contacts", "--csv", csv, "--delimiter", ";"});
  ASSERT_EQ(o.status, 0) << o.err;
  Result<LocalStore> store = LocalStore::Open((dir_ / "home" / "store.db").string());
  Result<v1::RecordState> rosa = store->Get(v1::RECORD_TYPE_CONTACT, id);
  ASSERT_TRUE(rosa.has_value());
  EXPECT_TRUE(rosa->record().contact().consent_to_contact());
  EXPECT_EQ(rosa->record().contact().phone(), "+51 984 123 456");
}

TEST_F(ImportTest, FileErrorsExitOne) {
  Outcome missing = Run({"import", "children", "--csv", (dir_ / "none.csv").string()});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos);
  Outcome header = Run({"import", "children", "--csv", Csv("h.csv", "nombre,region\nx,y\n")});
  EXPECT_EQ(header.status, 1);
  EXPECT_NE(header.err.find("line 1: unknown column 'nombre'"), std::string::npos) << header.err;
  Outcome syntax =
      Run({"import", "children", "--csv", Csv("s.csv", "given_name,region\n\"Lucía,Cusco\n")});
  EXPECT_EQ(syntax.status, 1);
  EXPECT_NE(syntax.err.find("line 2: a quoted field is not closed"), std::string::npos)
      << syntax.err;
  Outcome kind = Run({"import", "niños", "--csv", Csv("k.csv", "given_name\n")});
  EXPECT_EQ(kind.status, 2);
}

TEST_F(ImportTest, TheExampleFilesImport) {
  // deploy/examples/*.csv, as the docs show them: children first, then their contacts and visits.
  const fs::path examples = fs::path(VINCULO_EXAMPLES);
  Outcome children = Run({"import", "children", "--csv", examples / "children.csv"});
  ASSERT_EQ(children.status, 0) << children.err;
  Outcome contacts = Run({"import", "contacts", "--csv", examples / "contacts.csv"});
  ASSERT_EQ(contacts.status, 0) << contacts.err;
  Outcome visits = Run({"import", "visits", "--csv", examples / "visits.csv"});
  ASSERT_EQ(visits.status, 0) << visits.err;
  EXPECT_NE(visits.out.find(": 4 rows: 4 imported, 0 already imported, 0 invalid\n"),
            std::string::npos)
      << visits.out;
}

}  // namespace
}  // namespace vinculo::client
