#pragma once
// Supervisors' questions of the central store (docs/protocol.md "Supervisor queries"): visits,
// a child's history, caseload per worker, overdue cases, outcomes, conflicts to review, the audit
// log. Plain functions over the store returning messages of query.proto; the HTTP layer (api.cc)
// formats them as JSON, CSV or protobuf.
//
// Authorization, here and nowhere else: supervisors see their own region, admins every region (and
// may filter by one); field workers and regional offices may not query (PermissionDenied). A
// record outside the caller's region is NotFound, so its existence does not leak. Every read of a
// child's record is audited.

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "server/central_store.h"
#include "server/sync_service.h"
#include "vinculo/v1/query.pb.h"

namespace vinculo::server {

struct VisitsParams {
  std::string region;        // admin: a region, or empty for all; supervisor: empty or their own
  std::string worker;
  std::string child_id;
  std::string from;          // YYYY-MM-DD, inclusive
  std::string to;            // YYYY-MM-DD, inclusive
  std::string kind;          // a VisitKind name: "follow-up", "VISIT_KIND_FOLLOW_UP"
  std::string after;         // the next_page of the previous reply
  uint32_t limit = 500;      // at most 5,000
};

struct OverdueParams {
  std::string region;
  std::string as_of;         // YYYY-MM-DD; empty: today (UTC)
  uint32_t days = 30;        // no visit for more than this many days is overdue; 1 to 3,650
  std::string after;         // the next_page of the previous reply (with the same as_of and days)
  uint32_t limit = 500;      // at most 5,000
};

struct OutcomesParams {
  std::string region;
  std::string from;          // YYYY-MM-DD
  std::string to;            // YYYY-MM-DD
  std::string by = "month";  // month, programme or region
};

class QueryService {
 public:
  // `store` must outlive the service.
  explicit QueryService(CentralStore& store) : store_(store) {}

  Result<v1::VisitsResponse> Visits(const Principal& who, const VisitsParams& params);
  // Audited as a read by `who` at `now_ms`.
  Result<v1::ChildHistory> ChildRecord(const Principal& who, const std::string& child_id,
                                       int64_t now_ms);
  Result<v1::CaseloadResponse> Caseload(const Principal& who, const std::string& region,
                                        const std::string& from, const std::string& to,
                                        int64_t now_ms);
  // A page of the overdue cases, in a stable order (never visited first, then most days overdue,
  // then child id), with the total of all pages.
  Result<v1::OverdueResponse> Overdue(const Principal& who, const OverdueParams& params,
                                      int64_t now_ms);
  Result<v1::OutcomesResponse> Outcomes(const Principal& who, const OutcomesParams& params);
  // status: "open" (default), "resolved" or "all".
  Result<v1::ConflictsResponse> Conflicts(const Principal& who, const std::string& status);
  // Keeps the winner, or reinstates the losing value as a new write (stamped by the server's
  // clock, attributed to `who`'s device) that syncs to devices like any other change.
  // NotFound outside the caller's region; FailedPrecondition when already resolved.
  Result<v1::ConflictEntry> Resolve(const Principal& who, int64_t conflict_id,
                                    const std::string& keep, int64_t now_ms);
  // Admin only.
  Result<v1::AuditResponse> Audit(const Principal& who, const std::string& after, uint32_t limit);

 private:
  // The scope `who` may query, narrowed to `region` when given. PermissionDenied for roles that may
  // not query, or a supervisor naming another region.
  Result<Scope> QueryScope(const Principal& who, const std::string& region) const;

  CentralStore& store_;
};

}  // namespace vinculo::server
