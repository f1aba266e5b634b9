#pragma once
// When each field of a record last changed on the server, as a server_seq, and the partial change
// built from it: the fields a device holding the record as of some seq lacks (v1::Change.partial,
// docs/protocol.md 11.5). The central store keeps one FieldSeqs beside each record. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vinculo/v1/sync.pb.h"

namespace vinculo {

// The seq of every stamped field of one record: `base` for each field not in `others`.
struct FieldSeqs {
  uint64_t base = 0;
  std::vector<std::pair<uint32_t, uint64_t>> others;  // (field, seq), strictly ascending by field

  uint64_t SeqOf(uint32_t field) const;
  bool operator==(const FieldSeqs&) const = default;
};

// A record saved at `seq` whose every field counts as changed there (a new record, or one that just
// entered its region): the form the store keeps as no bytes at all.
inline FieldSeqs AllAt(uint64_t seq) { return FieldSeqs{.base = seq, .others = {}}; }

// Compact bytes for the store: varints of base, then of each (field, seq). AllAt(seq) is empty;
// DecodeFieldSeqs(bytes, seq) reads it back. nullopt for bytes this did not write (truncated, a
// varint too long, fields not ascending).
std::string EncodeFieldSeqs(const FieldSeqs& seqs, uint64_t server_seq);
std::optional<FieldSeqs> DecodeFieldSeqs(std::string_view bytes, uint64_t server_seq);

// The seqs once `after` is saved at `seq` over `before` (whose seqs were `before_seqs`): a field
// whose stamp `after` changed (or newly stamps) is at `seq`, every other keeps its seq. The most
// common seq becomes the base.
FieldSeqs NextFieldSeqs(const v1::RecordState& before, const FieldSeqs& before_seqs,
                        const v1::RecordState& after, uint64_t seq);

// The partial form for a device that holds the record as of `held_through`: removes from `state`
// every stamped field (value and stamp) whose seq is at or below it, keeping the record's kind and
// id. Returns whether anything was removed; when nothing would be (every field changed after
// `held_through`), `state` is left whole.
bool KeepChangesAfter(v1::RecordState* state, const FieldSeqs& seqs, uint64_t held_through);

}  // namespace vinculo
