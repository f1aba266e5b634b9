#pragma once
// The friendly names of enum values for people (the command line, CSV and the dashboard), derived from the
// proto enum descriptors: the enum's prefix stripped, lowercase, '_' -> '-'
// (PLACEMENT_KINSHIP_CARE -> "kinship-care"). A new enum value gets its name with no code change.
// Pure functions over descriptors, no I/O.

#include <google/protobuf/descriptor.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vinculo {

// The friendly name of `value`, e.g. "follow-up" for VISIT_KIND_FOLLOW_UP. The prefix is the name
// of the enum's zero value without its "UNSPECIFIED" (records.proto's convention); "unspecified"
// for the zero value itself.
std::string EnumFriendlyName(const google::protobuf::EnumValueDescriptor& value);

// The friendly names a person may type for `type`, in number order, without the zero
// ("not recorded") value.
std::vector<std::string> EnumFriendlyNames(const google::protobuf::EnumDescriptor& type);

// The value of `type` whose friendly name is `name`; nullopt for an unknown name or the zero value.
std::optional<int> ParseEnumFriendlyName(const google::protobuf::EnumDescriptor& type,
                                         std::string_view name);

// The kebab-case of a snake_case field name: "given_name" -> "given-name".
std::string KebabCase(std::string_view snake_case);

}  // namespace vinculo
