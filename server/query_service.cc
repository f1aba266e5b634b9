#include "server/query_service.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "common/civil_time.h"
#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"

namespace vinculo::server {
namespace {

constexpr int64_t kDayMs = 86'400'000;

// Days since 1970 of a required date parameter, InvalidArgument naming it otherwise.
Result<int64_t> DateParam(const std::string& value, const char* name) {
  std::optional<int64_t> days = ParseDate(value);
  if (!days) return Error::InvalidArgument("must be a date YYYY-MM-DD", name);
  return *days;
}

// The date parameter `value`, or `fallback` when empty.
Result<int64_t> DateOr(const std::string& value, const char* name, int64_t fallback) {
  return value.empty() ? Result<int64_t>(fallback) : DateParam(value, name);
}

// "follow-up", "follow_up" or "VISIT_KIND_FOLLOW_UP" → the enum value.
std::optional<int> ParseVisitKind(const std::string& name) {
  std::string upper;
  for (char c : name) upper.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  if (upper.rfind("VISIT_KIND_", 0) != 0) upper = "VISIT_KIND_" + upper;
  v1::VisitKind kind;
  if (!v1::VisitKind_Parse(upper, &kind) || kind == v1::VISIT_KIND_UNSPECIFIED) return std::nullopt;
  return kind;
}

bool IsResidential(int placement) { return placement == v1::PLACEMENT_RESIDENTIAL_INSTITUTION; }

// The Unix ms a UUIDv7 was made at (its first 48 bits), or 0 for another kind of id.
int64_t IdMillis(const std::string& id) {
  if (id.size() < 13) return 0;
  const std::string hex = id.substr(0, 8) + id.substr(9, 4);
  uint64_t ms = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), ms, 16);
  return ec == std::errc() && end == hex.data() + hex.size() ? static_cast<int64_t>(ms) : 0;
}

// Why an open case needs a visit as of `as_of` (days since 1970): "never_visited", "past_due" (its
// next visit was due before), "no_visit_for_days" (none agreed and none for more than `days`), or
// empty when it does not. `days_overdue` gets the days past due or since the visit. The one rule
// behind /v1/overdue and the caseload's overdue count.
std::string OverdueReason(const LatestVisit* latest, int64_t as_of, uint32_t days,
                          uint32_t* days_overdue) {
  *days_overdue = 0;
  if (latest == nullptr) return "never_visited";
  const int64_t visited_day =
      latest->at_ms >= 0 ? latest->at_ms / kDayMs : (latest->at_ms - kDayMs + 1) / kDayMs;
  const std::optional<int64_t> due = ParseDate(latest->due);
  if (due && *due < as_of) {
    *days_overdue = static_cast<uint32_t>(as_of - *due);
    return "past_due";
  }
  if (!due && as_of - visited_day > static_cast<int64_t>(days)) {
    *days_overdue = static_cast<uint32_t>(as_of - visited_day);
    return "no_visit_for_days";
  }
  return "";
}

constexpr uint32_t kDefaultOverdueDays = 30;

// Where an overdue case sorts: never visited first (they most need a visit), then most days
// overdue first, then by child id. Unique, so that pages neither skip nor repeat a case.
struct OverdueKey {
  bool never_visited = false;
  uint32_t days_overdue = 0;
  std::string child_id;

  bool operator<(const OverdueKey& o) const {
    if (never_visited != o.never_visited) return never_visited;
    if (days_overdue != o.days_overdue) return days_overdue > o.days_overdue;
    return child_id < o.child_id;
  }
};

// The page token of /v1/overdue: "never.ID" or "DAYS.ID". ON THE WIRE (clients pass it back).
std::string FormatOverdueKey(const OverdueKey& key) {
  return (key.never_visited ? std::string("never") : std::to_string(key.days_overdue)) + "." +
         key.child_id;
}

std::optional<OverdueKey> ParseOverdueKey(const std::string& token) {
  const size_t dot = token.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == token.size()) return std::nullopt;
  OverdueKey key{.child_id = token.substr(dot + 1)};
  if (token.compare(0, dot, "never") == 0) {
    key.never_visited = true;
    return key;
  }
  auto [end, ec] = std::from_chars(token.data(), token.data() + dot, key.days_overdue);
  if (ec != std::errc() || end != token.data() + dot) return std::nullopt;
  return key;
}

}  // namespace

Result<Scope> QueryService::QueryScope(const Principal& who, const std::string& region) const {
  switch (who.role) {
    case Role::kAdmin:
      if (region.empty()) return Scope{.all_regions = true};
      return Scope{.all_regions = false, .region = region};
    case Role::kSupervisor:
      if (!region.empty() && region != who.region) {
        return Error{ErrorCode::kPermissionDenied,
                     "supervisors query their own region (" + who.region + ")", "region"};
      }
      return Scope{.all_regions = false, .region = who.region};
    case Role::kFieldWorker:
    case Role::kRegionalOffice:
      break;
  }
  return Error::PermissionDenied("only supervisors and administrators may query");
}

Result<v1::VisitsResponse> QueryService::Visits(const Principal& who, const VisitsParams& p) {
  Result<Scope> scope = QueryScope(who, p.region);
  if (!scope) return scope.error();
  VisitQuery q{.scope = *scope, .worker = p.worker, .child_id = p.child_id};
  if (!p.from.empty()) {
    Result<int64_t> from = DateParam(p.from, "from");
    if (!from) return from.error();
    q.from_ms = *from * kDayMs;
  }
  if (!p.to.empty()) {
    Result<int64_t> to = DateParam(p.to, "to");
    if (!to) return to.error();
    q.to_ms = (*to + 1) * kDayMs;  // inclusive of the whole day (UTC)
  }
  if (!p.kind.empty()) {
    std::optional<int> kind = ParseVisitKind(p.kind);
    if (!kind) return Error::InvalidArgument("is not a kind of visit", "kind");
    q.kind = *kind;
  }
  if (!p.after.empty()) {
    const size_t dot = p.after.find('.');
    int64_t at = 0;
    auto [end, ec] = std::from_chars(p.after.data(), p.after.data() + dot, at);
    if (dot == std::string::npos || ec != std::errc() || end != p.after.data() + dot) {
      return Error::InvalidArgument("is not a page token from a previous reply", "after");
    }
    q.after = std::make_pair(at, p.after.substr(dot + 1));
  }
  if (p.limit == 0 || p.limit > 5000) {
    return Error::InvalidArgument("must be from 1 to 5000", "limit");
  }
  q.limit = p.limit + 1;
  Result<std::vector<StoredRecord>> rows = store_.QueryVisits(q);
  if (!rows) return rows.error();
  v1::VisitsResponse out;
  const bool more = rows->size() > p.limit;
  if (more) rows->pop_back();
  std::map<std::string, std::string> names;  // child id → name, one read a child per page
  for (StoredRecord& r : *rows) {
    const v1::HomeVisit& visit = r.state.record().home_visit();
    auto it = names.find(visit.child_id());
    if (it == names.end()) {
      Result<std::optional<StoredRecord>> child =
          store_.ReadRecord(v1::RECORD_TYPE_CHILD, visit.child_id());
      if (!child) return child.error();
      std::string name;
      if (child->has_value()) {
        const v1::Child& c = (*child)->state.record().child();
        name = c.family_name().empty() ? c.given_name() : c.given_name() + " " + c.family_name();
      }
      it = names.emplace(visit.child_id(), std::move(name)).first;
    }
    out.add_child_names(it->second);
    *out.add_visits() = visit;
    out.add_regions(r.region);
  }
  if (more && !rows->empty()) {
    const v1::HomeVisit& last = rows->back().state.record().home_visit();
    out.set_next_page(std::to_string(RefsOf(rows->back().state.record()).at_ms.value_or(0)) + "." +
                      last.id());
  }
  return out;
}

Result<v1::ChildHistory> QueryService::ChildRecord(const Principal& who,
                                                   const std::string& child_id, int64_t now_ms) {
  Result<Scope> scope = QueryScope(who, "");
  if (!scope) return scope.error();
  Result<std::optional<StoredRecord>> child = store_.ReadRecord(v1::RECORD_TYPE_CHILD, child_id);
  if (!child) return child.error();
  if (!child->has_value() || (!scope->all_regions && (*child)->region != scope->region)) {
    return Error::NotFound("no child " + child_id);
  }
  VINCULO_RETURN_IF_ERROR(store_.AddAudit({.at_ms = now_ms,
                                           .username = who.username,
                                           .device_id = who.device_id,
                                           .remote = who.remote,
                                           .action = "read",
                                           .child_id = child_id,
                                           .record_type = v1::RECORD_TYPE_CHILD,
                                           .record_id = child_id}));
  v1::ChildHistory out;
  *out.mutable_child() = (*child)->state.record().child();
  Result<std::vector<StoredRecord>> related = store_.ReadChildRecords(child_id);
  if (!related) return related.error();
  for (const StoredRecord& r : *related) {
    const v1::Record& record = r.state.record();
    if (IsDeleted(record)) continue;
    switch (record.kind_case()) {
      case v1::Record::kContact: *out.add_contacts() = record.contact(); break;
      case v1::Record::kHomeVisit: *out.add_visits() = record.home_visit(); break;
      case v1::Record::kPlacementChange: *out.add_placements() = record.placement_change(); break;
      default: break;
    }
  }
  if (!out.child().family_id().empty()) {
    Result<std::optional<StoredRecord>> family =
        store_.ReadRecord(v1::RECORD_TYPE_FAMILY, out.child().family_id());
    if (!family) return family.error();
    if (family->has_value() && !IsDeleted((*family)->state.record())) {
      *out.mutable_family() = (*family)->state.record().family();
    }
  }
  return out;
}

Result<v1::CaseloadResponse> QueryService::Caseload(const Principal& who, const std::string& region,
                                                    const std::string& from, const std::string& to,
                                                    int64_t now_ms) {
  Result<Scope> scope = QueryScope(who, region);
  if (!scope) return scope.error();
  // Default period: the current month up to today.
  const std::string today = UtcDate(now_ms);
  Result<int64_t> to_days = DateOr(to, "to", *ParseDate(today));
  if (!to_days) return to_days.error();
  Result<int64_t> from_days = DateOr(from, "from", *ParseDate(today.substr(0, 8) + "01"));
  if (!from_days) return from_days.error();
  if (*from_days > *to_days) return Error::InvalidArgument("must not be after to", "from");

  // Each open case with its latest visit, from the store's columns: no record is decoded.
  Result<std::vector<OpenCase>> cases = store_.ReadOpenCases(*scope);
  if (!cases) return cases.error();

  std::map<std::pair<std::string, std::string>, v1::CaseloadRow> rows;  // (region, worker)
  auto row = [&](const std::string& r, const std::string& worker) -> v1::CaseloadRow& {
    v1::CaseloadRow& out = rows[{r, worker}];
    out.set_region(r);
    out.set_worker(worker);
    return out;
  };
  std::map<std::string, std::string> worker_region;
  for (const OpenCase& open : *cases) {
    const CaseSummary& c = open.summary;
    v1::CaseloadRow& r = row(c.region, c.worker);
    worker_region[c.worker] = c.region;
    r.set_open_cases(r.open_cases() + 1);
    uint32_t days_overdue = 0;
    if (!OverdueReason(open.latest ? &*open.latest : nullptr, *to_days, kDefaultOverdueDays,
                       &days_overdue)
             .empty()) {
      r.set_overdue(r.overdue() + 1);
    }
  }
  Result<std::vector<std::pair<std::string, uint32_t>>> counts =
      store_.VisitCountsByWorker(*scope, *from_days * kDayMs, (*to_days + 1) * kDayMs);
  if (!counts) return counts.error();
  for (const auto& [worker, n] : *counts) {
    // A visit's region is its child's; a worker's row is the region of their cases (or the
    // caller's region when they have none).
    auto it = worker_region.find(worker);
    const std::string r = it != worker_region.end() ? it->second
                          : scope->all_regions      ? std::string()
                                                    : scope->region;
    v1::CaseloadRow& out = row(r, worker);
    out.set_visits(out.visits() + n);
  }
  v1::CaseloadResponse out;
  out.set_from(FormatDate(*from_days));
  out.set_to(FormatDate(*to_days));
  for (auto& [key, r] : rows) *out.add_rows() = std::move(r);
  return out;
}

Result<v1::OverdueResponse> QueryService::Overdue(const Principal& who, const OverdueParams& p,
                                                  int64_t now_ms) {
  Result<Scope> scope = QueryScope(who, p.region);
  if (!scope) return scope.error();
  Result<int64_t> as_of_days = DateOr(p.as_of, "as_of", *ParseDate(UtcDate(now_ms)));
  if (!as_of_days) return as_of_days.error();
  if (p.days == 0 || p.days > 3650) return Error::InvalidArgument("must be from 1 to 3650", "days");
  if (p.limit == 0 || p.limit > 5000) {
    return Error::InvalidArgument("must be from 1 to 5000", "limit");
  }
  // A page token is the last row's sort key: "never.ID", or "DAYS.ID" with its days overdue.
  std::optional<OverdueKey> after;
  if (!p.after.empty()) {
    after = ParseOverdueKey(p.after);
    if (!after) return Error::InvalidArgument("is not a page token from a previous reply", "after");
  }

  // Every overdue case of the scope, from the store's columns (ReadOpenCases), for the order and
  // the total; then the records of one page's children only, for their names.
  Result<std::vector<OpenCase>> cases = store_.ReadOpenCases(*scope);
  if (!cases) return cases.error();
  struct Row {
    OverdueKey key;
    const CaseSummary* child;
    const LatestVisit* last;
    std::string reason;
  };
  std::vector<Row> rows;
  for (const OpenCase& open : *cases) {
    const CaseSummary& c = open.summary;
    const LatestVisit* last = open.latest ? &*open.latest : nullptr;
    uint32_t days_overdue = 0;
    std::string reason = OverdueReason(last, *as_of_days, p.days, &days_overdue);
    if (reason.empty()) continue;
    rows.push_back({.key = {.never_visited = last == nullptr,
                            .days_overdue = days_overdue,
                            .child_id = c.child_id},
                    .child = &c,
                    .last = last,
                    .reason = std::move(reason)});
  }
  v1::OverdueResponse out;
  out.set_as_of(FormatDate(*as_of_days));
  out.set_days(p.days);
  out.set_total(static_cast<uint32_t>(rows.size()));
  if (after) {  // this page starts after the token's case
    std::erase_if(rows, [&](const Row& r) { return !(*after < r.key); });
  }
  const size_t n = std::min<size_t>(p.limit, rows.size());
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end(),
                    [](const Row& a, const Row& b) { return a.key < b.key; });
  out.mutable_cases()->Reserve(static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) {
    const Row& r = rows[i];
    v1::OverdueCase* item = out.add_cases();
    item->set_child_id(r.child->child_id);
    item->set_region(r.child->region);
    item->set_assigned_worker(r.child->worker);
    item->set_programme(r.child->programme);
    item->set_reason(r.reason);
    item->set_days_overdue(r.key.days_overdue);
    if (r.last != nullptr) {
      item->set_last_visit_at(r.last->at_text);
      item->set_next_visit_due(r.last->due);
    }
    Result<std::optional<StoredRecord>> child =
        store_.ReadRecord(v1::RECORD_TYPE_CHILD, r.child->child_id);
    if (!child) return child.error();
    if (child->has_value()) {
      const v1::Child& c = (*child)->state.record().child();
      item->set_given_name(c.given_name());
      item->set_family_name(c.family_name());
    }
  }
  if (n < rows.size()) out.set_next_page(FormatOverdueKey(rows[n - 1].key));
  return out;
}

Result<v1::OutcomesResponse> QueryService::Outcomes(const Principal& who,
                                                    const OutcomesParams& p) {
  Result<Scope> scope = QueryScope(who, p.region);
  if (!scope) return scope.error();
  Result<int64_t> from = DateParam(p.from, "from");
  if (!from) return from.error();
  Result<int64_t> to = DateParam(p.to, "to");
  if (!to) return to.error();
  if (*from > *to) return Error::InvalidArgument("must not be after to", "from");
  if (p.by != "month" && p.by != "programme" && p.by != "region") {
    return Error::InvalidArgument("must be month, programme or region", "by");
  }

  // From the store's columns: no record is decoded.
  Result<std::vector<CaseSummary>> cases = store_.ReadCases(*scope);
  if (!cases) return cases.error();
  Result<std::vector<PlacementMove>> moves = store_.ReadPlacementMoves(*scope);
  if (!moves) return moves.error();
  const std::vector<CaseSummary>& children = *cases;
  std::unordered_map<std::string, size_t> index_of;  // child id → index in `children`
  index_of.reserve(children.size());
  for (size_t i = 0; i < children.size(); ++i) index_of.emplace(children[i].child_id, i);
  // Each child's placement changes by date (changes of one day in the order the store gave them).
  std::vector<std::vector<const PlacementMove*>> history(children.size());
  for (const PlacementMove& m : *moves) {
    auto it = index_of.find(m.child_id);
    if (it != index_of.end()) history[it->second].push_back(&m);
  }
  for (auto& events : history) {
    std::stable_sort(events.begin(), events.end(),
                     [](const PlacementMove* a, const PlacementMove* b) { return a->day < b->day; });
  }

  auto key_of = [&](size_t child, int64_t day) -> std::string {
    if (p.by == "month") return FormatDate(day).substr(0, 7);
    if (p.by == "programme") return children[child].programme;
    return children[child].region;
  };
  // Rows: every month of the period, or every programme/region that has children.
  std::map<std::string, v1::OutcomeRow> rows;
  std::map<std::string, std::set<size_t>> reintegrated, family_care, entered, left;
  if (p.by == "month") {
    for (int64_t d = *from; d <= *to; d += 28) rows[FormatDate(d).substr(0, 7)];
    rows[FormatDate(*to).substr(0, 7)];
  } else {
    for (size_t i = 0; i < children.size(); ++i) rows[key_of(i, *to)];
  }
  for (size_t child = 0; child < children.size(); ++child) {
    for (const PlacementMove* pc : history[child]) {
      if (pc->day < *from || pc->day > *to) continue;
      const std::string key = key_of(child, pc->day);
      const int to_p = pc->to, from_p = pc->from;
      if (to_p == v1::PLACEMENT_FAMILY_OF_ORIGIN || to_p == v1::PLACEMENT_KINSHIP_CARE) {
        reintegrated[key].insert(child);
      }
      if (to_p == v1::PLACEMENT_FOSTER_FAMILY || to_p == v1::PLACEMENT_KINSHIP_CARE) {
        family_care[key].insert(child);
      }
      if (IsResidential(to_p) && !IsResidential(from_p)) entered[key].insert(child);
      if (IsResidential(from_p) && !IsResidential(to_p)) left[key].insert(child);
    }
  }
  // The institutional population at a day's end: each child's placement then. A child with
  // placement changes is placed by them — the last on or before the day, else the first one's
  // origin — however late the case was typed in. A child without any counts from the day its
  // record was made (a UUIDv7 id carries that time) with its current placement. By month, each
  // row counts at the month's last day (or the period's end when the month is cut short); by
  // programme or region, each child counts in its own row at the period's end. One pass over the
  // children, walking each one's changes once.
  std::vector<std::pair<const std::string*, v1::OutcomeRow*>> row_list;  // in key order
  std::unordered_map<std::string, size_t> row_index;
  std::vector<int64_t> row_day;
  for (auto& [key, row] : rows) {
    row_index.emplace(key, row_list.size());
    row_list.emplace_back(&key, &row);
    if (p.by == "month") {
      const int64_t month_start = *ParseDate(key + "-01");
      const std::string next = FormatDate(month_start + 31).substr(0, 7) + "-01";
      row_day.push_back(std::min(*ParseDate(next) - 1, *to));
    } else {
      row_day.push_back(*to);
    }
  }
  std::vector<uint32_t> population(row_list.size(), 0);
  for (size_t child = 0; child < children.size(); ++child) {
    const std::vector<const PlacementMove*>& events = history[child];
    const int64_t made_ms = IdMillis(children[child].child_id);
    size_t first = 0, last = row_list.size();
    if (p.by != "month") {
      first = row_index.at(key_of(child, *to));
      last = first + 1;
    }
    int placement = events.empty() ? children[child].placement : events.front()->from;
    size_t next = 0;
    for (size_t r = first; r < last; ++r) {  // row days ascend
      while (next < events.size() && events[next]->day <= row_day[r]) {
        placement = events[next++]->to;
      }
      // Not registered yet, and no history says where the child was.
      if (events.empty() && made_ms >= (row_day[r] + 1) * kDayMs) continue;
      if (IsResidential(placement)) ++population[r];
    }
  }
  for (size_t r = 0; r < row_list.size(); ++r) {
    const std::string& key = *row_list[r].first;
    v1::OutcomeRow& row = *row_list[r].second;
    row.set_key(key);
    row.set_reintegrated(static_cast<uint32_t>(reintegrated[key].size()));
    row.set_placed_in_family_care(static_cast<uint32_t>(family_care[key].size()));
    row.set_entered_institutions(static_cast<uint32_t>(entered[key].size()));
    row.set_left_institutions(static_cast<uint32_t>(left[key].size()));
    row.set_institution_population(population[r]);
  }
  v1::OutcomesResponse out;
  out.set_from(FormatDate(*from));
  out.set_to(FormatDate(*to));
  out.set_by(p.by);
  for (auto& [key, row] : rows) *out.add_rows() = std::move(row);
  return out;
}

namespace {

v1::ConflictEntry EntryOf(const StoredConflict& c) {
  v1::ConflictEntry e;
  e.set_id(c.id);
  e.set_type(c.type);
  e.set_region(c.region);
  *e.mutable_conflict() = c.conflict;
  e.set_detected_at(UtcTimestamp(c.detected_ms));
  e.set_device_id(c.device_id);
  if (c.resolved_ms != 0) e.set_resolved_at(UtcTimestamp(c.resolved_ms));
  e.set_resolved_by(c.resolved_by);
  e.set_resolution(c.resolution);
  return e;
}

bool InScope(const Scope& scope, const std::string& region) {
  return scope.all_regions || scope.region == region;
}

}  // namespace

Result<v1::ConflictsResponse> QueryService::Conflicts(const Principal& who,
                                                      const std::string& status) {
  Result<Scope> scope = QueryScope(who, "");
  if (!scope) return scope.error();
  if (status != "open" && status != "resolved" && status != "all" && !status.empty()) {
    return Error::InvalidArgument("must be open, resolved or all", "status");
  }
  const bool open_only = status.empty() || status == "open";
  Result<std::vector<StoredConflict>> stored = store_.ListConflicts(*scope, open_only);
  if (!stored) return stored.error();
  v1::ConflictsResponse out;
  for (const StoredConflict& c : *stored) {
    if (status == "resolved" && c.resolved_ms == 0) continue;
    v1::ConflictEntry* e = out.add_conflicts();
    *e = EntryOf(c);
    // The child it is about, so that a reviewer can open the case.
    if (c.type == v1::RECORD_TYPE_CHILD) {
      e->set_child_id(c.conflict.record_id());
    } else {
      Result<std::optional<StoredRecord>> record = store_.ReadRecord(c.type, c.conflict.record_id());
      if (!record) return record.error();
      if (record->has_value()) e->set_child_id(RefsOf((*record)->state.record()).child_id);
    }
  }
  return out;
}

Result<v1::ConflictEntry> QueryService::Resolve(const Principal& who, int64_t conflict_id,
                                                const std::string& keep, int64_t now_ms) {
  Result<Scope> scope = QueryScope(who, "");
  if (!scope) return scope.error();
  if (keep != "winner" && keep != "loser") {
    return Error::InvalidArgument("must be winner or loser", "keep");
  }
  Result<std::optional<StoredConflict>> found = store_.FindConflict(conflict_id);
  if (!found) return found.error();
  if (!found->has_value() || !InScope(*scope, (*found)->region)) {
    return Error::NotFound("no conflict " + std::to_string(conflict_id));
  }
  StoredConflict c = std::move(**found);
  if (c.resolved_ms != 0) {
    return Error::FailedPrecondition("conflict " + std::to_string(conflict_id) +
                                     " was already resolved by " + c.resolved_by);
  }
  Result<std::unique_ptr<StoreTransaction>> began = store_.Begin();
  if (!began) return began.error();
  StoreTransaction& txn = **began;
  if (keep == "loser") {
    // Reinstating is a write like any other, stamped by the server's clock and attributed to the
    // supervisor's device, so every device gets it by sync.
    Result<std::optional<StoredRecord>> stored = txn.LoadRecord(c.type, c.conflict.record_id());
    if (!stored) return stored.error();
    if (!stored->has_value()) return Error::NotFound("the record of this conflict is gone");
    Result<HlcValue> clock_value = txn.LoadClock();
    if (!clock_value) return clock_value.error();
    HybridClock clock(*clock_value);
    v1::RecordState state = (*stored)->state;
    auto write = [&](const v1::Record& values, uint32_t field) -> Status {
      const uint32_t fields[] = {field};
      const v1::Mutation m =
          MakeMutation(state, values, fields, clock.Tick(static_cast<uint64_t>(now_ms)), 0);
      Result<ApplyOutcome> applied = ApplyMutation(&state, m, who.device_id);
      if (!applied) return applied.error();
      return Status::Ok();
    };
    const bool about_delete = c.conflict.kind() == v1::CONFLICT_KIND_EDIT_OF_DELETED ||
                              c.conflict.kind() == v1::CONFLICT_KIND_DELETE_OF_EDITED;
    if (about_delete && IsDeleted(state.record())) {
      v1::Record restore;
      google::protobuf::Message* m = MutableRecordMessage(&restore, c.type);
      m->GetReflection()->SetString(m, m->GetDescriptor()->FindFieldByNumber(kIdField),
                                    c.conflict.record_id());
      VINCULO_RETURN_IF_ERROR(write(restore, kDeletedField));
    }
    VINCULO_RETURN_IF_ERROR(write(c.conflict.losing(), c.conflict.field()));
    Result<uint64_t> seq = txn.SaveRecord(state, (*stored)->region, &**stored);
    if (!seq) return seq.error();
    VINCULO_RETURN_IF_ERROR(txn.SaveClock(clock.last()));
    const RecordRefs refs = RefsOf(state.record());
    VINCULO_RETURN_IF_ERROR(txn.AddAudit(
        {.at_ms = now_ms,
         .username = who.username,
         .device_id = who.device_id,
         .remote = who.remote,
         .action = "write",
         .child_id = c.type == v1::RECORD_TYPE_CHILD ? c.conflict.record_id() : refs.child_id,
         .record_type = c.type,
         .record_id = c.conflict.record_id()}));
  }
  const std::string resolution = keep == "winner" ? "keep_winner" : "reinstate_loser";
  VINCULO_RETURN_IF_ERROR(txn.MarkConflictResolved(conflict_id, who.username, resolution, now_ms));
  VINCULO_RETURN_IF_ERROR(txn.Commit());
  c.resolved_ms = now_ms;
  c.resolved_by = who.username;
  c.resolution = resolution;
  return EntryOf(c);
}

Result<v1::AuditResponse> QueryService::Audit(const Principal& who, const std::string& after,
                                              uint32_t limit) {
  if (who.role != Role::kAdmin) return Error::PermissionDenied("only administrators read the audit log");
  int64_t after_id = 0;
  if (!after.empty()) {
    auto [end, ec] = std::from_chars(after.data(), after.data() + after.size(), after_id);
    if (ec != std::errc() || end != after.data() + after.size()) {
      return Error::InvalidArgument("is not a page token from a previous reply", "after");
    }
  }
  if (limit == 0 || limit > 5000) return Error::InvalidArgument("must be from 1 to 5000", "limit");
  Result<std::vector<AuditRecord>> rows = store_.ListAudit(after_id, limit + 1);
  if (!rows) return rows.error();
  v1::AuditResponse out;
  const bool more = rows->size() > limit;
  if (more) rows->pop_back();
  for (const AuditRecord& a : *rows) {
    v1::AuditEntry* e = out.add_entries();
    e->set_at(UtcTimestamp(a.at_ms));
    e->set_username(a.username);
    e->set_device_id(a.device_id);
    e->set_remote(a.remote);
    e->set_action(a.action);
    e->set_child_id(a.child_id);
    e->set_record_type(a.record_type);
    e->set_record_id(a.record_id);
  }
  if (more && !rows->empty()) out.set_next_page(std::to_string(rows->back().id));
  return out;
}

}  // namespace vinculo::server
