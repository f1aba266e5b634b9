// store_writer <store path> <count> [seed [ready fd]]: the victim of
// tests/faults/store_crash_test.cc.
//
// Opens an existing device store and makes `count` local writes as fast as it can — new children,
// home visits of known children, updates and deletes of earlier records — printing nothing. The
// test SIGKILLs it at a random instant and then checks the store. Writes depend only on `seed` and
// on what the store already holds; where the kill lands depends on timing and cannot be replayed
// exactly. When `ready fd` is given, one byte is written to it (and it is closed) just before the
// first write, so that the test can aim its kills at the write loop rather than at process
// start-up.
//
// Exit status: 0 after `count` writes, 1 when a write fails (the error on stderr), 2 on bad usage.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "client/local_store.h"
#include "common/civil_time.h"
#include "common/record.h"

namespace vinculo {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Fail(const std::string& what, const Error& error) {
  std::fprintf(stderr, "store_writer: %s: %s\n", what.c_str(), error.ToString().c_str());
  return 1;
}

class Writer {
 public:
  Writer(client::LocalStore* store, uint64_t seed) : store_(store), rng_(seed) {}

  // Learns the live records earlier runs left, so that updates and deletes reach them too.
  Status Load() {
    for (auto [type, ids] : {std::pair{v1::RECORD_TYPE_CHILD, &children_},
                             std::pair{v1::RECORD_TYPE_HOME_VISIT, &visits_}}) {
      Result<std::vector<v1::RecordState>> states = store_->List(type);
      if (!states) return states.error();
      for (const v1::RecordState& s : *states) ids->push_back(RecordId(s.record()));
    }
    return Status::Ok();
  }

  // One write, chosen at random: about 20% new children, 45% visits, 25% updates, 10% deletes.
  Status Step() {
    const int64_t now_ms = NowMs();
    const int roll = Uniform(0, 99);
    if (children_.empty() || roll < 20) return AddChild(now_ms);
    if (roll < 65) return AddVisit(now_ms);
    if (roll < 90) return UpdateOne(now_ms);
    return DeleteOne(now_ms);
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string& Pick(std::vector<std::string>& ids) {
    return ids[static_cast<size_t>(Uniform(0, static_cast<int>(ids.size()) - 1))];
  }

  Status AddChild(int64_t now_ms) {
    static constexpr const char* kNames[] = {"Lucía",  "Mateo",  "Valentina", "Santiago",
                                             "Camila", "Thiago", "Ximena",    "Joaquín"};
    v1::Record r;
    v1::Child* c = r.mutable_child();
    c->set_given_name(kNames[Uniform(0, 7)]);
    c->set_family_name("Quispe Mamani");
    c->set_region("Cusco");
    c->set_birth_date(FormatDate(14'000 + Uniform(0, 5'000)));
    c->set_status(v1::CASE_STATUS_OPEN);
    c->set_placement(v1::PLACEMENT_RESIDENTIAL_INSTITUTION);
    c->set_notes("Derivada por la DEMUNA; la abuela materna pidió visitas.");
    Result<std::string> id = store_->Add(r, now_ms);
    if (!id) return id.error();
    children_.push_back(*id);
    return Status::Ok();
  }

  Status AddVisit(int64_t now_ms) {
    const int64_t days_ago = Uniform(1, 300);
    v1::Record r;
    v1::HomeVisit* v = r.mutable_home_visit();
    v->set_child_id(Pick(children_));
    v->set_worker("ana");
    v->set_visited_at(UtcTimestamp(now_ms - days_ago * 86'400'000));
    v->set_kind(v1::VISIT_KIND_FOLLOW_UP);
    v->set_observations("La niña asiste a la escuela; la familia recibe el bono Juntos.");
    v->set_risk_assessment(v1::RISK_LEVEL_MEDIUM);
    v->set_next_visit_due(FormatDate(now_ms / 86'400'000 - days_ago + 30));
    v->set_latitude(-13.5319);
    v->set_longitude(-71.9675);
    Result<std::string> id = store_->Add(r, now_ms);
    if (!id) return id.error();
    visits_.push_back(*id);
    return Status::Ok();
  }

  Status UpdateOne(int64_t now_ms) {
    if (!visits_.empty() && Uniform(0, 1) == 0) {
      v1::Record values;
      values.mutable_home_visit()->set_observations("Se acordó una visita con la psicóloga. #" +
                                                    std::to_string(Uniform(0, 1'000'000)));
      values.mutable_home_visit()->set_risk_assessment(v1::RISK_LEVEL_LOW);
      return store_->Update(v1::RECORD_TYPE_HOME_VISIT, Pick(visits_), values, {8, 9}, now_ms);
    }
    v1::Record values;
    values.mutable_child()->set_placement(v1::PLACEMENT_KINSHIP_CARE);
    values.mutable_child()->set_risk_level(static_cast<v1::RiskLevel>(Uniform(1, 3)));
    // Field 13 (notes) is listed but absent: the update clears it.
    return store_->Update(v1::RECORD_TYPE_CHILD, Pick(children_), values, {9, 11, 13}, now_ms);
  }

  // Deletes a visit, or now and then a child (its visits stay, pointing at the tombstone).
  Status DeleteOne(int64_t now_ms) {
    const bool child = visits_.empty() || (children_.size() > 1 && Uniform(0, 3) == 0);
    std::vector<std::string>& ids = child ? children_ : visits_;
    const size_t at = static_cast<size_t>(Uniform(0, static_cast<int>(ids.size()) - 1));
    Status s =
        store_->Delete(child ? v1::RECORD_TYPE_CHILD : v1::RECORD_TYPE_HOME_VISIT, ids[at], now_ms);
    if (!s.ok()) return s;
    ids[at] = ids.back();
    ids.pop_back();
    return Status::Ok();
  }

  client::LocalStore* store_;
  std::mt19937_64 rng_;
  std::vector<std::string> children_;  // live (not deleted) ids
  std::vector<std::string> visits_;
};

int Main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: store_writer <store path> <count> [seed [ready fd]]\n");
    return 2;
  }
  const long long count = std::atoll(argv[2]);
  const uint64_t seed = argc >= 4 ? std::strtoull(argv[3], nullptr, 10) : 1;
  const int ready_fd = argc == 5 ? std::atoi(argv[4]) : -1;
  Result<client::LocalStore> store = client::LocalStore::Open(argv[1]);
  if (!store) return Fail("open", store.error());
  Writer writer(&*store, seed);
  if (Status s = writer.Load(); !s.ok()) return Fail("load", s.error());
  if (ready_fd >= 0) {
    const char ready = 'r';
    if (::write(ready_fd, &ready, 1) != 1) {
      return Fail("ready fd", Error::Internal("cannot write to fd " + std::to_string(ready_fd)));
    }
    ::close(ready_fd);
  }
  for (long long i = 0; i < count; ++i) {
    if (Status s = writer.Step(); !s.ok()) return Fail("write " + std::to_string(i), s.error());
  }
  return 0;
}

}  // namespace
}  // namespace vinculo

int main(int argc, char** argv) { return vinculo::Main(argc, argv); }
