// Echo pages (common/echoes.h): what the server packs the device unpacks alike, the page digest
// depends on every state and on their order, and a malformed page is refused.

#include "common/echoes.h"

#include <gtest/gtest.h>

#include <random>

namespace vinculo {
namespace {

TEST(EchoPage, UnpacksToWhatWasPackedOverRandomPages) {
  std::mt19937_64 rng(0xec40);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<EchoEntry> echoes;
    uint64_t server_seq = rng() % 1'000'000, mutation_seq = rng() % 1'000;
    const int n = static_cast<int>(rng() % 600);
    for (int i = 0; i < n; ++i) {
      server_seq += 1 + rng() % 3;
      mutation_seq += 1 + rng() % 2;
      echoes.push_back({.server_seq = server_seq, .mutation_seq = mutation_seq,
                        .state_digest = rng()});
    }
    v1::SyncResponse reply;
    *reply.mutable_echo_page() = PackEchoPage(echoes);
    // On the wire and back.
    v1::SyncResponse received;
    ASSERT_TRUE(received.ParseFromString(reply.SerializeAsString()));
    Result<std::vector<EchoEntry>> got = EchoesOf(received);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    ASSERT_EQ(got->size(), echoes.size());
    std::vector<uint64_t> digests;
    for (size_t i = 0; i < echoes.size(); ++i) {
      EXPECT_EQ((*got)[i].server_seq, echoes[i].server_seq);
      EXPECT_EQ((*got)[i].mutation_seq, echoes[i].mutation_seq);
      EXPECT_FALSE((*got)[i].state_digest.has_value());
      digests.push_back(*echoes[i].state_digest);
    }
    EXPECT_EQ(received.echo_page().digest(), EchoPageDigest(digests));
  }
}

TEST(EchoPage, ItsDigestChangesWithAnyStateAndWithTheirOrder) {
  const std::vector<uint64_t> digests = {11, 22, 33, 44};
  const uint64_t page = EchoPageDigest(digests);
  for (size_t i = 0; i < digests.size(); ++i) {
    std::vector<uint64_t> changed = digests;
    changed[i] ^= 1;
    EXPECT_NE(EchoPageDigest(changed), page) << i;
  }
  EXPECT_NE(EchoPageDigest({22, 11, 33, 44}), page);
  EXPECT_NE(EchoPageDigest({11, 22, 33}), page);
}

TEST(EchoPage, SingleEchoesComeWithTheirOwnDigests) {
  v1::SyncResponse reply;
  v1::Echo* e = reply.add_echoes();
  e->set_server_seq(7);
  e->set_mutation_seq(3);
  e->set_state_digest(99);
  Result<std::vector<EchoEntry>> got = EchoesOf(reply);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].server_seq, 7u);
  EXPECT_EQ((*got)[0].mutation_seq, 3u);
  EXPECT_EQ((*got)[0].state_digest, 99u);
}

TEST(EchoPage, AMalformedPageIsRefused) {
  auto with_steps = [](std::vector<uint64_t> server, std::vector<uint64_t> mutation) {
    v1::SyncResponse r;
    for (uint64_t s : server) r.mutable_echo_page()->add_server_seq_steps(s);
    for (uint64_t m : mutation) r.mutable_echo_page()->add_mutation_seq_steps(m);
    return r;
  };
  v1::SyncResponse both = with_steps({1}, {1});
  both.add_echoes()->set_server_seq(2);
  for (const v1::SyncResponse& bad :
       {with_steps({1, 2}, {1}), with_steps({0}, {1}), with_steps({1}, {0}),
        with_steps({UINT64_MAX, 1}, {1, 1}), both}) {
    Result<std::vector<EchoEntry>> got = EchoesOf(bad);
    ASSERT_FALSE(got.has_value()) << bad.ShortDebugString();
    EXPECT_EQ(got.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(got.error().message.find("echo page"), std::string::npos);
  }
  EXPECT_TRUE(EchoesOf(with_steps({5, 1}, {2, 1})).has_value());
}

}  // namespace
}  // namespace vinculo
