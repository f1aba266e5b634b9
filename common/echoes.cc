#include "common/echoes.h"

#include <openssl/sha.h>

#include <algorithm>
#include <limits>
#include <string>

namespace vinculo {

uint64_t EchoPageDigest(const std::vector<uint64_t>& state_digests) {
  std::string bytes;
  bytes.reserve(state_digests.size() * 8);
  for (uint64_t d : state_digests) {
    for (int shift = 56; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(d >> shift));
  }
  unsigned char hash[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), hash);
  uint64_t digest = 0;
  for (int i = 0; i < 8; ++i) digest = (digest << 8) | hash[i];
  return digest;
}

v1::EchoPage PackEchoPage(const std::vector<EchoEntry>& echoes) {
  v1::EchoPage page;
  std::vector<uint64_t> digests;
  digests.reserve(echoes.size());
  uint64_t server_seq = 0, mutation_seq = 0;
  for (const EchoEntry& e : echoes) {
    page.add_server_seq_steps(e.server_seq - server_seq);
    page.add_mutation_seq_steps(e.mutation_seq - mutation_seq);
    server_seq = e.server_seq;
    mutation_seq = e.mutation_seq;
    digests.push_back(e.state_digest.value_or(0));
  }
  page.set_digest(EchoPageDigest(digests));
  return page;
}

void PutEchoes(const std::vector<EchoEntry>& echoes, bool as_page, v1::SyncResponse* response) {
  const bool ascending =
      !echoes.empty() && echoes.front().server_seq > 0 && echoes.front().mutation_seq > 0 &&
      std::adjacent_find(echoes.begin(), echoes.end(), [](const EchoEntry& a, const EchoEntry& b) {
        return b.mutation_seq <= a.mutation_seq || b.server_seq <= a.server_seq;
      }) == echoes.end();
  if (as_page && ascending) {
    *response->mutable_echo_page() = PackEchoPage(echoes);
    return;
  }
  for (const EchoEntry& e : echoes) {
    v1::Echo* sent = response->add_echoes();
    sent->set_server_seq(e.server_seq);
    sent->set_mutation_seq(e.mutation_seq);
    sent->set_state_digest(e.state_digest.value_or(0));
  }
}

size_t MatchedEchoes(const v1::SyncResponse& response, const std::vector<EchoEntry>& echoes,
                     const std::vector<std::optional<uint64_t>>& held_digests) {
  if (response.has_echo_page()) {
    std::vector<uint64_t> digests;
    digests.reserve(held_digests.size());
    for (const std::optional<uint64_t>& d : held_digests) {
      if (!d) return 0;
      digests.push_back(*d);
    }
    return EchoPageDigest(digests) == response.echo_page().digest() ? echoes.size() : 0;
  }
  size_t matched = 0;
  while (matched < echoes.size() && matched < held_digests.size() && held_digests[matched] &&
         held_digests[matched] == echoes[matched].state_digest) {
    ++matched;
  }
  return matched;
}

Result<std::vector<EchoEntry>> EchoesOf(const v1::SyncResponse& response) {
  std::vector<EchoEntry> out;
  if (!response.has_echo_page()) {
    out.reserve(static_cast<size_t>(response.echoes_size()));
    for (const v1::Echo& e : response.echoes()) {
      out.push_back({.server_seq = e.server_seq(),
                     .mutation_seq = e.mutation_seq(),
                     .state_digest = e.state_digest()});
    }
    return out;
  }
  const v1::EchoPage& page = response.echo_page();
  auto refuse = [](const std::string& why) {
    return Error::DataLoss("the server's echo page " + why + "; refusing the reply");
  };
  if (response.echoes_size() > 0) return refuse("comes beside single echoes");
  if (page.server_seq_steps_size() != page.mutation_seq_steps_size()) {
    return refuse("lists " + std::to_string(page.server_seq_steps_size()) + " server seqs and " +
                  std::to_string(page.mutation_seq_steps_size()) + " mutation seqs");
  }
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t server_seq = 0, mutation_seq = 0;
  out.reserve(static_cast<size_t>(page.server_seq_steps_size()));
  for (int i = 0; i < page.server_seq_steps_size(); ++i) {
    const uint64_t s = page.server_seq_steps(i), m = page.mutation_seq_steps(i);
    if (s == 0 || m == 0) return refuse("has a step of 0 at entry " + std::to_string(i));
    if (s > kMax - server_seq || m > kMax - mutation_seq) {
      return refuse("overflows at entry " + std::to_string(i));
    }
    server_seq += s;
    mutation_seq += m;
    out.push_back({.server_seq = server_seq, .mutation_seq = mutation_seq});
  }
  return out;
}

}  // namespace vinculo
