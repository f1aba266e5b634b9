#include "client/csv.h"

#include <gtest/gtest.h>

namespace vinculo::client {
namespace {

using Fields = std::vector<std::string>;

std::vector<CsvRow> Parse(std::string_view text, char delimiter = ',') {
  Result<std::vector<CsvRow>> rows = ParseCsv(text, delimiter);
  EXPECT_TRUE(rows.has_value()) << rows.error().ToString();
  return rows ? *rows : std::vector<CsvRow>{};
}

TEST(Csv, PlainRowsWithLineNumbers) {
  std::vector<CsvRow> rows = Parse("a,b,c\n1,2,3\n4,5,6\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(rows[2].fields, (Fields{"4", "5", "6"}));
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[2].line, 3u);
}

TEST(Csv, QuotedFieldsHoldDelimitersQuotesAndLineBreaks) {
  std::vector<CsvRow> rows = Parse(
      "name,notes\n\"Quispe, Lucía\",\"dijo "
      "\"\"hola\"\"\"\n\"x\",\"uno\ndos\r\ntres\"\nlast,\"\"\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].fields, (Fields{"Quispe, Lucía", "dijo \"hola\""}));
  // Line breaks inside a quoted field are kept as LF, and the next record's line number counts
  // the physical lines of the one before.
  EXPECT_EQ(rows[2].fields, (Fields{"x", "uno\ndos\ntres"}));
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_EQ(rows[3].line, 6u);
  EXPECT_EQ(rows[3].fields, (Fields{"last", ""}));
}

TEST(Csv, ByteOrderMarkAndCrlfAndNoFinalNewline) {
  std::vector<CsvRow> rows = Parse("\xEF\xBB\xBFgiven_name,region\r\nLucía,Cusco\r\nAna,Puno");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, (Fields{"given_name", "region"}));
  EXPECT_EQ(rows[1].fields, (Fields{"Lucía", "Cusco"}));
  EXPECT_EQ(rows[2].fields, (Fields{"Ana", "Puno"}));
}

TEST(Csv, EmptyFieldsAndEmptyLines) {
  std::vector<CsvRow> rows = Parse("a,b,c\n,,\n\n\r\n1,,3\n\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].fields, (Fields{"", "", ""}));
  EXPECT_EQ(rows[2].fields, (Fields{"1", "", "3"}));
  EXPECT_EQ(rows[2].line, 5u);
}

TEST(Csv, LoneCarriageReturnEndsARecord) {
  std::vector<CsvRow> rows = Parse("a,b\r1,2\r");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields, (Fields{"1", "2"}));
  EXPECT_EQ(rows[1].line, 2u);
}

TEST(Csv, OtherDelimiter) {
  std::vector<CsvRow> rows = Parse("a;b\n\"x;y\";2,5\n", ';');
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields, (Fields{"x;y", "2,5"}));
}

TEST(Csv, UnclosedQuoteNamesTheLineItOpenedOn) {
  Result<std::vector<CsvRow>> rows = ParseCsv("a,b\n1,2\n3,\"never\nclosed\n");
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(rows.error().message,
            "line 3: a quoted field is not closed before the end of the file");
}

TEST(Csv, QuoteInsideUnquotedFieldIsAnError) {
  Result<std::vector<CsvRow>> rows = ParseCsv("a,b\n1,ab\"c\n");
  ASSERT_FALSE(rows.has_value());
  EXPECT_NE(rows.error().message.find("line 2: a quote inside an unquoted field"),
            std::string::npos);
}

TEST(Csv, TextAfterClosingQuoteIsAnError) {
  Result<std::vector<CsvRow>> rows = ParseCsv("a,b\n\"x\"y,2\n");
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().message, "line 2: text after the closing quote of a field");
}

TEST(Csv, EmptyInputHasNoRows) {
  EXPECT_TRUE(Parse("").empty());
  EXPECT_TRUE(Parse("\xEF\xBB\xBF").empty());
}

}  // namespace
}  // namespace vinculo::client
