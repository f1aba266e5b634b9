// `vinculo login` and `vinculo sync`, the real binary against a real server: output and exit
// statuses (a contract with the scripts that run the nightly sync).
#include <gtest/gtest.h>

#include "tests/integration/server_process.h"

namespace vinculo {
namespace {

using server::testing::TempDir;
using testing::RunProcess;
using testing::ServerProcess;

class CliSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_, std::vector<std::string>{"--quiet"});
    server_->AddUser("ana", "field_worker", "Cusco");
    server_->Start();
    ASSERT_EQ(Vinculo({"init", "--server", server_->url(), "--ca", server_->ca()}), 0) << out_;
  }

  int Vinculo(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv{VINCULO_CLI, "--home", dir_ / "home"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, input, &out_);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::string out_;
};

TEST_F(CliSyncTest, LoginAndSyncPrintOneLineAndExitZero) {
  ASSERT_EQ(Vinculo({"login", "--username", "ana"}, ServerProcess::Password("ana") + "\n"), 0)
      << out_;
  EXPECT_NE(out_.find("logged in as ana (field_worker, region Cusco)"), std::string::npos) << out_;
  ASSERT_EQ(Vinculo({"child", "add", "--given-name", "Lucía", "--region", "Cusco"}), 0) << out_;
  ASSERT_EQ(Vinculo({"sync", "--quiet"}), 0) << out_;
  // The server answers the device's own new child with its digest (an echo), not the child: the
  // device holds it already, and nothing is pulled.
  EXPECT_EQ(out_, "pushed 1, pulled 0, rejected 0, conflicts 0\n");
  ASSERT_EQ(Vinculo({"status"}), 0);
  EXPECT_NE(out_.find("pushed 1, pulled 0"), std::string::npos) << out_;
}

TEST_F(CliSyncTest, WrongPasswordExitsRefused) {
  EXPECT_EQ(Vinculo({"login", "--username", "ana"}, "wrong password\n"), 4) << out_;
  EXPECT_NE(out_.find("wrong username or password"), std::string::npos) << out_;
  EXPECT_EQ(Vinculo({"sync"}), 4) << out_;  // never logged in
}

TEST_F(CliSyncTest, UnreachableServerExits3AndKeepsLocalData) {
  ASSERT_EQ(Vinculo({"login", "--username", "ana"}, ServerProcess::Password("ana") + "\n"), 0);
  ASSERT_EQ(Vinculo({"child", "add", "--given-name", "Lucía", "--region", "Cusco"}), 0);
  server_->Stop();
  EXPECT_EQ(Vinculo({"sync", "--retries", "0"}), 3) << out_;
  ASSERT_EQ(Vinculo({"status"}), 0);
  EXPECT_NE(out_.find("pending:"), std::string::npos) << out_;
  EXPECT_NE(out_.find("1"), std::string::npos) << out_;
  server_->Start();
  EXPECT_EQ(Vinculo({"sync", "--quiet"}), 0) << out_;
}

TEST_F(CliSyncTest, RejectedChangesExit5AndShowInStatus) {
  ASSERT_EQ(Vinculo({"login", "--username", "ana"}, ServerProcess::Password("ana") + "\n"), 0);
  ASSERT_EQ(Vinculo({"child", "add", "--given-name", "Lucía", "--region", "Lima"}), 0);
  EXPECT_EQ(Vinculo({"sync", "--quiet"}), 5) << out_;
  EXPECT_NE(out_.find("rejected 1"), std::string::npos) << out_;
  ASSERT_EQ(Vinculo({"status"}), 0);
  EXPECT_NE(out_.find("forbidden"), std::string::npos) << out_;
}

TEST_F(CliSyncTest, SupervisorQueriesAndResolvesAConflict) {
  server_->AddUser("sofia", "supervisor", "Cusco");
  const std::string ana = ServerProcess::Password("ana") + "\n";
  ASSERT_EQ(Vinculo({"login", "--username", "ana"}, ana), 0) << out_;
  ASSERT_EQ(Vinculo({"child", "add", "--given-name", "Lucía", "--region", "Cusco"}), 0);
  const std::string child = out_.substr(0, out_.find('\n'));
  ASSERT_EQ(Vinculo({"sync", "--quiet"}), 0) << out_;

  // A second device of ana's edits the same note concurrently.
  auto second = [&](std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv{VINCULO_CLI, "--home", dir_ / "second"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, input, &out_);
  };
  ASSERT_EQ(second({"init", "--server", server_->url(), "--ca", server_->ca()}), 0) << out_;
  ASSERT_EQ(second({"login", "--username", "ana"}, ana), 0) << out_;
  ASSERT_EQ(second({"sync", "--quiet"}), 0) << out_;
  ASSERT_EQ(Vinculo({"child", "update", child, "--notes", "vive con la abuela"}), 0) << out_;
  ASSERT_EQ(second({"child", "update", child, "--notes", "vive con la tía"}), 0) << out_;
  ASSERT_EQ(Vinculo({"sync", "--quiet"}), 0) << out_;
  ASSERT_EQ(second({"sync", "--quiet"}), 0) << out_;
  EXPECT_EQ(out_, "pushed 1, pulled 1, rejected 0, conflicts 1\n");

  // A field worker may not query.
  EXPECT_EQ(Vinculo({"query", "conflicts"}), 4) << out_;

  auto sofia = [&](std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv{VINCULO_CLI, "--home", dir_ / "sofia"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, input, &out_);
  };
  ASSERT_EQ(sofia({"init", "--server", server_->url(), "--ca", server_->ca()}), 0) << out_;
  ASSERT_EQ(sofia({"login", "--username", "sofia"}, ServerProcess::Password("sofia") + "\n"), 0);
  ASSERT_EQ(sofia({"query", "conflicts", "--format", "csv"}), 0) << out_;
  EXPECT_EQ(out_.rfind("\xEF\xBB\xBFid,region,record_type,record_id,child_id,field,kind,kept,lost,", 0), 0u) << out_;
  EXPECT_NE(out_.find("vive con la abuela"), std::string::npos) << out_;
  const std::string id = out_.substr(out_.find('\n') + 1, out_.find(',', out_.find('\n')) -
                                                                out_.find('\n') - 1);
  ASSERT_EQ(sofia({"query", "caseload", "--format", "table"}), 0) << out_;
  EXPECT_NE(out_.find("worker"), std::string::npos) << out_;
  // Lucía was never visited: the overdue list (every page) has her, then the count.
  ASSERT_EQ(sofia({"query", "overdue"}), 0) << out_;
  EXPECT_NE(out_.find("Lucía"), std::string::npos) << out_;
  EXPECT_NE(out_.find("never_visited"), std::string::npos) << out_;
  EXPECT_NE(out_.find("\n1 overdue\n"), std::string::npos) << out_;
  ASSERT_EQ(sofia({"query", "overdue", "--format", "json"}), 0) << out_;
  EXPECT_NE(out_.find("\"total\":1"), std::string::npos) << out_;
  ASSERT_EQ(sofia({"query", "overdue", "--limit", "1", "--format", "json"}), 0) << out_;
  EXPECT_NE(out_.find("\"nextPage\":\"\""), std::string::npos) << out_;
  ASSERT_EQ(sofia({"conflicts", "resolve", id, "--keep", "loser"}), 0) << out_;
  EXPECT_EQ(out_, "conflict " + id + " resolved: reinstated the lost value\n");
  ASSERT_EQ(sofia({"query", "conflicts", "--format", "json"}), 0) << out_;
  EXPECT_EQ(out_.find("vive con la"), std::string::npos) << out_;  // none open now

  // The reinstated note reaches the devices.
  ASSERT_EQ(Vinculo({"sync", "--quiet"}), 0) << out_;
  ASSERT_EQ(Vinculo({"child", "show", child}), 0) << out_;
  EXPECT_NE(out_.find("notes: vive con la abuela"), std::string::npos) << out_;
}

}  // namespace
}  // namespace vinculo
