#pragma once
// Echoes (docs/protocol.md 11.4): the device's own writes of a request, answered with digests of
// the server's states instead of the states. A reply carries them in one of two forms, each Echo
// with its own digest (SyncResponse.echoes) or all of them under one digest (echo_page); this
// packs and unpacks both, so that the device and the server read them alike. Pure: no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/result.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo {

struct EchoEntry {
  uint64_t server_seq = 0;
  uint64_t mutation_seq = 0;
  std::optional<uint64_t> state_digest;  // unset in an EchoPage: its digest covers them all
};

// The digest of a page of echoes: the first 8 bytes (big-endian) of SHA-256 over each state's
// StateDigest as 8 big-endian bytes, in order. ON THE WIRE.
uint64_t EchoPageDigest(const std::vector<uint64_t>& state_digests);

// Packs `echoes` (with their digests, ascending by server_seq and by mutation_seq) into an
// EchoPage.
v1::EchoPage PackEchoPage(const std::vector<EchoEntry>& echoes);

// Puts `echoes` (with their digests, in server_seq order) into `response`: as one EchoPage when
// `as_page` and the page can hold them (both seqs ascending from 1 on, as a request's writes are;
// never a page the device would refuse), else one Echo each.
void PutEchoes(const std::vector<EchoEntry>& echoes, bool as_page, v1::SyncResponse* response);

// How many of `response`'s echoes, from the first, the device holds as the server does, given the
// StateDigest of what it holds of each echoed record (nullopt: nothing). A page matches whole or
// not at all; single echoes up to the first that differs. The device applies nothing from the
// first unmatched echo on.
size_t MatchedEchoes(const v1::SyncResponse& response, const std::vector<EchoEntry>& echoes,
                     const std::vector<std::optional<uint64_t>>& held_digests);

// The echoes of `response` in order: its `echoes`, or its `echo_page` unpacked. DataLoss when the page's two lists differ in length, a step is 0, a sum
// overflows, or the reply carries both forms.
Result<std::vector<EchoEntry>> EchoesOf(const v1::SyncResponse& response);

}  // namespace vinculo
