#include "client/cli/json.h"

#include <gtest/gtest.h>

#include "vinculo/v1/records.pb.h"

namespace vinculo::client::cli {
namespace {

TEST(CliJson, ParseNamesTheGivenFieldsEvenWhenEmpty) {
  v1::Child child;
  Result<std::vector<uint32_t>> fields = ParseJsonObject(
      R"({"notes":"","givenName":"Lucía","risk_level":"RISK_LEVEL_LOW","familyId":null})", &child);
  ASSERT_TRUE(fields.has_value()) << fields.error().ToString();
  EXPECT_EQ(*fields, (std::vector<uint32_t>{2, 11, 12, 13}));
  EXPECT_EQ(child.given_name(), "Lucía");
  EXPECT_EQ(child.risk_level(), v1::RISK_LEVEL_LOW);
}

TEST(CliJson, ParseRefusesUnknownFieldsNamingAll) {
  v1::Family family;
  Result<std::vector<uint32_t>> fields =
      ParseJsonObject(R"({"name":"x","colour":"red","size":3})", &family);
  ASSERT_FALSE(fields.has_value());
  EXPECT_EQ(fields.error().field, "--json");
  EXPECT_EQ(fields.error().message.rfind(R"(unknown field(s) "colour", "size" in a Family)", 0), 0u)
      << fields.error().message;
  EXPECT_FALSE(ParseJsonObject("not json", &family).has_value());
  EXPECT_FALSE(ParseJsonObject(R"(["name"])", &family).has_value());
  EXPECT_FALSE(ParseJsonObject(R"({"name":7})", &family).has_value());
}

TEST(CliJson, OutputIsOneLineInFieldOrder) {
  v1::Family family;
  family.set_region("Cusco");
  family.set_name("Familia \"Ñusta\"");
  EXPECT_EQ(*ToJson(family), R"({"name":"Familia \"Ñusta\"","region":"Cusco"})");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\x01é"), R"("a\"b\\c\nd\u0001é")");
  EXPECT_EQ(JsonArrayLines({}), "[]\n");
  EXPECT_EQ(JsonArrayLines({"1", "2"}), "[\n1,\n2\n]\n");
}

}  // namespace
}  // namespace vinculo::client::cli
