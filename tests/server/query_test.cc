// Supervisor queries over data seeded through the sync path (devices pushing mutations through
// SyncService), each figure checked against an independent count kept by the test while it seeded.
#include "server/query_service.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "common/civil_time.h"
#include "common/sqlite.h"
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

// The store builds one statement per combination of filters, each naming the index that serves
// it: every combination, paged through its cursor, returns exactly the seeded visits in order.
TEST_F(QueryTest, VisitsEveryCombinationOfFiltersPagesLikeTheSeed) {
  const SeededVisit& sample = visits_.at(visits_.size() / 2);
  const int64_t from = *ParseDate("2026-02-01"), to = *ParseDate("2026-04-30");
  for (int mask = 0; mask < 64; ++mask) {
    const bool admin = mask & 1, by_worker = mask & 2, by_child = mask & 4, by_from = mask & 8,
               by_to = mask & 16, by_kind = mask & 32;
    SCOPED_TRACE("filters " + std::to_string(mask));
    std::vector<const SeededVisit*> matching;
    for (const SeededVisit& v : visits_) {
      if ((!admin && v.region != "Cusco") || (by_worker && v.worker != sample.worker) ||
          (by_child && v.child_id != sample.child_id) || (by_from && v.day < from) ||
          (by_to && v.day > to) || (by_kind && v.kind != v1::VISIT_KIND_FOLLOW_UP)) {
        continue;
      }
      matching.push_back(&v);
    }
    std::sort(matching.begin(), matching.end(), [](auto* a, auto* b) {
      return std::tie(a->day, a->id) < std::tie(b->day, b->id);
    });
    std::vector<std::string> expected, got;
    for (auto* v : matching) expected.push_back(v->id);
    VisitsParams params{.worker = by_worker ? sample.worker : "",
                        .child_id = by_child ? sample.child_id : "",
                        .from = by_from ? "2026-02-01" : "",
                        .to = by_to ? "2026-04-30" : "",
                        .kind = by_kind ? "follow-up" : "",
                        .limit = 4};
    for (int pages = 0; pages < 1000; ++pages) {
      Result<v1::VisitsResponse> page = query_.Visits(admin ? root_ : sofia_, params);
      ASSERT_TRUE(page.has_value()) << page.error().ToString();
      for (const v1::HomeVisit& v : page->visits()) got.push_back(v.id());
      if (page->next_page().empty()) break;
      params.after = page->next_page();
    }
    EXPECT_EQ(got, expected);
  }
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
  Result<v1::OverdueResponse> r =
      query_.Overdue(sofia_, {.as_of = "2026-05-15", .limit = 5000}, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  std::set<std::string> got;
  for (const v1::OverdueCase& c : r->cases()) got.insert(c.child_id());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(r->total(), expected.size());
  EXPECT_TRUE(r->next_page().empty());
}

// Small pages, followed by their tokens, give every overdue case once, in the documented order
// (never visited, then most days overdue, then id), each with the total of all pages.
TEST_F(QueryTest, OverduePagesInAStableOrderWithTheTotal) {
  // Late enough that most open cases are overdue.
  const OverdueParams all{.as_of = "2026-08-01", .limit = 5000};
  Result<v1::OverdueResponse> whole = query_.Overdue(root_, all, kNow);
  ASSERT_TRUE(whole.has_value()) << whole.error().ToString();
  ASSERT_GT(whole->cases_size(), 14);
  EXPECT_EQ(whole->total(), static_cast<uint32_t>(whole->cases_size()));
  for (int i = 1; i < whole->cases_size(); ++i) {
    const v1::OverdueCase& a = whole->cases(i - 1);
    const v1::OverdueCase& b = whole->cases(i);
    const bool a_never = a.reason() == "never_visited", b_never = b.reason() == "never_visited";
    EXPECT_TRUE(a_never > b_never ||
                (a_never == b_never &&
                 (a.days_overdue() > b.days_overdue() ||
                  (a.days_overdue() == b.days_overdue() && a.child_id() < b.child_id()))))
        << i;
  }
  std::vector<std::string> paged;
  OverdueParams page = all;
  page.limit = 7;
  for (int pages = 1;; ++pages) {
    Result<v1::OverdueResponse> r = query_.Overdue(root_, page, kNow);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->total(), whole->total());
    EXPECT_LE(r->cases_size(), 7);
    for (const v1::OverdueCase& c : r->cases()) paged.push_back(c.child_id());
    if (r->next_page().empty()) break;
    ASSERT_LT(pages, 100);
    page.after = r->next_page();
  }
  std::vector<std::string> expected;
  for (const v1::OverdueCase& c : whole->cases()) expected.push_back(c.child_id());
  EXPECT_EQ(paged, expected);
  // A lean row: the child's name, region, worker and programme, from its record.
  const v1::OverdueCase& first = whole->cases(0);
  const SeededChild* child = nullptr;
  for (const SeededChild& c : children_) child = c.id == first.child_id() ? &c : child;
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(first.given_name().rfind("Niño ", 0), 0u);
  EXPECT_EQ(first.region(), child->region);
  EXPECT_EQ(first.assigned_worker(), child->worker);
  EXPECT_EQ(first.programme(), child->programme);

  page.after = "soon.x";
  EXPECT_EQ(query_.Overdue(root_, page, kNow).error().field, "after");
  page.after.clear();
  page.limit = 5001;
  EXPECT_EQ(query_.Overdue(root_, page, kNow).error().field, "limit");
}

// Each child's latest visit is kept as visits change: deleting the latest, moving one back in
// time, restoring it, and moving a child with its visits to another region. Caseload and overdue
// then agree with a count from scratch over what the devices wrote.
TEST_F(QueryTest, LatestVisitFollowsDeletesEditsRestoresAndMoves) {
  // Open cases of Cusco with at least two visits: the changes below need a previous visit to
  // fall back on, and an open case to be listed. Each change is made by the case's worker.
  std::vector<std::string> picked;
  std::map<std::string, std::string> worker_of;
  for (const SeededChild& c : children_) {
    int n = 0;
    for (const SeededVisit& v : visits_) n += v.child_id == c.id;
    if (c.region == "Cusco" && c.status != v1::CASE_STATUS_CLOSED && n >= 2) {
      picked.push_back(c.id);
      worker_of[c.id] = c.worker;
    }
  }
  ASSERT_GE(picked.size(), 3u) << "the seed gave Cusco too few visited open cases";
  // Writes `values` (fields `fields`) from the device of `child_id`'s worker.
  auto write = [&](const std::string& child_id, const v1::Record& values,
                   std::vector<uint32_t> fields, int64_t at_ms) {
    const std::string& worker = worker_of.at(child_id);
    FakeDevice& device = devices_.at(worker);
    Push(workers_.at(worker), device, {device.Write(values, std::move(fields), at_ms)});
  };
  auto latest_index = [&](const std::string& child_id) {
    const SeededVisit* latest = Latest(child_id);
    return static_cast<size_t>(latest - visits_.data());
  };
  auto visit_values = [](const SeededVisit& v) {
    v1::Record r;
    r.mutable_home_visit()->set_id(v.id);
    return r;
  };
  // 1. The first child's latest visit is deleted: its previous one is the latest again.
  v1::Record del = visit_values(visits_[latest_index(picked[0])]);
  del.mutable_home_visit()->set_deleted(true);
  write(picked[0], del, {kDeletedField}, kNow + 1000);
  visits_.erase(visits_.begin() + static_cast<std::ptrdiff_t>(latest_index(picked[0])));

  // 2. The second child's latest visit was typed with the wrong date: it moves back before all
  // the others, and its agreed next visit goes with it.
  SeededVisit& moved = visits_[latest_index(picked[1])];
  moved.day = *ParseDate("2025-12-01");
  moved.due = "2025-12-20";
  v1::Record edit = visit_values(moved);
  edit.mutable_home_visit()->set_visited_at(FormatDate(moved.day) + "T15:00:00Z");
  edit.mutable_home_visit()->set_next_visit_due(moved.due);
  write(picked[1], edit, {5, 11}, kNow + 2000);  // visited_at, next_visit_due
  ASSERT_NE(Latest(picked[1])->id, moved.id);

  // 3. The third child's latest visit is deleted and then restored.
  SeededVisit back = visits_[latest_index(picked[2])];
  v1::Record del2 = visit_values(back);
  del2.mutable_home_visit()->set_deleted(true);
  write(picked[2], del2, {kDeletedField}, kNow + 3000);
  v1::Record restore = visit_values(back);
  restore.mutable_home_visit()->set_deleted(false);
  write(picked[2], restore, {kDeletedField}, kNow + 4000);

  // 4. The first child's case moves to Lima with its visits (by the administrator).
  FakeDevice admin(root_.device_id);
  admin.states[picked[0]] = devices_.at(worker_of.at(picked[0])).states.at(picked[0]);
  v1::Record move;
  move.mutable_child()->set_id(picked[0]);
  move.mutable_child()->set_region("Lima");
  Push(root_, admin, {admin.Write(move, {6}, kNow + 5000)});  // region
  for (SeededChild& c : children_) c.region = c.id == picked[0] ? "Lima" : c.region;
  for (SeededVisit& v : visits_) v.region = v.child_id == picked[0] ? "Lima" : v.region;

  // From scratch: every open child's latest visit in what remains. As of 2027 every open case is
  // overdue, so each one's latest visit is listed and compared.
  for (const char* date : {"2026-05-15", "2027-01-01"}) {
    SCOPED_TRACE(date);
    const int64_t as_of = *ParseDate(date);
    std::map<std::string, std::pair<std::string, std::string>> expected;  // id → (last visit, due)
    std::map<std::pair<std::string, std::string>, uint32_t> overdue_per_row;  // (region, worker)
    for (const SeededChild& c : children_) {
      if (c.status == v1::CASE_STATUS_CLOSED) continue;
      const SeededVisit* latest = Latest(c.id);
      const bool overdue = !latest || (!latest->due.empty() && *ParseDate(latest->due) < as_of) ||
                           (latest->due.empty() && as_of - latest->day > 30);
      if (!overdue) continue;
      expected[c.id] = latest ? std::make_pair(FormatDate(latest->day) + "T15:00:00Z", latest->due)
                              : std::make_pair(std::string(), std::string());
      ++overdue_per_row[{c.region, c.worker}];
    }
    Result<v1::OverdueResponse> r = query_.Overdue(root_, {.as_of = date, .limit = 5000}, kNow);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    std::map<std::string, std::pair<std::string, std::string>> got;
    for (const v1::OverdueCase& c : r->cases()) {
      got[c.child_id()] = {c.last_visit_at(), c.next_visit_due()};
      const SeededChild* child = nullptr;
      for (const SeededChild& x : children_) child = x.id == c.child_id() ? &x : child;
      ASSERT_NE(child, nullptr);
      EXPECT_EQ(c.region(), child->region) << c.child_id();
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(r->total(), expected.size());
    // The moved child counts in Lima now, for Lima's supervisor view as for the administrator's.
    Result<v1::CaseloadResponse> caseload = query_.Caseload(root_, "", "2026-05-01", date, kNow);
    ASSERT_TRUE(caseload.has_value()) << caseload.error().ToString();
    std::map<std::pair<std::string, std::string>, uint32_t> counted;
    for (const v1::CaseloadRow& row : caseload->rows()) {
      if (row.overdue() > 0) counted[{row.region(), row.worker()}] = row.overdue();
    }
    EXPECT_EQ(counted, overdue_per_row);
    Result<v1::OverdueResponse> lima =
        query_.Overdue(root_, {.region = "Lima", .as_of = date}, kNow);
    ASSERT_TRUE(lima.has_value()) << lima.error().ToString();
    uint32_t lima_expected = 0;
    for (const auto& [key, n] : overdue_per_row) lima_expected += key.first == "Lima" ? n : 0;
    EXPECT_EQ(lima->total(), lima_expected);
  }
  // The deleted visit stays as a tombstone.
  EXPECT_EQ(*store_->CountRecords(v1::RECORD_TYPE_HOME_VISIT), visits_.size() + 1);
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
  EXPECT_EQ(query_.Overdue(sofia_, {.region = "Lima"}, kNow).error().code,
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

  // The overdue list by pages: the CSV says where the next page starts and how many in all.
  r.accept.clear();
  r.target = "/v1/overdue?as_of=2026-08-01&limit=2&format=csv";
  HttpResponse overdue = api.Handle(r, kNow);
  ASSERT_EQ(overdue.status, 200) << overdue.body;
  EXPECT_EQ(overdue.body.rfind("\xEF\xBB\xBF" "child_id,given_name,family_name,region,assigned_worker,"
                               "programme,last_visit_at,next_visit_due,days_overdue,reason\r\n", 0),
            0u);
  std::map<std::string, std::string> headers(overdue.headers.begin(), overdue.headers.end());
  Result<v1::OverdueResponse> all =
      query_.Overdue(sofia_, {.as_of = "2026-08-01", .limit = 5000}, kNow);
  ASSERT_TRUE(all.has_value());
  ASSERT_GT(all->cases_size(), 2);  // as of August, most open cases are overdue
  EXPECT_EQ(headers["X-Total-Count"], std::to_string(all->cases_size()));
  EXPECT_FALSE(headers["X-Next-Page"].empty());
  r.target = "/v1/overdue?as_of=2026-08-01&limit=2&after=" + headers["X-Next-Page"];
  HttpResponse next = api.Handle(r, kNow);
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_NE(next.body.find("\"childId\":\"" + all->cases(2).child_id() + "\""), std::string::npos)
      << next.body;
  EXPECT_NE(next.body.find("\"total\":" + std::to_string(all->cases_size())), std::string::npos);

  r.target = "/v1/visits?region=Lima";
  HttpResponse forbidden = api.Handle(r, kNow);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_NE(forbidden.body.find("\"field\":\"region\""), std::string::npos) << forbidden.body;
  r.authorization = "Bearer token-" + workers_.at("ana").device_id;
  r.target = "/v1/caseload";
  EXPECT_EQ(api.Handle(r, kNow).status, 403);
}

// Review of 75b21d7: latest_visit, kept by triggers, always equals the latest live visit of each
// child computed from scratch, over random saves (new visits, edits of visited_at and due, deletes,
// restores, moves to another child, ties on time), made straight through the store. A third of
// the saves change only the due date of a visit saved before: SaveRecord's narrow UPDATE, which
// runs only the trigger that keeps the copied columns (schema step 3).
TEST(LatestVisitTriggers, AgreeWithAFullScanOverRandomSaves) {
  TempDir dir;
  std::unique_ptr<CentralStore> store = NewCentralStore(dir);
  const uint64_t seed = 0x75b21d7;
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  Result<sql::Database> db = sql::Database::Open(dir / "data/central.db");
  ASSERT_TRUE(db.has_value());
  std::map<std::string, v1::RecordState> saved;  // by visit id
  for (int step = 0; step < 3000; ++step) {
    const std::string id = Id(100 + pick(12));
    v1::RecordState& state = saved[id];
    v1::HomeVisit* v = state.mutable_record()->mutable_home_visit();
    if (v->id().empty() || pick(3) != 0) {
      v->set_id(id);
      v->set_child_id(Id(1 + pick(3)));
      v->set_worker("ana");
      v->set_visited_at("2026-05-2" + std::to_string(pick(4)) + "T10:00:00Z");  // ties are common
      v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
      v->set_deleted(pick(4) == 0);
    }
    v->set_next_visit_due("2026-06-0" + std::to_string(1 + pick(9)));
    auto txn = store->Begin();
    ASSERT_TRUE(txn.has_value());
    ASSERT_TRUE((*txn)->SaveRecord(state, "Cusco").has_value());
    ASSERT_TRUE((*txn)->Commit().ok());

    auto rows = [&](const char* sql) {
      std::map<std::string, std::string> out;
      Result<sql::Statement> s = db->Prepare(sql);
      EXPECT_TRUE(s.has_value());
      for (;;) {
        Result<bool> row = s->Step();
        EXPECT_TRUE(row.has_value());
        if (!row.has_value() || !*row) break;
        out[s->ColumnText(0)] = s->ColumnText(1);
      }
      return out;
    };
    const auto kept = rows(
        "SELECT child_id, visit_id || ' ' || at_ms || ' ' || COALESCE(due, '') FROM latest_visit");
    const auto scan = rows(
        "SELECT child_id, id || ' ' || at_ms || ' ' || COALESCE(due, '') FROM records r "
        "WHERE type = 4 AND deleted = 0 AND child_id IS NOT NULL AND at_ms IS NOT NULL AND "
        "NOT EXISTS (SELECT 1 FROM records o WHERE o.type = 4 AND o.deleted = 0 AND "
        "o.child_id = r.child_id AND o.at_ms IS NOT NULL AND (o.at_ms, o.id) > (r.at_ms, r.id))");
    ASSERT_EQ(kept, scan) << "seed " << seed << ", step " << step;
  }
}

// A store of schema 2 (latest_visit_on_update for every update, no latest_visit_copies) gets step
// 3 when opened, and a due date edited after it reaches latest_visit.
TEST(LatestVisitTriggers, AStoreOfSchemaTwoGetsTheTriggerOfCopiedColumns) {
  TempDir dir;
  v1::RecordState state;
  v1::HomeVisit* v = state.mutable_record()->mutable_home_visit();
  v->set_id(Id(100));
  v->set_child_id(Id(1));
  v->set_worker("ana");
  v->set_visited_at("2026-05-20T10:00:00Z");
  v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
  v->set_next_visit_due("2026-06-01");
  auto save = [&](CentralStore& store) {
    auto txn = store.Begin();
    ASSERT_TRUE(txn.has_value());
    ASSERT_TRUE((*txn)->SaveRecord(state, "Cusco").has_value());
    ASSERT_TRUE((*txn)->Commit().ok());
  };
  save(*NewCentralStore(dir));
  {
    Result<sql::Database> db = sql::Database::Open(dir / "data/central.db");
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->Exec("DROP TRIGGER latest_visit_copies; PRAGMA user_version = 2").ok());
  }
  std::unique_ptr<CentralStore> store = NewCentralStore(dir);
  v->set_next_visit_due("2026-06-15");  // only the due date: the narrow UPDATE
  save(*store);
  Result<sql::Database> db = sql::Database::Open(dir / "data/central.db");
  ASSERT_TRUE(db.has_value());
  EXPECT_EQ(db->UserVersion().value_or(0), 3);
  Result<sql::Statement> s = db->Prepare("SELECT due FROM latest_visit WHERE child_id = ?1");
  ASSERT_TRUE(s.has_value());
  s->BindText(1, Id(1));
  ASSERT_EQ(s->Step().value_or(false), true);
  EXPECT_EQ(s->ColumnText(0), "2026-06-15");
}

// SaveRecord updates only the columns an edit can have changed when no indexed one did (a narrow
// UPDATE): over random saves of visits and children, some changing only notes, due dates and kinds,
// others their time, child, worker, deletion, status or region, every row's columns stay what its
// state says, and no stale value survives a narrow update.
TEST(SaveRecord, ColumnsFollowTheStateThroughNarrowAndFullUpdates) {
  TempDir dir;
  std::unique_ptr<CentralStore> store = NewCentralStore(dir);
  std::mt19937_64 rng(0x5a7e);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  Result<sql::Database> db = sql::Database::Open(dir / "data/central.db");
  ASSERT_TRUE(db.has_value());
  const char* const kRegions[] = {"Cusco", "Lima"};
  const char* const kWorkers[] = {"ana", "beto"};
  std::map<std::string, v1::RecordState> last;  // by id
  std::map<std::string, std::string> regions;    // by id: the region it was last saved in
  for (int step = 0; step < 2000; ++step) {
    const bool child = pick(3) == 0;
    const std::string id = child ? Id(1 + pick(4)) : Id(100 + pick(10));
    v1::RecordState state = last.count(id) ? last[id] : v1::RecordState();
    const bool narrow = last.count(id) && pick(2) == 0;  // only the columns no index holds
    if (child) {
      v1::Child* c = state.mutable_record()->mutable_child();
      c->set_id(id);
      c->set_given_name("Lucía");
      if (!narrow) {
        c->set_region(kRegions[pick(2)]);
        c->set_assigned_worker(kWorkers[pick(2)]);
        c->set_status(static_cast<v1::CaseStatus>(1 + pick(3)));
        c->set_placement(static_cast<v1::Placement>(1 + pick(3)));
        c->set_programme(pick(2) ? "acogimiento" : "");
        c->set_deleted(pick(5) == 0);
      }
      c->set_family_id(pick(2) ? Id(900 + pick(3)) : "");
    } else {
      v1::HomeVisit* v = state.mutable_record()->mutable_home_visit();
      v->set_id(id);
      if (!narrow) {
        v->set_child_id(Id(1 + pick(4)));
        v->set_worker(kWorkers[pick(2)]);
        v->set_visited_at("2026-05-2" + std::to_string(pick(4)) + "T10:00:00Z");
        v->set_deleted(pick(5) == 0);
      }
      v->set_kind(static_cast<v1::VisitKind>(1 + pick(3)));
      v->set_next_visit_due(pick(3) ? "2026-06-0" + std::to_string(1 + pick(9)) : "");
      v->set_family_id(pick(2) ? Id(900 + pick(3)) : "");
    }
    const std::string region = child || !narrow ? kRegions[pick(2)] : "";
    auto txn = store->Begin();
    ASSERT_TRUE(txn.has_value());
    // A narrow edit of a visit keeps its region, as an edit that moves nothing does.
    std::string stored_region = region;
    if (!child && narrow) {
      Result<std::optional<StoredRecord>> before = (*txn)->LoadRecord(v1::RECORD_TYPE_HOME_VISIT, id);
      ASSERT_TRUE(before.has_value() && before->has_value());
      stored_region = (*before)->region;
    }
    ASSERT_TRUE((*txn)->SaveRecord(state, stored_region).has_value());
    ASSERT_TRUE((*txn)->Commit().ok());
    last[id] = state;
    regions[id] = stored_region;

    // Every row, as stored, against the columns its state gives.
    Result<sql::Statement> rows = db->Prepare(
        "SELECT state, region, deleted, child_id, family_id, worker, at_ms, at_text, due, kind, "
        "status, placement, from_placement, programme FROM records");
    ASSERT_TRUE(rows.has_value());
    for (;;) {
      Result<bool> row = rows->Step();
      ASSERT_TRUE(row.has_value());
      if (!*row) break;
      v1::RecordState saved;
      ASSERT_TRUE(saved.ParseFromString(rows->ColumnBlob(0)));
      const RecordRefs r = RefsOf(saved.record());
      auto text = [&](int column) { return rows->ColumnIsNull(column) ? "" : rows->ColumnText(column); };
      const std::string where = "step " + std::to_string(step) + ", record " + RecordId(saved.record());
      EXPECT_EQ(text(1), regions[RecordId(saved.record())]) << where;
      EXPECT_EQ(rows->ColumnInt(2), IsDeleted(saved.record()) ? 1 : 0) << where;
      EXPECT_EQ(text(3), r.child_id) << where;
      EXPECT_EQ(text(4), r.family_id) << where;
      EXPECT_EQ(text(5), r.worker) << where;
      EXPECT_EQ(rows->ColumnIsNull(6) ? std::optional<int64_t>() : rows->ColumnInt(6), r.at_ms) << where;
      EXPECT_EQ(text(7), r.at_text) << where;
      EXPECT_EQ(text(8), r.due) << where;
      EXPECT_EQ(rows->ColumnInt(9), r.visit_kind) << where;
      EXPECT_EQ(rows->ColumnInt(10), r.case_status) << where;
      EXPECT_EQ(rows->ColumnInt(11), r.placement) << where;
      EXPECT_EQ(rows->ColumnInt(12), r.from_placement) << where;
      EXPECT_EQ(text(13), r.programme) << where;
    }
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace vinculo::server
