// HTTP body codings (common/gzip.h, common/zstd.h): round trips, and the refusals that protect the
// server from hostile bodies.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/gzip.h"
#include "common/zstd.h"

namespace vinculo {
namespace {

std::string Mixed(size_t n) {  // text that compresses, with noise that does not
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < n) {
    s += "La familia participa en el comedor popular. ";
    for (int i = 0; i < 16; ++i) s += static_cast<char>(rng() & 0xff);
  }
  s.resize(n);
  return s;
}

TEST(Zstd, RoundTripsEmptySmallAndLargeBodies) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
    const std::string data = Mixed(n);
    const std::string packed = ZstdCompress(data);
    Result<std::string> back = ZstdDecompress(packed, data.size());
    ASSERT_TRUE(back.has_value()) << n << ": " << back.error().ToString();
    EXPECT_EQ(*back, data) << n;
    if (n >= 1000) {
      EXPECT_LT(packed.size(), data.size()) << n;
    }
  }
}

TEST(Zstd, TwoFramesInOneBodyAreOneBody) {
  Result<std::string> back = ZstdDecompress(ZstdCompress("uno ") + ZstdCompress("dos"), 100);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, "uno dos");
}

TEST(Zstd, ABombIsRefusedBeforeItIsInflated) {
  const std::string bomb = ZstdCompress(std::string(64u << 20, '\0'));
  EXPECT_LT(bomb.size(), 64u << 10);
  Result<std::string> r = ZstdDecompress(bomb, 1u << 20);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(r.error().field, "body");
}

TEST(Zstd, GarbageAndTruncatedBodiesAreInvalidAndNamed) {
  const std::string packed = ZstdCompress(Mixed(100'000));
  for (const std::string& bad : {std::string("not zstd"), std::string(),
                                 packed.substr(0, packed.size() / 2),
                                 packed.substr(0, packed.size() - 1)}) {
    Result<std::string> r = ZstdDecompress(bad, 1u << 20);
    ASSERT_FALSE(r.has_value()) << bad.size();
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad.size();
    EXPECT_EQ(r.error().field, "body");
  }
  std::string flipped = packed;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  EXPECT_FALSE(ZstdDecompress(flipped, 1u << 20).has_value());
}

TEST(Gzip, RoundTripsAndRefusesBombsAndGarbage) {
  const std::string data = Mixed(200'000);
  Result<std::string> back = GzipDecompress(GzipCompress(data), data.size());
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, data);
  Result<std::string> bomb = GzipDecompress(GzipCompress(std::string(64u << 20, '\0')), 1u << 20);
  ASSERT_FALSE(bomb.has_value());
  EXPECT_EQ(bomb.error().code, ErrorCode::kResourceExhausted);
  EXPECT_FALSE(GzipDecompress("not gzip", 1u << 20).has_value());
}

}  // namespace
}  // namespace vinculo
