#pragma once
// The command line's enum names are the project's friendly names (common/enum_names.h).

#include "common/enum_names.h"

namespace vinculo::client::cli {

using ::vinculo::EnumFriendlyName;
using ::vinculo::EnumFriendlyNames;
using ::vinculo::KebabCase;
using ::vinculo::ParseEnumFriendlyName;

}  // namespace vinculo::client::cli
