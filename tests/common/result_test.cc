#include "common/result.h"

#include <gtest/gtest.h>

namespace vinculo {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Error::InvalidArgument("must be even", "n");
  return n / 2;
}

TEST(Result, HoldsValueOrError) {
  Result<int> ok = Half(4);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 2);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().ToString(), "n: must be even");
}

TEST(Status, DefaultIsOkAndErrorCarriesCode) {
  EXPECT_TRUE(Status().ok());
  Status s = Error::NotFound("no such child");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_STREQ(ErrorCodeName(s.error().code), "not_found");
}

}  // namespace
}  // namespace vinculo
