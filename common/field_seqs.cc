#include "common/field_seqs.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>

#include "common/merge.h"
#include "common/record.h"

namespace vinculo {

uint64_t FieldSeqs::SeqOf(uint32_t field) const {
  auto it = std::lower_bound(others.begin(), others.end(), field,
                             [](const auto& entry, uint32_t f) { return entry.first < f; });
  return it != others.end() && it->first == field ? it->second : base;
}

std::string EncodeFieldSeqs(const FieldSeqs& seqs, uint64_t server_seq) {
  std::string out;
  if (seqs == AllAt(server_seq)) return out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteVarint64(seqs.base);
    for (const auto& [field, seq] : seqs.others) {
      coded.WriteVarint32(field);
      coded.WriteVarint64(seq);
    }
  }
  return out;
}

std::optional<FieldSeqs> DecodeFieldSeqs(std::string_view bytes, uint64_t server_seq) {
  if (bytes.empty()) return AllAt(server_seq);
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  FieldSeqs seqs;
  if (!in.ReadVarint64(&seqs.base)) return std::nullopt;
  while (in.CurrentPosition() < static_cast<int>(bytes.size())) {
    uint64_t field = 0, seq = 0;
    if (!in.ReadVarint64(&field) || field > UINT32_MAX || !in.ReadVarint64(&seq)) {
      return std::nullopt;
    }
    if (!seqs.others.empty() && seqs.others.back().first >= field) return std::nullopt;
    seqs.others.emplace_back(static_cast<uint32_t>(field), seq);
  }
  return seqs;
}

FieldSeqs NextFieldSeqs(const v1::RecordState& before, const FieldSeqs& before_seqs,
                        const v1::RecordState& after, uint64_t seq) {
  std::vector<std::pair<uint32_t, uint64_t>> each;
  each.reserve(static_cast<size_t>(after.stamps_size()));
  for (const v1::FieldStamp& fs : after.stamps()) {
    const bool unchanged = StampEqual(FieldStampOf(before, fs.field()), fs.stamp());
    each.emplace_back(fs.field(), unchanged ? before_seqs.SeqOf(fs.field()) : seq);
  }
  // The base: the seq most fields carry (the higher one on a tie, so that a tie with the new seq
  // leaves the new fields implicit).
  std::vector<std::pair<uint64_t, int>> tally;
  for (const auto& [field, s] : each) {
    auto it = std::find_if(tally.begin(), tally.end(), [s = s](const auto& t) { return t.first == s; });
    if (it == tally.end()) {
      tally.emplace_back(s, 1);
    } else {
      ++it->second;
    }
  }
  FieldSeqs next{.base = seq, .others = {}};
  int best = 0;
  for (const auto& [s, count] : tally) {
    if (count > best || (count == best && s > next.base)) {
      next.base = s;
      best = count;
    }
  }
  for (const auto& entry : each) {
    if (entry.second != next.base) next.others.push_back(entry);
  }
  return next;
}

bool KeepChangesAfter(v1::RecordState* state, const FieldSeqs& seqs, uint64_t held_through) {
  const v1::RecordType type = TypeOf(state->record());
  if (type == v1::RECORD_TYPE_UNSPECIFIED) return false;
  const bool any_older = std::any_of(
      state->stamps().begin(), state->stamps().end(), [&](const v1::FieldStamp& fs) {
        return fs.field() != static_cast<uint32_t>(kIdField) && seqs.SeqOf(fs.field()) <= held_through;
      });
  if (!any_older) return false;
  google::protobuf::Message* message = MutableRecordMessage(state->mutable_record(), type);
  const google::protobuf::Reflection* reflection = message->GetReflection();
  const google::protobuf::Descriptor* descriptor = message->GetDescriptor();
  auto* stamps = state->mutable_stamps();
  int kept = 0;
  for (int i = 0; i < stamps->size(); ++i) {
    const uint32_t field = stamps->Get(i).field();
    if (field == static_cast<uint32_t>(kIdField) || seqs.SeqOf(field) > held_through) {
      if (kept != i) stamps->SwapElements(kept, i);
      ++kept;
      continue;
    }
    if (const auto* f = descriptor->FindFieldByNumber(static_cast<int>(field)); f != nullptr) {
      reflection->ClearField(message, f);
    }
  }
  stamps->DeleteSubrange(kept, stamps->size() - kept);
  return true;
}

}  // namespace vinculo
