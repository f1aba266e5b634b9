#include "common/uniform_stamp.h"

#include <vector>

#include "common/merge.h"
#include "common/record.h"

namespace vinculo {

std::optional<v1::Stamp> TakeUniformStamp(v1::RecordState* state) {
  if (state->stamps().empty()) return std::nullopt;
  const std::vector<uint32_t> set = SetFields(state->record());
  if (set.size() != static_cast<size_t>(state->stamps_size())) return std::nullopt;
  const v1::Stamp& first = state->stamps(0).stamp();
  for (int i = 0; i < state->stamps_size(); ++i) {
    const v1::FieldStamp& fs = state->stamps(i);
    if (fs.field() != set[static_cast<size_t>(i)] || !StampEqual(fs.stamp(), first)) {
      return std::nullopt;
    }
  }
  v1::Stamp stamp = first;
  state->clear_stamps();
  return stamp;
}

std::optional<v1::Stamp> TakeBaseStamp(v1::RecordState* state) {
  const std::vector<uint32_t> set = SetFields(state->record());
  // The stamp index of each set field, in field order (both lists ascend).
  std::vector<int> set_stamps;
  set_stamps.reserve(set.size());
  int i = 0;
  for (uint32_t field : set) {
    while (i < state->stamps_size() && state->stamps(i).field() < field) ++i;
    if (i == state->stamps_size() || state->stamps(i).field() != field) return std::nullopt;
    set_stamps.push_back(i);
  }
  // The most common stamp among them; a record has a few dozen fields at most.
  int best = -1;
  size_t best_count = 0;
  for (size_t a = 0; a < set_stamps.size(); ++a) {
    const v1::Stamp& candidate = state->stamps(set_stamps[a]).stamp();
    size_t count = 0;
    for (size_t b = a; b < set_stamps.size(); ++b) {
      count += StampEqual(state->stamps(set_stamps[b]).stamp(), candidate) ? 1 : 0;
    }
    if (count > best_count) best = set_stamps[a], best_count = count;
  }
  if (best < 0) return std::nullopt;  // no set fields
  v1::Stamp base = state->stamps(best).stamp();
  // Keep every stamp but those of set fields that carry the base.
  google::protobuf::RepeatedPtrField<v1::FieldStamp>* stamps = state->mutable_stamps();
  int kept = 0;
  size_t next_set = 0;
  for (int j = 0; j < stamps->size(); ++j) {
    const bool is_set = next_set < set_stamps.size() && set_stamps[next_set] == j;
    if (is_set) ++next_set;
    if (is_set && StampEqual(stamps->Get(j).stamp(), base)) continue;
    if (kept != j) stamps->SwapElements(kept, j);
    ++kept;
  }
  stamps->DeleteSubrange(kept, stamps->size() - kept);
  return base;
}

Status PutBaseStamp(v1::RecordState* state, const v1::Stamp& stamp) {
  if (TypeOf(state->record()) == v1::RECORD_TYPE_UNSPECIFIED) {
    return Error::InvalidArgument("the record has no kind", "change.state.record");
  }
  if (stamp.hlc() == 0 || stamp.device().empty()) {
    return Error::InvalidArgument("must carry an hlc and a device", "change.uniform_stamp");
  }
  for (int i = 1; i < state->stamps_size(); ++i) {
    if (state->stamps(i).field() <= state->stamps(i - 1).field()) {
      return Error::InvalidArgument("must ascend by field, one entry per field",
                                    "change.state.stamps");
    }
  }
  // Merge the set fields without a stamp into the sorted stamps.
  google::protobuf::RepeatedPtrField<v1::FieldStamp> merged;
  const std::vector<uint32_t> set = SetFields(state->record());
  merged.Reserve(static_cast<int>(set.size()) + state->stamps_size());
  int i = 0;
  for (uint32_t field : set) {
    while (i < state->stamps_size() && state->stamps(i).field() < field) {
      merged.Add(std::move(*state->mutable_stamps(i++)));
    }
    if (i < state->stamps_size() && state->stamps(i).field() == field) {
      merged.Add(std::move(*state->mutable_stamps(i++)));
      continue;
    }
    v1::FieldStamp* fs = merged.Add();
    fs->set_field(field);
    *fs->mutable_stamp() = stamp;
  }
  while (i < state->stamps_size()) merged.Add(std::move(*state->mutable_stamps(i++)));
  state->mutable_stamps()->Swap(&merged);
  return Status::Ok();
}

}  // namespace vinculo
