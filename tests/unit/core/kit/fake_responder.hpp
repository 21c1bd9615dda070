// A fake responder: answers every packet with the verdict it is told to
// give (a "reply" as it came, i.e. still addressed to the host) and records
// what it saw.
#pragma once
#include <vector>

#include "fault.hpp"
#include "vpnsdk/responder.hpp"

namespace coretest {

struct FakeResponder final : vpnsdk::Responder {
  vpnsdk::Verdict verdict = vpnsdk::Verdict::pass;
  Faults faults;  // "handle"
  std::vector<std::vector<std::byte>> seen;

  vpnsdk::Verdict handle(vpnsdk::PacketBuffer& packet, const vpnsdk::Assignment&) override {
    faults.check("handle");
    seen.emplace_back(packet.bytes().begin(), packet.bytes().end());
    return verdict;
  }
};

}  // namespace coretest
