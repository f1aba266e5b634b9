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

Status PutUniformStamp(v1::RecordState* state, const v1::Stamp& stamp) {
  if (!state->stamps().empty()) {
    return Error::InvalidArgument("a state with a uniform stamp carries no field stamps",
                                  "change.state.stamps");
  }
  if (TypeOf(state->record()) == v1::RECORD_TYPE_UNSPECIFIED) {
    return Error::InvalidArgument("the record has no kind", "change.state.record");
  }
  if (stamp.hlc() == 0 || stamp.device().empty()) {
    return Error::InvalidArgument("must carry an hlc and a device", "change.uniform_stamp");
  }
  for (uint32_t field : SetFields(state->record())) {
    v1::FieldStamp* fs = state->add_stamps();
    fs->set_field(field);
    *fs->mutable_stamp() = stamp;
  }
  return Status::Ok();
}

}  // namespace vinculo
