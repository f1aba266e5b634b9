#include "client/cli/enum_names.h"

#include <gtest/gtest.h>

#include "vinculo/v1/records.pb.h"

namespace vinculo::client::cli {
namespace {

using Names = std::vector<std::string>;

TEST(CliEnumNames, AreDerivedFromTheDescriptors) {
  EXPECT_EQ(EnumFriendlyNames(*v1::Placement_descriptor()),
            (Names{"residential-institution", "foster-family", "kinship-care", "family-of-origin",
                   "independent-living", "other"}));
  EXPECT_EQ(EnumFriendlyNames(*v1::CaseStatus_descriptor()),
            (Names{"open", "reintegrated", "closed"}));
  EXPECT_EQ(EnumFriendlyNames(*v1::RiskLevel_descriptor()), (Names{"low", "medium", "high"}));
  EXPECT_EQ(EnumFriendlyNames(*v1::Sex_descriptor()), (Names{"female", "male", "other"}));
  EXPECT_EQ(EnumFriendlyNames(*v1::Relationship_descriptor()),
            (Names{"mother", "father", "grandparent", "sibling", "aunt-uncle", "other-relative",
                   "foster-carer", "neighbour", "other"}));
  EXPECT_EQ(EnumFriendlyNames(*v1::VisitKind_descriptor()),
            (Names{"assessment", "follow-up", "reintegration-preparation",
                   "post-reintegration-monitoring", "other"}));
  EXPECT_EQ(EnumFriendlyName(*v1::VisitKind_descriptor()->FindValueByNumber(0)), "unspecified");
}

TEST(CliEnumNames, ParseIsTheInverseAndRefusesTheZeroValue) {
  for (const auto* type :
       {v1::Placement_descriptor(), v1::CaseStatus_descriptor(), v1::RiskLevel_descriptor(),
        v1::Sex_descriptor(), v1::Relationship_descriptor(), v1::VisitKind_descriptor()}) {
    for (int i = 0; i < type->value_count(); ++i) {
      const auto* value = type->value(i);
      const std::optional<int> parsed = ParseEnumFriendlyName(*type, EnumFriendlyName(*value));
      if (value->number() == 0) {
        EXPECT_FALSE(parsed.has_value()) << value->name();
      } else {
        EXPECT_EQ(parsed, value->number()) << value->name();
      }
    }
  }
  EXPECT_FALSE(ParseEnumFriendlyName(*v1::Sex_descriptor(), "FEMALE"));
  EXPECT_FALSE(ParseEnumFriendlyName(*v1::Sex_descriptor(), "SEX_FEMALE"));
  EXPECT_EQ(KebabCase("next_visit_due"), "next-visit-due");
}

}  // namespace
}  // namespace vinculo::client::cli
