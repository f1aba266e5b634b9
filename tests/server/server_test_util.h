#pragma once
// Helpers for server tests: a central store in a fresh temporary directory, users and devices, and
// mutations built the way a device builds them.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/merge.h"
#include "common/record.h"
#include "server/auth.h"
#include "server/sqlite_central_store.h"
#include "server/sync_service.h"

namespace vinculo::server::testing {

inline constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28, Unix ms

// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("vinculo-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

inline std::unique_ptr<CentralStore> NewCentralStore(const TempDir& dir) {
  Result<std::unique_ptr<CentralStore>> store = OpenSqliteCentralStore(dir / "data", true);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return std::move(store).value();
}

// Adds a user (password "password-" + name, cheap scrypt) and enrols `device_id` to them.
inline Principal Enrol(CentralStore& store, const std::string& username, Role role,
                       const std::string& region, const std::string& device_id) {
  Result<std::string> hash = HashPassword("password-" + username, {.n = 1024, .r = 8, .p = 1});
  EXPECT_TRUE(hash.has_value());
  Status added = store.AddUser(
      {.username = username, .password_hash = *hash, .role = role, .region = region});
  if (!added.ok()) {
    EXPECT_EQ(added.error().code, ErrorCode::kAlreadyExists);
  }
  EXPECT_TRUE(store.IssueDeviceToken(device_id, username, TokenHash("token-" + device_id),
                                     kNow + 86'400'000, kNow)
                  .has_value());
  return {.username = username, .role = role, .region = region, .device_id = device_id};
}

// A device in miniature: its records' states and its mutation counter, building mutations with
// the core exactly as the device store does.
struct FakeDevice {
  FakeDevice() = default;
  explicit FakeDevice(std::string device_id) : id(std::move(device_id)) {}

  std::string id;
  uint64_t seq = 0;
  HybridClock clock;
  std::map<std::string, v1::RecordState> states;

  v1::Mutation Write(const v1::Record& values, std::vector<uint32_t> fields, int64_t now_ms) {
    v1::RecordState& state = states[RecordId(values)];
    v1::Mutation m = MakeMutation(state, values, fields, clock.Tick(static_cast<uint64_t>(now_ms)),
                                  ++seq);
    Result<ApplyOutcome> applied = ApplyMutation(&state, m, id);
    EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
    return m;
  }
  v1::Mutation Create(const v1::Record& values, int64_t now_ms) {
    return Write(values, SetFields(values), now_ms);
  }
  void Pull(const v1::SyncResponse& response) {
    for (const v1::Change& c : response.changes()) {
      v1::RecordState& state = states[RecordId(c.state().record())];
      EXPECT_TRUE(MergeState(&state, c.state()).has_value());
      clock.Advance(MaxStamp(c.state()).hlc());
    }
    for (const v1::Eviction& e : response.evictions()) states.erase(e.record_id());
    clock.Advance(response.server_clock());
  }
};

inline v1::Record ChildRecord(const std::string& id, const std::string& given,
                              const std::string& region) {
  v1::Record r;
  v1::Child* c = r.mutable_child();
  c->set_id(id);
  c->set_given_name(given);
  c->set_region(region);
  c->set_status(v1::CASE_STATUS_OPEN);
  return r;
}

inline v1::Record VisitRecord(const std::string& id, const std::string& child_id) {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_id(id);
  v->set_child_id(child_id);
  v->set_worker("ana");
  v->set_visited_at("2026-05-20T10:00:00-05:00");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  return r;
}

// A UUIDv7-shaped id numbered n (distinct, sortable, valid).
inline std::string Id(int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "01890a5d-ac96-7000-8000-%012d", n);
  return buffer;
}

}  // namespace vinculo::server::testing
