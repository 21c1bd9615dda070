// Responder stage: answers packets addressed to the host itself.
#pragma once
#include "vpnsdk/packet.hpp"
#include "vpnsdk/plugin.hpp"
#include "vpnsdk/session.hpp"

namespace vpnsdk {

enum class Verdict {
  pass,      // not mine: the next responder may take it
  reply,     // I rewrote the buffer into a reply; the host routes it
  consumed,  // I took it; nothing to send
};

class VPNSDK_EXPORT Responder : public Plugin {
 public:
  // `packet` is a valid IPv4 packet whose destination is a local address;
  // `self` is this host's assignment.
  virtual Verdict handle(PacketBuffer& packet, const Assignment& self) = 0;
};

}  // namespace vpnsdk
