#include "common/enum_names.h"

#include <algorithm>

namespace vinculo {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;

constexpr std::string_view kUnspecified = "UNSPECIFIED";

// The upper-case prefix every value of `type` starts with, e.g. "VISIT_KIND_".
std::string_view EnumPrefix(const EnumDescriptor& type) {
  const EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero == nullptr) return {};
  std::string_view name = zero->name();
  if (!name.ends_with(kUnspecified)) return {};
  return name.substr(0, name.size() - kUnspecified.size());
}

}  // namespace

std::string EnumFriendlyName(const EnumValueDescriptor& value) {
  std::string_view name = value.name();
  const std::string_view prefix = EnumPrefix(*value.type());
  if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  std::string out(name);
  for (char& c : out) {
    if (c == '_') {
      c = '-';
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::vector<std::string> EnumFriendlyNames(const EnumDescriptor& type) {
  std::vector<const EnumValueDescriptor*> values;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() != 0) values.push_back(type.value(i));
  }
  std::sort(values.begin(), values.end(),
            [](const auto* a, const auto* b) { return a->number() < b->number(); });
  std::vector<std::string> names;
  names.reserve(values.size());
  for (const EnumValueDescriptor* v : values) names.push_back(EnumFriendlyName(*v));
  return names;
}

std::optional<int> ParseEnumFriendlyName(const EnumDescriptor& type, std::string_view name) {
  for (int i = 0; i < type.value_count(); ++i) {
    const EnumValueDescriptor* v = type.value(i);
    if (v->number() != 0 && EnumFriendlyName(*v) == name) return v->number();
  }
  return std::nullopt;
}

std::string KebabCase(std::string_view snake_case) {
  std::string out(snake_case);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

}  // namespace vinculo
