#include "common/merge.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "common/record.h"
#include "common/validate.h"

namespace vinculo {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const v1::Stamp& ZeroStamp() {
  static const v1::Stamp* const kZero = new v1::Stamp();
  return *kZero;
}

// Position of `field` in the sorted `stamps`, or where it would be inserted.
int LowerBound(const v1::RecordState& state, uint32_t field) {
  const auto& stamps = state.stamps();
  auto it = std::lower_bound(stamps.begin(), stamps.end(), field,
                             [](const v1::FieldStamp& s, uint32_t f) { return s.field() < f; });
  return static_cast<int>(it - stamps.begin());
}

// Sets the stamp of `field`, keeping `stamps` sorted by field number with one entry a field.
void SetFieldStamp(v1::RecordState* state, uint32_t field, const v1::Stamp& stamp) {
  int at = LowerBound(*state, field);
  auto* stamps = state->mutable_stamps();
  if (at < stamps->size() && stamps->Get(at).field() == field) {
    *stamps->Mutable(at)->mutable_stamp() = stamp;
    return;
  }
  v1::FieldStamp* added = stamps->Add();
  added->set_field(field);
  *added->mutable_stamp() = stamp;
  // Move the new entry from the end to its place.
  for (int i = stamps->size() - 1; i > at; --i) stamps->SwapElements(i, i - 1);
}

// True when `field` holds the same value in `a` and `b` (messages of the same type).
bool FieldEquals(const Message& a, const Message& b, const FieldDescriptor* field) {
  const Reflection* ra = a.GetReflection();
  const Reflection* rb = b.GetReflection();
  if (field->is_repeated()) {
    int n = ra->FieldSize(a, field);
    if (n != rb->FieldSize(b, field)) return false;
    for (int i = 0; i < n; ++i) {
      switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          if (ra->GetRepeatedString(a, field, i) != rb->GetRepeatedString(b, field, i)) return false;
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          if (ra->GetRepeatedEnumValue(a, field, i) != rb->GetRepeatedEnumValue(b, field, i)) {
            return false;
          }
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (ra->GetRepeatedMessage(a, field, i).SerializeAsString() !=
              rb->GetRepeatedMessage(b, field, i).SerializeAsString()) {
            return false;
          }
          break;
        default:
          // Other scalars do not repeat in any record (CopyField refuses them too).
          abort();
      }
    }
    return true;
  }
  if (field->has_presence() && ra->HasField(a, field) != rb->HasField(b, field)) return false;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return ra->GetString(a, field) == rb->GetString(b, field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return ra->GetBool(a, field) == rb->GetBool(b, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return ra->GetEnumValue(a, field) == rb->GetEnumValue(b, field);
    case FieldDescriptor::CPPTYPE_INT32:
      return ra->GetInt32(a, field) == rb->GetInt32(b, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return ra->GetInt64(a, field) == rb->GetInt64(b, field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return ra->GetUInt32(a, field) == rb->GetUInt32(b, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return ra->GetUInt64(a, field) == rb->GetUInt64(b, field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      // Bitwise equality: NaN never arrives (validation refuses it), and -0.0 vs 0.0 differ on
      // the wire, so they count as different values here too.
      return ra->GetDouble(a, field) == rb->GetDouble(b, field) &&
             std::signbit(ra->GetDouble(a, field)) == std::signbit(rb->GetDouble(b, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return ra->GetFloat(a, field) == rb->GetFloat(b, field);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return ra->GetMessage(a, field).SerializeAsString() ==
             rb->GetMessage(b, field).SerializeAsString();
  }
  return false;
}

// Replaces `field` of `to` with its value in `from` (messages of the same type). A field absent
// from `from` is cleared in `to`.
void CopyField(const Message& from, Message* to, const FieldDescriptor* field) {
  const Reflection* rf = from.GetReflection();
  const Reflection* rt = to->GetReflection();
  rt->ClearField(to, field);
  if (field->is_repeated()) {
    int n = rf->FieldSize(from, field);
    for (int i = 0; i < n; ++i) {
      switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          rt->AddString(to, field, rf->GetRepeatedString(from, field, i));
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE:
          rt->AddMessage(to, field)->CopyFrom(rf->GetRepeatedMessage(from, field, i));
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          rt->AddEnumValue(to, field, rf->GetRepeatedEnumValue(from, field, i));
          break;
        default:
          // Scalars other than those above do not repeat in any record; keep the contract loud.
          abort();
      }
    }
    return;
  }
  if (field->has_presence() && !rf->HasField(from, field)) return;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      rt->SetString(to, field, rf->GetString(from, field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      rt->SetBool(to, field, rf->GetBool(from, field));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      rt->SetEnumValue(to, field, rf->GetEnumValue(from, field));
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      rt->SetInt32(to, field, rf->GetInt32(from, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      rt->SetInt64(to, field, rf->GetInt64(from, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      rt->SetUInt32(to, field, rf->GetUInt32(from, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      rt->SetUInt64(to, field, rf->GetUInt64(from, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      rt->SetDouble(to, field, rf->GetDouble(from, field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      rt->SetFloat(to, field, rf->GetFloat(from, field));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      rt->MutableMessage(to, field)->CopyFrom(rf->GetMessage(from, field));
      break;
  }
}

// A Record of `type` and `id` holding only `field` copied from `source`.
v1::Record OneFieldRecord(v1::RecordType type, const std::string& id, const Message& source,
                          const FieldDescriptor* field) {
  v1::Record out;
  Message* message = MutableRecordMessage(&out, type);
  const FieldDescriptor* id_field = message->GetDescriptor()->FindFieldByNumber(kIdField);
  message->GetReflection()->SetString(message, id_field, id);
  CopyField(source, message, field);
  return out;
}

// Checks that `state` can receive writes for (`type`, `id`).
Status CheckSameRecord(const v1::RecordState& state, v1::RecordType type, const std::string& id) {
  if (TypeOf(state.record()) == v1::RECORD_TYPE_UNSPECIFIED) return Status::Ok();
  if (TypeOf(state.record()) != type) {
    return Error::InvalidArgument("is a " + std::string(RecordTypeName(type)) +
                                      " but the stored record " + id + " is a " +
                                      std::string(RecordTypeName(TypeOf(state.record()))),
                                  "mutation.record");
  }
  if (RecordId(state.record()) != id) {
    return Error::InvalidArgument(
        "id " + id + " does not match the stored record " + RecordId(state.record()),
        "mutation.record.id");
  }
  return Status::Ok();
}

}  // namespace

int CompareStamps(const v1::Stamp& a, const v1::Stamp& b) {
  if (a.hlc() != b.hlc()) return a.hlc() < b.hlc() ? -1 : 1;
  int c = a.device().compare(b.device());
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

bool IsZeroStamp(const v1::Stamp& stamp) { return stamp.hlc() == 0 && stamp.device().empty(); }

v1::Stamp MakeStamp(HlcValue hlc, std::string_view device) {
  v1::Stamp stamp;
  stamp.set_hlc(hlc);
  stamp.set_device(std::string(device));
  return stamp;
}

const v1::Stamp& FieldStampOf(const v1::RecordState& state, uint32_t field) {
  int at = LowerBound(state, field);
  if (at < state.stamps_size() && state.stamps(at).field() == field) {
    return state.stamps(at).stamp();
  }
  return ZeroStamp();
}

const v1::Stamp& MaxStamp(const v1::RecordState& state) {
  const v1::Stamp* max = &ZeroStamp();
  for (const v1::FieldStamp& s : state.stamps()) {
    if (StampLess(*max, s.stamp())) max = &s.stamp();
  }
  return *max;
}

Status CheckMutationShape(const v1::Mutation& mutation) {
  const v1::RecordType type = TypeOf(mutation.record());
  if (type == v1::RECORD_TYPE_UNSPECIFIED) {
    return Error::InvalidArgument("must hold a record of a known kind", "mutation.record");
  }
  const std::string& id = RecordId(mutation.record());
  if (!IsUuid(id)) {
    return Error::InvalidArgument("must be a UUID (lowercase 8-4-4-4-12 hex)", "mutation.record.id");
  }
  if (mutation.hlc() == 0) return Error::InvalidArgument("must not be zero", "mutation.hlc");
  if (mutation.fields().empty()) {
    return Error::InvalidArgument("must name at least one written field", "mutation.fields");
  }
  const google::protobuf::Descriptor* descriptor = RecordDescriptor(type);
  uint32_t previous = 0;
  const bool writes_deleted = std::binary_search(mutation.fields().begin(),
                                                 mutation.fields().end(), kDeletedField);
  if (writes_deleted && mutation.fields_size() != 1) {
    return Error::InvalidArgument("a delete or restore writes `deleted` alone", "mutation.fields");
  }
  for (uint32_t f : mutation.fields()) {
    if (f <= previous) {
      return Error::InvalidArgument("must ascend without repeats", "mutation.fields");
    }
    previous = f;
    if (f == kIdField) return Error::InvalidArgument("must not write the id", "mutation.fields");
    if (descriptor->FindFieldByNumber(static_cast<int>(f)) == nullptr) {
      return Error::InvalidArgument(
          "field " + std::to_string(f) + " does not exist in " + descriptor->name(),
          "mutation.fields");
    }
  }
  // Every value set in the record must be a written field: a value that is not listed would be
  // silently dropped, which hides a client bug.
  const Message& values = *RecordMessage(mutation.record());
  std::vector<const FieldDescriptor*> set;
  values.GetReflection()->ListFields(values, &set);
  for (const FieldDescriptor* f : set) {
    if (f->number() == kIdField) continue;
    if (!std::binary_search(mutation.fields().begin(), mutation.fields().end(),
                            static_cast<uint32_t>(f->number()))) {
      return Error::InvalidArgument("holds a value for " + f->name() + " that is not in fields",
                                    "mutation.record");
    }
  }
  for (const v1::FieldStamp& base : mutation.bases()) {
    if (descriptor->FindFieldByNumber(static_cast<int>(base.field())) == nullptr) {
      return Error::InvalidArgument(
          "field " + std::to_string(base.field()) + " does not exist in " + descriptor->name(),
          "mutation.bases");
    }
    // A write is made after what it was made from: a clock that stamped below its own base would
    // lose its write silently.
    if (base.stamp().hlc() >= mutation.hlc()) {
      return Error::InvalidArgument("must be above every base stamp", "mutation.hlc");
    }
  }
  return Status::Ok();
}

Result<ApplyOutcome> ApplyMutation(v1::RecordState* state, const v1::Mutation& mutation,
                                   std::string_view device) {
  if (Status s = CheckMutationShape(mutation); !s.ok()) return s.error();
  if (device.empty()) return Error::InvalidArgument("must not be empty", "device");
  const v1::RecordType type = TypeOf(mutation.record());
  const std::string& id = RecordId(mutation.record());
  if (Status s = CheckSameRecord(*state, type, id); !s.ok()) return s.error();

  std::map<uint32_t, const v1::Stamp*> bases;
  for (const v1::FieldStamp& b : mutation.bases()) bases[b.field()] = &b.stamp();
  auto base_of = [&](uint32_t field) -> const v1::Stamp& {
    auto it = bases.find(field);
    return it == bases.end() ? ZeroStamp() : *it->second;
  };

  const v1::Stamp incoming = MakeStamp(mutation.hlc(), device);
  const Message& in = *RecordMessage(mutation.record());
  Message* stored = MutableRecordMessage(state->mutable_record(), type);
  const google::protobuf::Descriptor* descriptor = stored->GetDescriptor();
  const FieldDescriptor* deleted_field = descriptor->FindFieldByNumber(kDeletedField);
  stored->GetReflection()->SetString(stored, descriptor->FindFieldByNumber(kIdField), id);

  const v1::Stamp stored_deleted_stamp = FieldStampOf(*state, kDeletedField);
  const bool stored_deleted = stored->GetReflection()->GetBool(*stored, deleted_field);
  const bool writes_deleted = std::binary_search(mutation.fields().begin(),
                                                 mutation.fields().end(), kDeletedField);
  const bool is_delete = writes_deleted && in.GetReflection()->GetBool(in, deleted_field);

  auto make_conflict = [&](v1::ConflictKind kind, const FieldDescriptor* field,
                           const Message& loser, const v1::Stamp& losing_stamp,
                           const Message& winner, const FieldDescriptor* winning_field,
                           const v1::Stamp& winning_stamp) {
    v1::Conflict c;
    c.set_record_id(id);
    c.set_field(static_cast<uint32_t>(field->number()));
    c.set_field_name(field->name());
    c.set_kind(kind);
    *c.mutable_losing() = OneFieldRecord(type, id, loser, field);
    *c.mutable_losing_stamp() = losing_stamp;
    *c.mutable_winning() = OneFieldRecord(type, id, winner, winning_field);
    *c.mutable_winning_stamp() = winning_stamp;
    return c;
  };

  ApplyOutcome outcome;

  // A delete that wins over edits its author had not seen: each such field is a conflict (the value
  // survives under the tombstone, but nobody chose to delete it). Judged before any field changes.
  if (is_delete && StampLess(stored_deleted_stamp, incoming)) {
    for (const v1::FieldStamp& fs : state->stamps()) {
      if (fs.field() == kDeletedField) continue;
      if (StampEqual(base_of(fs.field()), fs.stamp())) continue;
      const FieldDescriptor* field = descriptor->FindFieldByNumber(static_cast<int>(fs.field()));
      if (field == nullptr) continue;
      outcome.conflicts.push_back(make_conflict(v1::CONFLICT_KIND_DELETE_OF_EDITED, field,
                                                *stored, fs.stamp(), in, deleted_field, incoming));
    }
  }

  // An edit by someone who had not seen the record deleted: the record stays deleted, and each
  // edited value is shown for review.
  const bool edit_of_deleted =
      !writes_deleted && stored_deleted && !StampEqual(base_of(kDeletedField), stored_deleted_stamp);

  for (uint32_t f : mutation.fields()) {
    const FieldDescriptor* field = descriptor->FindFieldByNumber(static_cast<int>(f));
    const v1::Stamp current = FieldStampOf(*state, f);
    const int order = CompareStamps(incoming, current);
    if (order == 0) continue;  // this very write was applied before: a replay changes nothing
    const bool incoming_wins = order > 0;

    if (edit_of_deleted) {
      outcome.conflicts.push_back(make_conflict(v1::CONFLICT_KIND_EDIT_OF_DELETED, field, in,
                                                incoming, *stored, deleted_field,
                                                stored_deleted_stamp));
    }
    const bool concurrent = !IsZeroStamp(current) && !StampEqual(base_of(f), current) &&
                            !FieldEquals(in, *stored, field);
    if (concurrent && incoming_wins) {
      outcome.conflicts.push_back(make_conflict(v1::CONFLICT_KIND_CONCURRENT_WRITE, field,
                                                *stored, current, in, field, incoming));
    } else if (concurrent && !edit_of_deleted) {  // else the edit is already logged above
      outcome.conflicts.push_back(make_conflict(v1::CONFLICT_KIND_CONCURRENT_WRITE, field, in,
                                                incoming, *stored, field, current));
    }
    if (incoming_wins) {
      CopyField(in, stored, field);
      SetFieldStamp(state, f, incoming);
      outcome.changed = true;
    }
  }
  return outcome;
}

Result<bool> MergeState(v1::RecordState* state, const v1::RecordState& other) {
  const v1::RecordType type = TypeOf(other.record());
  if (type == v1::RECORD_TYPE_UNSPECIFIED) return false;
  const std::string& id = RecordId(other.record());
  if (Status s = CheckSameRecord(*state, type, id); !s.ok()) return s.error();

  const Message& in = *RecordMessage(other.record());
  Message* stored = MutableRecordMessage(state->mutable_record(), type);
  const google::protobuf::Descriptor* descriptor = stored->GetDescriptor();
  stored->GetReflection()->SetString(stored, descriptor->FindFieldByNumber(kIdField), id);

  bool changed = false;
  for (const v1::FieldStamp& fs : other.stamps()) {
    const FieldDescriptor* field = descriptor->FindFieldByNumber(static_cast<int>(fs.field()));
    // A field this build does not know (a newer schema) or the id: nothing to merge.
    if (field == nullptr || fs.field() == kIdField) continue;
    if (!StampLess(FieldStampOf(*state, fs.field()), fs.stamp())) continue;
    CopyField(in, stored, field);
    SetFieldStamp(state, fs.field(), fs.stamp());
    changed = true;
  }
  return changed;
}

v1::Mutation MakeMutation(const v1::RecordState& state, const v1::Record& values,
                          std::span<const uint32_t> fields, HlcValue hlc, uint64_t seq) {
  const v1::RecordType type = TypeOf(values);
  const Message& source = *RecordMessage(values);
  const google::protobuf::Descriptor* descriptor = source.GetDescriptor();

  v1::Mutation mutation;
  mutation.set_seq(seq);
  mutation.set_hlc(hlc);
  Message* target = MutableRecordMessage(mutation.mutable_record(), type);
  target->GetReflection()->SetString(target, descriptor->FindFieldByNumber(kIdField),
                                     RecordId(values));
  std::vector<uint32_t> sorted(fields.begin(), fields.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (uint32_t f : sorted) {
    const FieldDescriptor* field = descriptor->FindFieldByNumber(static_cast<int>(f));
    if (field != nullptr) CopyField(source, target, field);
    mutation.add_fields(f);  // an unknown number stays listed: CheckMutationShape refuses it
  }

  const bool is_delete = sorted.size() == 1 && sorted[0] == kDeletedField &&
                         source.GetReflection()->GetBool(
                             source, descriptor->FindFieldByNumber(kDeletedField));
  for (const v1::FieldStamp& fs : state.stamps()) {
    const bool wanted = is_delete || fs.field() == kDeletedField ||
                        std::binary_search(sorted.begin(), sorted.end(), fs.field());
    if (wanted) *mutation.add_bases() = fs;
  }
  return mutation;
}

void RevertFields(v1::RecordState* state, const v1::Stamp& stamp,
                  std::span<const uint32_t> fields, const v1::RecordState* authority) {
  const v1::RecordType type = TypeOf(state->record());
  if (type == v1::RECORD_TYPE_UNSPECIFIED) return;
  Message* stored = MutableRecordMessage(state->mutable_record(), type);
  const bool usable_authority = authority != nullptr && TypeOf(authority->record()) == type &&
                                RecordId(authority->record()) == RecordId(state->record());
  for (uint32_t f : fields) {
    if (!StampEqual(FieldStampOf(*state, f), stamp)) continue;  // overwritten since: keep
    const FieldDescriptor* field = stored->GetDescriptor()->FindFieldByNumber(static_cast<int>(f));
    if (field == nullptr) continue;
    const v1::Stamp& theirs =
        usable_authority ? FieldStampOf(*authority, f) : ZeroStamp();
    if (!IsZeroStamp(theirs)) {
      CopyField(*RecordMessage(authority->record()), stored, field);
      SetFieldStamp(state, f, theirs);
    } else {
      stored->GetReflection()->ClearField(stored, field);
      auto* stamps = state->mutable_stamps();
      const int at = LowerBound(*state, f);
      stamps->DeleteSubrange(at, 1);
    }
  }
}

std::vector<uint32_t> SetFields(const v1::Record& record) {
  std::vector<uint32_t> out;
  const Message* message = RecordMessage(record);
  if (message == nullptr) return out;
  std::vector<const FieldDescriptor*> set;
  message->GetReflection()->ListFields(*message, &set);
  for (const FieldDescriptor* f : set) {
    if (f->number() != kIdField) out.push_back(static_cast<uint32_t>(f->number()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vinculo
