#pragma once
// A deterministic simulation of Vínculo, full stack, in one process: the real device store
// (client::LocalStore on SQLite files), the real device protocol code (client::Login,
// client::Sync), the real server (SqliteCentralStore, SyncService behind server::Api) and the real
// merge — joined by a simulated network (sim_transport.h) and driven by a simulated clock.
//
// A schedule is made from one 64-bit seed: five to seven devices (field workers in two regions, an
// admin who moves children between regions, sometimes a supervisor, who may not write), each with
// a skewed clock, and a list of steps — offline edits (create, update, delete, restore, reassign),
// syncs through an unreliable network, crashes of a device (its store closed and reopened) or of
// the server (its store closed and reopened), clock changes, logins again (whose reply may be
// lost), phones wiped and re-enrolled under the same device id, late deliveries of held requests.
// Each step draws its choices from its own generator, so a schedule with steps removed still runs
// (that is how a failure is shrunk). At the end the network heals, every device syncs twice, and
// the checks run (see simulation.cc, "Checks").
//
// The simulation keeps its own account of the truth beside the system: which mutations the server
// applied or refused, in which order, and which of them each device had seen when it wrote — the
// merge cannot see that, so the checks can hold the system to it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/sim_transport.h"

namespace vinculo::sim {

// Counts over one or many schedules.
struct Totals {
  uint64_t schedules = 0;
  uint64_t devices = 0;
  uint64_t steps = 0;
  uint64_t writes = 0;         // local writes committed on devices
  uint64_t local_refused = 0;  // local writes the device store refused
  uint64_t reassignments = 0;  // children moved to the other region by the admin
  uint64_t deletes = 0;
  uint64_t restores = 0;
  uint64_t syncs = 0;         // client::Sync calls
  uint64_t syncs_failed = 0;  // ... that ended in an error (a fault)
  uint64_t pages = 0;         // sync replies applied
  uint64_t echoes = 0;         // own writes sent back as digests that matched the device's state
  uint64_t echoes_missed = 0;  // ... that did not (the device stopped the page and pulled again)
  uint64_t partials = 0;       // changes sent as only the fields changed since held_through
  uint64_t faults[kFaultKinds] = {};
  uint64_t held_delivered = 0;  // delayed requests delivered late
  // Cut points of a reply that still parsed (a cut between two fields: protobuf has no end
  // marker, so only the transport's framing can tell); another cut was chosen each time.
  uint64_t cuts_that_parse = 0;
  uint64_t device_crashes = 0;  // device stores closed and reopened (between or inside syncs)
  uint64_t server_crashes = 0;  // server stores closed and reopened (between or inside syncs)
  uint64_t conflicts = 0;       // conflicts in the server's log at the end
  uint64_t rejections = 0;      // mutations the server refused
  uint64_t clock_ahead = 0;     // ... of which CLOCK_AHEAD
  uint64_t forbidden = 0;       // ... of which FORBIDDEN
  uint64_t failures = 0;        // schedules that failed a check

  void Add(const Totals& other);
  uint64_t faults_total() const;
  // One line: "schedules=N devices=N writes=N syncs=N faults=N (drop_request=N ...) ...".
  std::string Line() const;
};

// Behaviours of the schedules that can be switched off while a known bug is open.
struct SimOptions {
  // A wiped and re-enrolled phone sometimes records work before it logs in again (the bug of
  // SimRegression.WipedPhoneWritingBeforeLoginKeepsItsWrites, fixed with per-store base seqs).
  bool write_before_login_after_wipe = true;
};

struct ScheduleResult {
  bool ok = true;
  std::string check;               // the failed check's name, e.g. "convergence"
  std::string failure;             // what failed, for a person
  std::vector<std::string> trace;  // the last events of the schedule
  size_t steps = 0;                // steps the schedule ran
  Totals totals;
};

// The seed of schedule `index` of a run seeded with `run_seed` (independent of sharding).
uint64_t ScheduleSeed(uint64_t run_seed, uint64_t index);

// Runs the schedule made from `seed`; with `only_steps`, just those steps of it (ascending
// indices). `trace_lines` bounds the event log kept for a failure.
ScheduleResult RunSchedule(uint64_t seed, const std::optional<std::vector<size_t>>& only_steps = {},
                           size_t trace_lines = 300, const SimOptions& options = {});

// Shrinks a failing schedule: greedy delta debugging over its steps, keeping a removal when the
// schedule still fails the same check. At most `max_runs` runs. Returns the steps kept.
std::vector<size_t> ShrinkSchedule(uint64_t seed, const ScheduleResult& failed, int max_runs,
                                   const SimOptions& options = {});

// Where schedules keep their files: /dev/shm when it exists (fsync is free there), else the
// system's temporary directory.
std::string TempRoot();

}  // namespace vinculo::sim
