// Supervisor queries over data seeded through the sync path (devices pushing mutations through
// SyncService), each figure checked against an independent count kept by the test while it seeded.
#include "server/query_service.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "common/civil_time.h"
#include "server/api.h"
#include "server/reply_format.h"
#include "tests/common/seed.h"
#include "tests/server/server_test_util.h"

namespace vinculo::server {
namespace {

using namespace vinculo::server::testing;

struct SeededVisit {
  std::string id, child_id, worker, region;
  int64_t day;  // visited_at's UTC day
  std::string due;
  int kind;
};
struct SeededChild {
  std::string id, region, worker, programme;
  int status, placement;  // current
  std::vector<std::tuple<int64_t, int, int>> moves;  // (day, from, to)
};

class QueryTest : public ::testing::Test {
 protected:
  QueryTest() : store_(NewCentralStore(dir_)), sync_(*store_, SyncLimits{}), query_(*store_) {
    workers_ = {{"ana", Enrol(*store_, "ana", Role::kFieldWorker, "Cusco", Id(9001))},
                {"beto", Enrol(*store_, "beto", Role::kFieldWorker, "Cusco", Id(9002))},
                {"lia", Enrol(*store_, "lia", Role::kFieldWorker, "Lima", Id(9003))}};
    sofia_ = Enrol(*store_, "sofia", Role::kSupervisor, "Cusco", Id(9005));
    root_ = Enrol(*store_, "root", Role::kAdmin, "", Id(9006));
    Seed();
  }

  void Push(const Principal& who, FakeDevice& device, std::vector<v1::Mutation> batch) {
    v1::SyncRequest request;
    request.set_device_id(who.device_id);
    for (auto& m : batch) *request.add_mutations() = std::move(m);
    Result<v1::SyncResponse> r = sync_.Sync(who, request, kNow);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    ASSERT_EQ(r->rejections_size(), 0) << r->rejections(0).message();
    device.Pull(*r);
  }

  // Children, visits over January–June 2026 and placement moves, pushed by each worker's device.
  void Seed() {
    const uint64_t seed = PropertySeed();
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const int64_t jan1 = *ParseDate("2026-01-01");
    int n = 0;
    for (auto& [name, who] : workers_) {
      FakeDevice device(who.device_id);
      std::vector<v1::Mutation> batch;
      for (int c = 0; c < 15; ++c) {
        SeededChild child{.id = Id(++n), .region = who.region, .worker = name,
                          .programme = rng() % 2 ? "acogimiento familiar" : "reintegración",
                          .status = static_cast<int>(1 + rng() % 3),
                          .placement = v1::PLACEMENT_RESIDENTIAL_INSTITUTION};
        // Moves: some children leave the institution, a few go back.
        int64_t day = jan1 + static_cast<int64_t>(rng() % 60);
        for (int m = static_cast<int>(rng() % 3); m > 0; --m) {
          const int to = child.placement == v1::PLACEMENT_RESIDENTIAL_INSTITUTION
                             ? static_cast<int>(2 + rng() % 3)  // foster, kinship, origin
                             : v1::PLACEMENT_RESIDENTIAL_INSTITUTION;
          child.moves.emplace_back(day, child.placement, to);
          child.placement = to;
          day += 10 + static_cast<int64_t>(rng() % 50);
        }
        v1::Record r = ChildRecord(child.id, "Niño " + std::to_string(n), child.region);
        r.mutable_child()->set_assigned_worker(name);
        r.mutable_child()->set_programme(child.programme);
        r.mutable_child()->set_status(static_cast<v1::CaseStatus>(child.status));
        r.mutable_child()->set_placement(static_cast<v1::Placement>(child.placement));
        batch.push_back(device.Create(r, kNow));
        for (const auto& [d, from, to] : child.moves) {
          v1::Record p;
          v1::PlacementChange* pc = p.mutable_placement_change();
          pc->set_id(Id(++n));
          pc->set_child_id(child.id);
          pc->set_from_placement(static_cast<v1::Placement>(from));
          pc->set_to_placement(static_cast<v1::Placement>(to));
          pc->set_changed_on(FormatDate(d));
          batch.push_back(device.Create(p, kNow));
        }
        for (int v = static_cast<int>(rng() % 6); v > 0; --v) {
          SeededVisit visit{.id = Id(++n), .child_id = child.id, .worker = name,
                            .region = child.region, .day = jan1 + static_cast<int64_t>(rng() % 180),
                            .kind = static_cast<int>(1 + rng() % 5)};
          if (rng() % 4) visit.due = FormatDate(visit.day + 7 + static_cast<int64_t>(rng() % 40));
          v1::Record r2 = VisitRecord(visit.id, child.id);
          r2.mutable_home_visit()->set_worker(name);
          r2.mutable_home_visit()->set_visited_at(FormatDate(visit.day) + "T15:00:00Z");
          r2.mutable_home_visit()->set_next_visit_due(visit.due);
          r2.mutable_home_visit()->set_kind(static_cast<v1::VisitKind>(visit.kind));
          r2.mutable_home_visit()->set_observations("dijo \"bien\", come, duerme");
          batch.push_back(device.Create(r2, kNow));
          visits_.push_back(visit);
        }
        children_.push_back(child);
      }
      Push(who, device, std::move(batch));
      devices_.emplace(name, std::move(device));
    }
  }

  // The latest visit of a child in the seed, if any.
  const SeededVisit* Latest(const std::string& child_id) const {
    const SeededVisit* best = nullptr;
    for (const SeededVisit& v : visits_) {
      if (v.child_id == child_id && (!best || v.day > best->day ||
                                     (v.day == best->day && v.id > best->id))) {
        best = &v;
      }
    }
    return best;
  }

  TempDir dir_;
  std::unique_ptr<CentralStore> store_;
  SyncService sync_;
  QueryService query_;
  std::map<std::string, Principal> workers_;
  std::map<std::string, FakeDevice> devices_;
  Principal sofia_, root_;
  std::vector<SeededChild> children_;
  std::vector<SeededVisit> visits_;
};

TEST_F(QueryTest, VisitsFilterAndPageInStableOrder) {
  const int64_t from = *ParseDate("2026-02-01"), to = *ParseDate("2026-04-30");
  std::vector<std::string> expected;
  std::vector<const SeededVisit*> matching;
  for (const SeededVisit& v : visits_) {
    if (v.region == "Cusco" && v.worker == "beto" && v.day >= from && v.day <= to) {
      matching.push_back(&v);
    }
  }
  std::sort(matching.begin(), matching.end(), [](auto* a, auto* b) {
    return std::tie(a->day, a->id) < std::tie(b->day, b->id);
  });
  for (auto* v : matching) expected.push_back(v->id);

  std::vector<std::string> got;
  std::string after;
  int pages = 0;
  do {
    Result<v1::VisitsResponse> page = query_.Visits(
        sofia_, {.worker = "beto", .from = "2026-02-01", .to = "2026-04-30", .after = after,
                 .limit = 3});
    ASSERT_TRUE(page.has_value()) << page.error().ToString();
    for (const v1::HomeVisit& v : page->visits()) got.push_back(v.id());
    after = page->next_page();
    ++pages;
  } while (!after.empty() && pages < 1000);
  EXPECT_EQ(got, expected);
  EXPECT_GE(pages, static_cast<int>(expected.size() / 3));

  // By kind, for the admin across both regions.
  size_t follow_ups = 0;
  for (const SeededVisit& v : visits_) follow_ups += v.kind == v1::VISIT_KIND_FOLLOW_UP;
  Result<v1::VisitsResponse> all = query_.Visits(root_, {.kind = "follow-up", .limit = 5000});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(static_cast<size_t>(all->visits_size()), follow_ups);
}

TEST_F(QueryTest, CaseloadCountsMatchTheSeed) {
  Result<v1::CaseloadResponse> r =
      query_.Caseload(sofia_, "", "2026-03-01", "2026-03-31", kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  const int64_t from = *ParseDate("2026-03-01"), to = *ParseDate("2026-03-31");
  for (const char* worker : {"ana", "beto"}) {
    uint32_t open = 0, visits = 0, overdue = 0;
    for (const SeededChild& c : children_) {
      if (c.worker != worker || c.status == v1::CASE_STATUS_CLOSED) continue;
      ++open;
      const SeededVisit* latest = Latest(c.id);
      if (!latest || (!latest->due.empty() && *ParseDate(latest->due) < to) ||
          (latest->due.empty() && to - latest->day > 30)) {
        ++overdue;  // the same rule as /v1/overdue, as of the period's end
      }
    }
    for (const SeededVisit& v : visits_) visits += v.worker == worker && v.day >= from && v.day <= to;
    const v1::CaseloadRow* row = nullptr;
    for (const v1::CaseloadRow& x : r->rows()) {
      if (x.worker() == worker) row = &x;
    }
    ASSERT_NE(row, nullptr) << worker;
    EXPECT_EQ(row->open_cases(), open) << worker;
    EXPECT_EQ(row->visits(), visits) << worker;
    EXPECT_EQ(row->overdue(), overdue) << worker;
  }
  for (const v1::CaseloadRow& x : r->rows()) EXPECT_NE(x.worker(), "lia");  // Lima is not hers
}

TEST_F(QueryTest, OverdueListsExactlyTheCasesThatNeedAVisit) {
  const int64_t as_of = *ParseDate("2026-05-15");
  std::set<std::string> expected;
  for (const SeededChild& c : children_) {
    if (c.region != "Cusco" || c.status == v1::CASE_STATUS_CLOSED) continue;
    const SeededVisit* latest = Latest(c.id);
    if (!latest) {
      expected.insert(c.id);
    } else if (!latest->due.empty()) {
      if (*ParseDate(latest->due) < as_of) expected.insert(c.id);
    } else if (as_of - latest->day > 30) {
      expected.insert(c.id);
    }
  }
  Result<v1::OverdueResponse> r = query_.Overdue(sofia_, "", "2026-05-15", 30, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  std::set<std::string> got;
  for (const v1::OverdueCase& c : r->cases()) got.insert(c.child().id());
  EXPECT_EQ(got, expected);
}

TEST_F(QueryTest, OutcomesByMonthMatchTheSeededPlacementHistory) {
  Result<v1::OutcomesResponse> r =
      query_.Outcomes(root_, {.from = "2026-01-01", .to = "2026-06-30", .by = "month"});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->rows_size(), 6);
  for (const v1::OutcomeRow& row : r->rows()) {
    const int64_t start = *ParseDate(row.key() + "-01");
    const int64_t end = *ParseDate(FormatDate(start + 31).substr(0, 7) + "-01") - 1;
    std::set<std::string> reintegrated, left;
    uint32_t population = 0;
    for (const SeededChild& c : children_) {
      int placement = c.moves.empty() ? c.placement : std::get<1>(c.moves.front());
      for (const auto& [day, from, to] : c.moves) {
        if (day >= start && day <= end) {
          if (to == v1::PLACEMENT_FAMILY_OF_ORIGIN || to == v1::PLACEMENT_KINSHIP_CARE) {
            reintegrated.insert(c.id);
          }
          if (from == v1::PLACEMENT_RESIDENTIAL_INSTITUTION &&
              to != v1::PLACEMENT_RESIDENTIAL_INSTITUTION) {
            left.insert(c.id);
          }
        }
        if (day <= end) placement = to;
      }
      population += placement == v1::PLACEMENT_RESIDENTIAL_INSTITUTION;
    }
    EXPECT_EQ(row.reintegrated(), reintegrated.size()) << row.key();
    EXPECT_EQ(row.left_institutions(), left.size()) << row.key();
    EXPECT_EQ(row.institution_population(), population) << row.key();
  }
}

TEST_F(QueryTest, ConflictIsReviewedAndTheLostValueReinstatedBySync) {
  FakeDevice& a = devices_.at("ana");
  FakeDevice other(Id(9101));
  Principal ana2 = Enrol(*store_, "ana", Role::kFieldWorker, "Cusco", Id(9101));
  {
    v1::SyncRequest request;
    request.set_device_id(ana2.device_id);
    other.Pull(*sync_.Sync(ana2, request, kNow));
  }
  const std::string child = children_.front().id;
  v1::Record note_a, note_b;
  note_a.mutable_child()->set_id(child);
  note_a.mutable_child()->set_notes("la abuela puede recibirla");
  note_b.mutable_child()->set_id(child);
  note_b.mutable_child()->set_notes("la tía prefiere esperar");
  Push(workers_.at("ana"), a, {a.Write(note_a, {13}, kNow + 1000)});
  Push(ana2, other, {other.Write(note_b, {13}, kNow + 2000)});

  Result<v1::ConflictsResponse> open = query_.Conflicts(sofia_, "open");
  ASSERT_TRUE(open.has_value());
  ASSERT_EQ(open->conflicts_size(), 1);
  const v1::ConflictEntry& c = open->conflicts(0);
  EXPECT_EQ(c.conflict().losing().child().notes(), "la abuela puede recibirla");
  EXPECT_EQ(query_.Conflicts(devices_.empty() ? root_ : workers_.at("lia"), "open").error().code,
            ErrorCode::kPermissionDenied);

  Result<v1::ConflictEntry> resolved = query_.Resolve(sofia_, c.id(), "loser", kNow + 3000);
  ASSERT_TRUE(resolved.has_value()) << resolved.error().ToString();
  EXPECT_EQ(resolved->resolution(), "reinstate_loser");
  EXPECT_EQ(query_.Resolve(sofia_, c.id(), "loser", kNow + 3000).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(query_.Conflicts(sofia_, "open")->conflicts_size(), 0);
  EXPECT_EQ(query_.Conflicts(sofia_, "resolved")->conflicts_size(), 1);

  // The reinstated value reaches a device like any change.
  v1::SyncRequest request;
  request.set_device_id(ana2.device_id);
  other.Pull(*sync_.Sync(ana2, request, kNow + 4000));
  EXPECT_EQ(other.states[child].record().child().notes(), "la abuela puede recibirla");
}

TEST_F(QueryTest, ChildReadsAreAuditedAndScopedToTheRegion) {
  const SeededChild* cusco = nullptr;
  const SeededChild* lima = nullptr;
  for (const SeededChild& c : children_) (c.region == "Cusco" ? cusco : lima) = &c;
  Result<v1::ChildHistory> h = query_.ChildRecord(sofia_, cusco->id, kNow);
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  EXPECT_EQ(static_cast<size_t>(h->placements_size()), cusco->moves.size());
  size_t visits = 0;
  for (const SeededVisit& v : visits_) visits += v.child_id == cusco->id;
  EXPECT_EQ(static_cast<size_t>(h->visits_size()), visits);

  // Another region's child is not found, by any parameter.
  EXPECT_EQ(query_.ChildRecord(sofia_, lima->id, kNow).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(query_.Visits(sofia_, {.region = "Lima"}).error().code, ErrorCode::kPermissionDenied);
  const Result<v1::VisitsResponse> other = query_.Visits(sofia_, {.child_id = lima->id});
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->visits_size(), 0);
  EXPECT_EQ(query_.Overdue(sofia_, "Lima", "", 30, kNow).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(query_.Outcomes(sofia_, {.region = "Lima", .from = "2026-01-01", .to = "2026-02-01"})
                .error()
                .code,
            ErrorCode::kPermissionDenied);
  const Result<v1::VisitsResponse> hers = query_.Visits(sofia_, {.limit = 5000});
  ASSERT_TRUE(hers.has_value());
  for (const v1::HomeVisit& v : hers->visits()) EXPECT_NE(v.worker(), "lia");

  // Field workers may not query at all.
  const Principal& ana = workers_.at("ana");
  EXPECT_EQ(query_.Visits(ana, {}).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(query_.ChildRecord(ana, cusco->id, kNow).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(query_.Caseload(ana, "", "", "", kNow).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(query_.Audit(sofia_, "", 100).error().code, ErrorCode::kPermissionDenied);

  Result<v1::AuditResponse> audit = query_.Audit(root_, "", 5000);
  ASSERT_TRUE(audit.has_value());
  int reads = 0, writes = 0;
  for (const v1::AuditEntry& e : audit->entries()) {
    if (e.action() == "read" && e.child_id() == cusco->id && e.username() == "sofia") ++reads;
    if (e.action() == "write" && e.child_id() == cusco->id) ++writes;
  }
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(writes, static_cast<int>(1 + cusco->moves.size() + visits));
}

TEST_F(QueryTest, HttpAnswersJsonCsvAndProtobufWithTheSameFigures) {
  Api api(*store_, ApiOptions{});
  HttpRequest r{.method = "GET",
                .target = "/v1/visits?worker=ana&format=csv&limit=5000",
                .authorization = "Bearer token-" + sofia_.device_id};
  HttpResponse csv = api.Handle(r, kNow);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body.rfind("\xEF\xBB\xBFid,child_id,child_name,family_id,worker,visited_at,kind,", 0), 0u);
  EXPECT_NE(csv.body.find(R"("dijo ""bien"", come, duerme")"), std::string::npos);
  size_t ana_visits = 0;
  for (const SeededVisit& v : visits_) ana_visits += v.worker == "ana";
  size_t lines = 0;
  for (char ch : csv.body) lines += ch == '\n';
  EXPECT_EQ(lines, ana_visits + 1);  // the header, then one line a visit

  r.target = "/v1/visits?worker=ana&limit=5000";
  HttpResponse json = api.Handle(r, kNow);
  EXPECT_EQ(json.content_type, "application/json; charset=utf-8");
  EXPECT_NE(json.body.find("\"visitedAt\""), std::string::npos);

  r.accept = "application/x-protobuf";
  v1::VisitsResponse proto;
  ASSERT_TRUE(proto.ParseFromString(api.Handle(r, kNow).body));
  EXPECT_EQ(static_cast<size_t>(proto.visits_size()), ana_visits);

  r.target = "/v1/visits?region=Lima";
  r.accept.clear();
  HttpResponse forbidden = api.Handle(r, kNow);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_NE(forbidden.body.find("\"field\":\"region\""), std::string::npos) << forbidden.body;
  r.authorization = "Bearer token-" + workers_.at("ana").device_id;
  r.target = "/v1/caseload";
  EXPECT_EQ(api.Handle(r, kNow).status, 403);
}

}  // namespace
}  // namespace vinculo::server
