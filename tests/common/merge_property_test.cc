// Property tests of the merge over thousands of random cases. Each test prints its seed; replay a
// failure with VINCULO_SEED=<seed> (tests/common/seed.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "common/hlc.h"
#include "common/merge.h"
#include "common/record.h"
#include "tests/common/seed.h"
#include "tests/common/states.h"

namespace vinculo {
namespace {

constexpr char kId[] = "01890a5d-ac96-774b-bcce-b302099a8057";
const char* const kDevices[] = {"dev-a", "dev-b", "dev-c", "dev-d", "dev-e"};

// HomeVisit fields the generators write: strings, an enum, a repeated string, optional doubles.
constexpr uint32_t kObservations = 8, kKind = 6, kAttendees = 7, kLatitude = 12, kNotesLike = 10,
                   kDue = 11;
const uint32_t kEditable[] = {kKind, kAttendees, kObservations, kNotesLike, kDue, kLatitude};

// A HomeVisit record with random values in `fields` (small value ranges, so equal values happen).
v1::Record RandomValues(std::mt19937_64& rng, const std::vector<uint32_t>& fields) {
  v1::Record r;
  v1::HomeVisit* v = r.mutable_home_visit();
  v->set_id(kId);
  for (uint32_t f : fields) {
    switch (f) {
      case kKind: v->set_kind(static_cast<v1::VisitKind>(rng() % 6)); break;
      case kAttendees:
        for (uint64_t i = rng() % 3; i > 0; --i) v->add_attendees("p" + std::to_string(rng() % 3));
        break;
      case kObservations: v->set_observations("obs " + std::to_string(rng() % 4)); break;
      case kNotesLike: v->set_agreed_actions(rng() % 4 ? "acción " + std::to_string(rng() % 3) : "");
        break;
      case kDue: v->set_next_visit_due("2026-07-0" + std::to_string(1 + rng() % 3)); break;
      case kLatitude:
        if (rng() % 3) v->set_latitude(-12.0 - static_cast<double>(rng() % 3));
        break;
      case kDeletedField: v->set_deleted(rng() % 2 == 0); break;
    }
  }
  return r;
}

std::vector<uint32_t> RandomFields(std::mt19937_64& rng, bool allow_delete) {
  if (allow_delete && rng() % 6 == 0) return {static_cast<uint32_t>(kDeletedField)};
  std::vector<uint32_t> fields;
  for (uint32_t f : kEditable) {
    if (rng() % 3 == 0) fields.push_back(f);
  }
  if (fields.empty()) fields.push_back(kEditable[rng() % std::size(kEditable)]);
  std::sort(fields.begin(), fields.end());
  return fields;
}

// A pool of writes of one record by several devices, with distinct stamps; bases are random, since
// these properties concern the values, not conflict detection.
struct PooledWrite {
  v1::Mutation mutation;
  std::string device;
};

std::vector<PooledWrite> RandomPool(std::mt19937_64& rng, int size) {
  std::vector<PooledWrite> pool;
  std::set<std::pair<HlcValue, std::string>> used;
  while (static_cast<int>(pool.size()) < size) {
    std::string device = kDevices[rng() % 3];
    HlcValue hlc = MakeHlc(1000 + rng() % 20, static_cast<uint16_t>(rng() % 3));
    if (!used.insert({hlc, device}).second) continue;  // a stamp names one write only
    std::vector<uint32_t> fields = RandomFields(rng, true);
    v1::Mutation m = MakeMutation(v1::RecordState(), RandomValues(rng, fields), fields, hlc, 1);
    pool.push_back({std::move(m), std::move(device)});
  }
  return pool;
}

// A replica that saw a random subset of the pool, in a random order.
v1::RecordState RandomReplica(std::mt19937_64& rng, const std::vector<PooledWrite>& pool) {
  std::vector<const PooledWrite*> seen;
  for (const PooledWrite& w : pool) {
    if (rng() % 2) seen.push_back(&w);
  }
  std::shuffle(seen.begin(), seen.end(), rng);
  v1::RecordState state;
  for (const PooledWrite* w : seen) EXPECT_TRUE(ApplyMutation(&state, w->mutation, w->device));
  return state;
}

v1::RecordState Merged(v1::RecordState a, const v1::RecordState& b) {
  EXPECT_TRUE(MergeState(&a, b).has_value());
  return a;
}

TEST(MergeProperty, MergeStateIsCommutativeAssociativeIdempotent) {
  const uint64_t seed = PropertySeed();
  SCOPED_TRACE(SeedTrace(seed));
  std::mt19937_64 rng(seed);
  const int cases = PropertyCases();
  for (int c = 0; c < cases; ++c) {
    std::vector<PooledWrite> pool = RandomPool(rng, 2 + static_cast<int>(rng() % 10));
    v1::RecordState a = RandomReplica(rng, pool), b = RandomReplica(rng, pool),
                    d = RandomReplica(rng, pool);
    ASSERT_EQ(DeterministicBytes(Merged(a, b)), DeterministicBytes(Merged(b, a)))
        << "commutative, case " << c;
    ASSERT_EQ(DeterministicBytes(Merged(Merged(a, b), d)),
              DeterministicBytes(Merged(a, Merged(b, d))))
        << "associative, case " << c;
    ASSERT_EQ(DeterministicBytes(Merged(a, a)), DeterministicBytes(a)) << "idempotent, case " << c;
    ASSERT_EQ(DeterministicBytes(Merged(Merged(a, b), b)), DeterministicBytes(Merged(a, b)))
        << "idempotent, case " << c;
  }
}

TEST(MergeProperty, ReplicasThatSawTheSameWritesInAnyOrderAreByteIdentical) {
  const uint64_t seed = PropertySeed();
  SCOPED_TRACE(SeedTrace(seed));
  std::mt19937_64 rng(seed);
  const int cases = PropertyCases();
  for (int c = 0; c < cases; ++c) {
    std::vector<PooledWrite> pool = RandomPool(rng, 1 + static_cast<int>(rng() % 12));
    // Replica 1 applies mutations in one order; replica 2 in another, with some repeated.
    std::vector<const PooledWrite*> order1, order2;
    for (const PooledWrite& w : pool) order1.push_back(&w);
    order2 = order1;
    for (size_t i = rng() % 4; i > 0; --i) order2.push_back(order1[rng() % order1.size()]);
    std::shuffle(order1.begin(), order1.end(), rng);
    std::shuffle(order2.begin(), order2.end(), rng);
    v1::RecordState r1, r2, r3;
    for (const PooledWrite* w : order1) ASSERT_TRUE(ApplyMutation(&r1, w->mutation, w->device));
    for (const PooledWrite* w : order2) ASSERT_TRUE(ApplyMutation(&r2, w->mutation, w->device));
    // Replica 3 learns them through state merges of single-write replicas.
    for (const PooledWrite* w : order2) {
      v1::RecordState single;
      ASSERT_TRUE(ApplyMutation(&single, w->mutation, w->device));
      ASSERT_TRUE(MergeState(&r3, single));
    }
    ASSERT_EQ(DeterministicBytes(r1), DeterministicBytes(r2)) << "case " << c;
    ASSERT_EQ(DeterministicBytes(r1), DeterministicBytes(r3)) << "case " << c;
  }
}

// ---------------------------------------------------------------------------------------------
// The sync protocol in miniature: devices edit offline from their local state and sync through a
// server in random interleavings, with lost replies (so pushes are resent), replayed mutations,
// deletes and restores, and device clocks skewed by days. The test knows the truth that the merge
// cannot see — for every write, exactly which writes its author had seen — and checks the
// conflict log against it.

struct Write {
  int device;
  v1::Mutation mutation;
  v1::Stamp stamp;
  std::set<int> knew;  // indices of the writes the author had seen when writing
};

struct Device {
  HybridClock clock;
  int64_t skew_ms = 0;
  v1::RecordState state;
  std::set<int> seen;         // writes whose effect this device holds
  std::vector<int> outbox;    // write indices, in seq order
  size_t acked = 0;           // outbox entries the device knows the server applied
};

struct ConflictKey {
  uint32_t field;
  HlcValue hlc;
  std::string device;
  auto operator<=>(const ConflictKey&) const = default;
};

struct Simulation {
  std::mt19937_64 rng;
  bool with_deletes;
  std::vector<Write> writes;
  std::vector<Device> devices;
  v1::RecordState server;
  std::set<int> server_seen;
  size_t server_applied[std::size(kDevices)] = {};   // per device: outbox entries applied
  std::map<ConflictKey, v1::Conflict> log;
  std::vector<std::string> failures;
  // Truth kept beside the server: which write holds each field there now.
  std::map<uint32_t, int> holder;
  std::set<ConflictKey> expected_concurrent;

  Simulation(uint64_t seed, bool deletes) : rng(seed), with_deletes(deletes) {
    const size_t n = 2 + rng() % 4;
    devices.resize(n);
    for (Device& d : devices) {
      d.skew_ms = static_cast<int64_t>(rng() % 5) * 86'400'000 - 2 * 86'400'000;  // ±2 days
    }
  }

  int WriteIndexOf(const v1::Stamp& stamp) const {
    for (size_t i = 0; i < writes.size(); ++i) {
      if (StampEqual(writes[i].stamp, stamp)) return static_cast<int>(i);
    }
    return -1;
  }

  void Edit(int d, uint64_t now) {
    Device& dev = devices[d];
    std::vector<uint32_t> fields = RandomFields(rng, with_deletes);
    if (TypeOf(dev.state.record()) == v1::RECORD_TYPE_UNSPECIFIED) {
      fields.erase(std::remove(fields.begin(), fields.end(), kDeletedField), fields.end());
      if (fields.empty()) fields.push_back(kObservations);
    }
    const v1::Record values = RandomValues(rng, fields);
    const HlcValue hlc = dev.clock.Tick(static_cast<uint64_t>(static_cast<int64_t>(now) + dev.skew_ms));
    v1::Mutation m = MakeMutation(dev.state, values, fields, hlc, dev.outbox.size() + 1);
    Result<ApplyOutcome> local = ApplyMutation(&dev.state, m, kDevices[d]);
    ASSERT_TRUE(local.has_value()) << local.error().ToString();
    ASSERT_TRUE(local->conflicts.empty()) << "a device's own edit must never conflict locally";
    const int index = static_cast<int>(writes.size());
    writes.push_back({d, m, MakeStamp(hlc, kDevices[d]), dev.seen});
    dev.seen.insert(index);
    dev.outbox.push_back(index);
  }

  void ServerApply(int index) {
    const Write& w = writes[index];
    // The truth, computed before the merge sees the write: a value that is replaced or refused by
    // a write that did not know it, with a different value, is a concurrent loss.
    const bool deleted_now = server.record().home_visit().deleted();
    for (uint32_t f : w.mutation.fields()) {
      auto it = holder.find(f);
      if (it == holder.end() || it->second == index) continue;
      const Write& held = writes[it->second];
      if (StampEqual(held.stamp, w.stamp)) continue;
      const bool incoming_wins = StampLess(held.stamp, w.stamp);
      const Write& loser = incoming_wins ? held : w;
      const bool unaware = incoming_wins ? !w.knew.count(it->second) : true;
      if (!with_deletes && unaware && !deleted_now && !SameValue(held, w, f)) {
        expected_concurrent.insert({f, loser.stamp.hlc(), loser.stamp.device()});
      }
    }
    Result<ApplyOutcome> out = ApplyMutation(&server, w.mutation, kDevices[w.device]);
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    for (uint32_t f : w.mutation.fields()) {
      if (StampEqual(FieldStampOf(server, f), w.stamp)) holder[f] = index;
    }
    server_seen.insert(index);
    for (const v1::Conflict& c : out->conflicts) {
      ConflictKey key{c.field(), c.losing_stamp().hlc(), c.losing_stamp().device()};
      // The log is a set keyed by (field, losing stamp), as the server stores it. Without deletes
      // a loser meets its winner once, so a second report is a bug; with deletes the same value
      // can be hidden by a delete and then overwritten, and the one entry stands for both.
      if (!log.emplace(key, c).second && !with_deletes) {
        failures.push_back("conflict reported twice: field " + std::to_string(c.field()));
      }
    }
  }

  bool SameValue(const Write& a, const Write& b, uint32_t field) const {
    v1::RecordState sa, sb;
    v1::Mutation ma = a.mutation, mb = b.mutation;
    // Compare just `field`: project both writes onto it.
    auto project = [field](const v1::Mutation& m) {
      v1::Record r;
      auto* msg = MutableRecordMessage(&r, v1::RECORD_TYPE_HOME_VISIT);
      msg->CopyFrom(*RecordMessage(m.record()));
      const auto* fd = msg->GetDescriptor()->FindFieldByNumber(static_cast<int>(field));
      std::vector<const google::protobuf::FieldDescriptor*> all;
      msg->GetReflection()->ListFields(*msg, &all);
      for (const auto* f : all) {
        if (f != fd && f->number() != kIdField) msg->GetReflection()->ClearField(msg, f);
      }
      return DeterministicBytes(r);
    };
    return project(ma) == project(mb);
  }

  void Sync(int d, bool reliable = false) {
    Device& dev = devices[d];
    // Push: the device resends everything after what it knows was acknowledged. The server applies
    // each mutation at most once (what the seq rule guarantees), but the merge itself is also fed
    // a few replays to show they change nothing.
    for (size_t i = dev.acked; i < dev.outbox.size(); ++i) {
      if (i < server_applied[d]) {
        const std::string before = DeterministicBytes(server);
        Result<ApplyOutcome> again =
            ApplyMutation(&server, writes[dev.outbox[i]].mutation, kDevices[d]);
        ASSERT_TRUE(again.has_value());
        ASSERT_EQ(DeterministicBytes(server), before) << "a replayed mutation changed the server";
        continue;
      }
      ServerApply(dev.outbox[i]);
      server_applied[d] = i + 1;
    }
    if (!reliable && rng() % 4 == 0) return;  // the reply is lost: the device learns nothing, resends later
    dev.acked = dev.outbox.size();
    // Pull: the device folds in the server's state and clock.
    if (TypeOf(server.record()) != v1::RECORD_TYPE_UNSPECIFIED) {
      ASSERT_TRUE(MergeState(&dev.state, server).has_value());
      dev.clock.Advance(MaxStamp(server).hlc());
    }
    dev.seen.insert(server_seen.begin(), server_seen.end());
  }

  void Run(int steps) {
    uint64_t now = 1'780'000'000'000;
    for (int s = 0; s < steps; ++s) {
      now += rng() % 5000;
      const int d = static_cast<int>(rng() % devices.size());
      if (rng() % 3 == 0) {
        Sync(d);
      } else {
        Edit(d, now);
      }
      if (::testing::Test::HasFatalFailure()) return;
    }
    // Quiescence: the network heals; everyone pushes what is pending, then everyone pulls.
    for (int round = 0; round < 2; ++round) {
      for (size_t d = 0; d < devices.size(); ++d) {
        Sync(static_cast<int>(d), /*reliable=*/true);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }

  // Nothing silently lost: every value written is the current value, or was overwritten by a
  // write whose author had seen it, or equals a value that is accounted for, or is in the log.
  void CheckNothingLost() {
    const bool deleted = server.record().home_visit().deleted();
    const int delete_writer = deleted ? WriteIndexOf(FieldStampOf(server, kDeletedField)) : -1;
    for (size_t i = 0; i < writes.size(); ++i) {
      const Write& w = writes[i];
      for (uint32_t f : w.mutation.fields()) {
        if (f == static_cast<uint32_t>(kDeletedField)) continue;
        const bool logged = log.count({f, w.stamp.hlc(), w.stamp.device()}) > 0;
        if (logged) continue;
        const bool current = StampEqual(FieldStampOf(server, f), w.stamp);
        if (current) {
          // Under a tombstone, a value nobody chose to delete must be in the log.
          if (deleted && !writes[delete_writer].knew.count(static_cast<int>(i)) &&
              !w.knew.count(delete_writer)) {
            failures.push_back("value hidden by a delete that had not seen it, not logged");
          }
          continue;
        }
        bool superseded = false;
        for (size_t j = 0; j < writes.size() && !superseded; ++j) {
          const Write& x = writes[j];
          if (j == i) continue;
          const bool writes_f = std::binary_search(x.mutation.fields().begin(),
                                                   x.mutation.fields().end(), f);
          superseded = writes_f && (x.knew.count(static_cast<int>(i)) || SameValue(w, x, f));
        }
        if (!superseded) {
          failures.push_back("write " + std::to_string(i) + " field " + std::to_string(f) +
                             " vanished without a conflict entry");
        }
      }
    }
  }

  // Every logged conflict is real: loser and winner were written without knowledge of each other.
  void CheckLoggedConflictsAreConcurrent() {
    for (const auto& [key, c] : log) {
      const int loser = WriteIndexOf(c.losing_stamp());
      const int winner = WriteIndexOf(c.winning_stamp());
      if (loser < 0 || winner < 0) {
        failures.push_back("a conflict names a stamp no write has");
        continue;
      }
      if (writes[winner].knew.count(loser) || writes[loser].knew.count(winner)) {
        failures.push_back("a conflict between writes that had seen each other (field " +
                           std::to_string(key.field) + ")");
      }
    }
  }

  void CheckConverged() {
    for (size_t d = 0; d < devices.size(); ++d) {
      if (DeterministicBytes(devices[d].state) != DeterministicBytes(server)) {
        failures.push_back("device " + std::to_string(d) + " did not converge with the server");
      }
    }
  }

  // Without deletes the truth is exact: the log holds precisely the concurrent losses.
  void CheckExactlyTheConcurrentLosses() {
    std::set<ConflictKey> logged;
    for (const auto& [key, c] : log) logged.insert(key);
    if (logged != expected_concurrent) {
      failures.push_back("log has " + std::to_string(logged.size()) + " entries, truth " +
                         std::to_string(expected_concurrent.size()));
    }
  }
};

void RunSimulations(bool with_deletes) {
  const uint64_t seed = PropertySeed();
  SCOPED_TRACE(SeedTrace(seed));
  std::mt19937_64 seeds(seed);
  const int cases = PropertyCases();
  size_t total_conflicts = 0, total_writes = 0;
  for (int c = 0; c < cases; ++c) {
    const uint64_t case_seed = seeds();
    Simulation sim(case_seed, with_deletes);
    sim.Run(10 + static_cast<int>(case_seed % 40));
    ASSERT_FALSE(::testing::Test::HasFatalFailure()) << "case " << c << " seed " << case_seed;
    sim.CheckConverged();
    sim.CheckNothingLost();
    sim.CheckLoggedConflictsAreConcurrent();
    if (!with_deletes) sim.CheckExactlyTheConcurrentLosses();
    ASSERT_TRUE(sim.failures.empty())
        << "case " << c << " (case seed " << case_seed << "): " << sim.failures.front();
    total_conflicts += sim.log.size();
    total_writes += sim.writes.size();
  }
  std::cout << "[ property ] " << cases << " schedules, " << total_writes << " writes, "
            << total_conflicts << " conflicts logged" << std::endl;
  EXPECT_GT(total_conflicts, 0u) << "the generator should produce conflicts";
}

TEST(MergeProperty, EveryConcurrentLossIsLoggedExactlyOnce) { RunSimulations(false); }

TEST(MergeProperty, DeletesAndEditsLoseNothingSilentlyAndConverge) { RunSimulations(true); }

}  // namespace
}  // namespace vinculo
