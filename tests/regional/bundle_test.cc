// Offline bundles end to end: `vinculo bundle export` on a device, `vinculo-server bundle import`
// on the server (real binaries, real certificates from deploy/make-certs.sh), then the device's
// online sync.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "server/sqlite_central_store.h"
#include "tests/regional/regional_test_util.h"

namespace vinculo {
namespace {

namespace fs = std::filesystem;
using server::testing::TempDir;
using testing::CliDevice;
using testing::ServerProcess;

std::string ServerCert(const ServerProcess& server) {
  return (fs::path(server.ca()).parent_path() / "server.pem").string();
}
std::string ServerKey(const ServerProcess& server) {
  return (fs::path(server.ca()).parent_path() / "server.key").string();
}

struct Totals {
  uint64_t records = 0;
  uint64_t last_server_seq = 0;
};

Totals ServerTotals(const ServerProcess& server) {
  Totals t;
  Result<std::unique_ptr<server::CentralStore>> store =
      server::OpenSqliteCentralStore(server.data_dir(), false);
  EXPECT_TRUE(store.has_value());
  for (auto type : {v1::RECORD_TYPE_CHILD, v1::RECORD_TYPE_CONTACT, v1::RECORD_TYPE_HOME_VISIT}) {
    t.records += *(*store)->CountRecords(type);
  }
  Result<std::unique_ptr<server::StoreTransaction>> txn = (*store)->Begin();
  t.last_server_seq = *(*txn)->LastServerSeq();
  return t;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_, std::vector<std::string>{"--quiet"});
    server_->AddUser("ana", "field_worker", "Cusco");
    server_->Start();
    device_ = std::make_unique<CliDevice>(dir_, "ana", *server_);
    ASSERT_EQ(device_->Login("ana"), 0) << device_->output();
    // Three changes: a child, an update of it, and a visit.
    ASSERT_EQ(device_->Run({"child", "add", "--given-name", "Lucía", "--region", "Cusco"}), 0);
    child_ = device_->output().substr(0, 36);
    ASSERT_EQ(device_->Run({"child", "update", child_, "--risk", "high"}), 0);
    ASSERT_EQ(device_->Run({"visit", "add", "--child", child_, "--worker", "ana", "--kind",
                            "assessment", "--visited-at", "2026-01-10T10:00:00-05:00"}),
              0);
  }

  int Export(const std::string& file) {
    return device_->Run({"bundle", "export", "--to", file, "--server-cert", ServerCert(*server_)});
  }
  int Import(const std::string& file) {
    return server_->Admin({"bundle", "import", "--key", ServerKey(*server_), file}, "",
                          &import_output_);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<CliDevice> device_;
  std::string child_;
  std::string import_output_;
};

TEST_F(BundleTest, RoundTripThenOnlineSyncAcknowledgesWithoutDuplicates) {
  const std::string bundle = dir_ / "ana.bundle";
  ASSERT_EQ(Export(bundle), 0) << device_->output();
  EXPECT_NE(device_->output().find("wrote " + bundle + ": 3 changes (seq 1-3)"), std::string::npos)
      << device_->output();
  EXPECT_EQ(ReadFile(bundle).find("Lucía"), std::string::npos);
  EXPECT_EQ(fs::status(bundle).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  ASSERT_EQ(Import(bundle), 0) << import_output_;
  EXPECT_NE(import_output_.find("3 changes (seq 1-3): 3 applied, 0 already applied, 0 rejected"),
            std::string::npos)
      << import_output_;
  const Totals after_import = ServerTotals(*server_);
  EXPECT_EQ(after_import.records, 2u);  // the child and the visit
  EXPECT_EQ(after_import.last_server_seq, 3u);

  // The same bundle again: nothing new.
  ASSERT_EQ(Import(bundle), 0) << import_output_;
  EXPECT_NE(import_output_.find("0 applied, 3 already applied"), std::string::npos)
      << import_output_;
  EXPECT_EQ(ServerTotals(*server_).last_server_seq, 3u);

  // Back in signal: the device's sync is acknowledged, nothing is applied twice.
  ASSERT_EQ(device_->Run({"sync", "--quiet"}), 0) << device_->output();
  const Totals after_sync = ServerTotals(*server_);
  EXPECT_EQ(after_sync.records, 2u);
  EXPECT_EQ(after_sync.last_server_seq, 3u) << "the sync applied the bundle's changes again";
  client::LocalStore store = device_->Open();
  EXPECT_EQ(store.ReadStatus()->pending, 0u);
  EXPECT_EQ(store.ReadStatus()->acked_seq, 3u);
  EXPECT_TRUE(store.Rejected()->empty());
  Result<v1::RecordState> child = store.Get(v1::RECORD_TYPE_CHILD, child_);
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(child->record().child().risk_level(), v1::RISK_LEVEL_HIGH);

  // A later bundle carries only what is pending now; an old bundle stays harmless.
  ASSERT_EQ(device_->Run({"child", "update", child_, "--risk", "low"}), 0);
  ASSERT_EQ(Export(dir_ / "second.bundle"), 0) << device_->output();
  ASSERT_EQ(Import(dir_ / "second.bundle"), 0) << import_output_;
  EXPECT_NE(import_output_.find("1 changes (seq 4-4): 1 applied"), std::string::npos)
      << import_output_;
  ASSERT_EQ(Import(bundle), 0) << import_output_;
  EXPECT_NE(import_output_.find("0 applied, 3 already applied"), std::string::npos);
}

TEST_F(BundleTest, TamperedBundleIsRefusedAndNothingApplied) {
  const std::string bundle = dir_ / "ana.bundle";
  ASSERT_EQ(Export(bundle), 0) << device_->output();
  const std::string original = ReadFile(bundle);
  // One byte in each part of the file: magic, version, device id, clock, ephemeral key, nonce,
  // ciphertext, tag, MAC (the unit test flips every byte).
  const size_t n = original.size();
  for (size_t at : {size_t{0}, size_t{9}, size_t{14}, size_t{50}, size_t{70}, size_t{150}, n / 2,
                    n - 40, n - 20, n - 1}) {
    std::string tampered = original;
    tampered[at] = static_cast<char>(tampered[at] ^ 0x20);
    const std::string file = dir_ / "tampered.bundle";
    std::ofstream(file, std::ios::binary) << tampered;
    EXPECT_EQ(Import(file), 1) << "byte " << at << ": " << import_output_;
    EXPECT_NE(import_output_.find("error: " + file + ": "), std::string::npos) << import_output_;
    EXPECT_NE(import_output_.find("(nothing applied)"), std::string::npos) << import_output_;
  }
  std::string flipped = original;
  flipped[n / 2] = static_cast<char>(flipped[n / 2] ^ 1);
  std::ofstream(dir_ / "one.bundle", std::ios::binary) << flipped;
  EXPECT_EQ(Import(dir_ / "one.bundle"), 1);
  EXPECT_NE(import_output_.find("was altered or damaged"), std::string::npos) << import_output_;
  EXPECT_EQ(ServerTotals(*server_).records, 0u);
  EXPECT_EQ(ServerTotals(*server_).last_server_seq, 0u);
  // The untouched bundle still goes in.
  EXPECT_EQ(Import(bundle), 0) << import_output_;
  EXPECT_EQ(ServerTotals(*server_).records, 2u);
}

TEST_F(BundleTest, BundleOfARevokedDeviceIsRefused) {
  const std::string bundle = dir_ / "ana.bundle";
  ASSERT_EQ(Export(bundle), 0) << device_->output();
  const std::string device_id = device_->Open().device_id();
  std::string out;
  ASSERT_EQ(server_->Admin({"device", "revoke", device_id}, "", &out), 0) << out;
  EXPECT_EQ(Import(bundle), 1);
  EXPECT_NE(import_output_.find("device " + device_id + " was revoked"), std::string::npos)
      << import_output_;
  EXPECT_EQ(ServerTotals(*server_).records, 0u);
}

TEST_F(BundleTest, ABundleMadeBeforeTheLatestLoginDoesNotVerify) {
  const std::string bundle = dir_ / "ana.bundle";
  ASSERT_EQ(Export(bundle), 0) << device_->output();
  ASSERT_EQ(device_->Login("ana"), 0);  // a new token
  EXPECT_EQ(Import(bundle), 1);
  EXPECT_NE(import_output_.find("does not verify"), std::string::npos) << import_output_;
}

TEST_F(BundleTest, ExportChecksTheServerCertificateAgainstTheDevicesCa) {
  // A certificate from another CA is refused: the device never seals for a key it cannot trust.
  std::string out;
  ASSERT_EQ(testing::RunProcess({"/bin/bash", VINCULO_MAKE_CERTS, dir_ / "other"}, "", &out), 0);
  EXPECT_EQ(device_->Run({"bundle", "export", "--to", dir_ / "x.bundle", "--server-cert",
                          dir_ / "other/server.pem"}),
            1);
  EXPECT_NE(device_->output().find("is not this device's server's certificate"), std::string::npos)
      << device_->output();
  EXPECT_FALSE(fs::exists(dir_ / "x.bundle"));
  // Without --server-cert, HOME/server-cert.pem is used.
  EXPECT_EQ(device_->Run({"bundle", "export", "--to", dir_ / "x.bundle"}), 1);
  EXPECT_NE(device_->output().find("server-cert.pem"), std::string::npos) << device_->output();
  fs::copy_file(ServerCert(*server_), fs::path(device_->home()) / "server-cert.pem");
  EXPECT_EQ(device_->Run({"bundle", "export", "--to", dir_ / "x.bundle"}), 0) << device_->output();
}

TEST_F(BundleTest, NothingPendingNothingToExport) {
  ASSERT_EQ(device_->Run({"sync", "--quiet"}), 0) << device_->output();
  EXPECT_EQ(Export(dir_ / "empty.bundle"), 1);
  EXPECT_NE(device_->output().find("nothing to export"), std::string::npos);
}

}  // namespace
}  // namespace vinculo
