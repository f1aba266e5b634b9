#include "common/record.h"

#include "common/civil_time.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

namespace vinculo {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The oneof field of Record that holds `type`; its number equals the type's value by design.
const FieldDescriptor* KindField(v1::RecordType type) {
  return v1::Record::descriptor()->FindFieldByNumber(static_cast<int>(type));
}

constexpr std::pair<v1::RecordType, std::string_view> kNames[] = {
    {v1::RECORD_TYPE_CHILD, "child"},         {v1::RECORD_TYPE_FAMILY, "family"},
    {v1::RECORD_TYPE_CONTACT, "contact"},     {v1::RECORD_TYPE_HOME_VISIT, "visit"},
    {v1::RECORD_TYPE_PLACEMENT_CHANGE, "placement"},
};

}  // namespace

v1::RecordType TypeOf(const v1::Record& record) {
  return static_cast<v1::RecordType>(record.kind_case());
}

const Message* RecordMessage(const v1::Record& record) {
  const FieldDescriptor* field = KindField(TypeOf(record));
  if (field == nullptr) return nullptr;
  return &record.GetReflection()->GetMessage(record, field);
}

Message* MutableRecordMessage(v1::Record* record, v1::RecordType type) {
  const FieldDescriptor* field = KindField(type);
  return record->GetReflection()->MutableMessage(record, field);
}

const Descriptor* RecordDescriptor(v1::RecordType type) {
  const FieldDescriptor* field = KindField(type);
  return field == nullptr ? nullptr : field->message_type();
}

const std::string& RecordId(const v1::Record& record) {
  static const std::string kEmpty;
  switch (record.kind_case()) {
    case v1::Record::kChild: return record.child().id();
    case v1::Record::kFamily: return record.family().id();
    case v1::Record::kContact: return record.contact().id();
    case v1::Record::kHomeVisit: return record.home_visit().id();
    case v1::Record::kPlacementChange: return record.placement_change().id();
    case v1::Record::KIND_NOT_SET: break;
  }
  return kEmpty;
}

bool IsDeleted(const v1::Record& record) {
  const Message* message = RecordMessage(record);
  if (message == nullptr) return false;
  const FieldDescriptor* deleted = message->GetDescriptor()->FindFieldByNumber(kDeletedField);
  return message->GetReflection()->GetBool(*message, deleted);
}

std::string_view RecordTypeName(v1::RecordType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) return name;
  }
  return "unspecified";
}

std::string_view RecordFieldName(v1::RecordType type) {
  const FieldDescriptor* field = KindField(type);
  return field == nullptr ? std::string_view("record") : std::string_view(field->name());
}

std::optional<v1::RecordType> ParseRecordTypeName(std::string_view name) {
  for (const auto& [t, n] : kNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

RecordRefs RefsOf(const v1::Record& record) {
  RecordRefs refs;
  switch (record.kind_case()) {
    case v1::Record::kChild:
      refs.family_id = record.child().family_id();
      refs.worker = record.child().assigned_worker();
      refs.case_status = record.child().status();
      refs.placement = record.child().placement();
      refs.programme = record.child().programme();
      break;
    case v1::Record::kContact:
      refs.child_id = record.contact().child_id();
      refs.family_id = record.contact().family_id();
      break;
    case v1::Record::kHomeVisit:
      refs.child_id = record.home_visit().child_id();
      refs.family_id = record.home_visit().family_id();
      refs.worker = record.home_visit().worker();
      refs.at_ms = ParseTimestamp(record.home_visit().visited_at());
      refs.at_text = record.home_visit().visited_at();
      refs.due = record.home_visit().next_visit_due();
      refs.visit_kind = record.home_visit().kind();
      break;
    case v1::Record::kPlacementChange:
      refs.child_id = record.placement_change().child_id();
      if (auto days = ParseDate(record.placement_change().changed_on())) {
        refs.at_ms = *days * 86'400'000;
      }
      refs.at_text = record.placement_change().changed_on();
      refs.placement = record.placement_change().to_placement();
      refs.from_placement = record.placement_change().from_placement();
      break;
    case v1::Record::kFamily:
    case v1::Record::KIND_NOT_SET:
      break;
  }
  return refs;
}

}  // namespace vinculo
