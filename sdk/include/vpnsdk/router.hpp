// Router stage: owns addressing and decides where each IP packet goes.
#pragma once
#include <optional>

#include "vpnsdk/packet.hpp"
#include "vpnsdk/plugin.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace vpnsdk {

struct RouteDecision {
  enum class Kind { session, device, local, drop };
  Kind kind = Kind::drop;
  SessionId session = 0;         // for Kind::session
  const char* reason = nullptr;  // for Kind::drop: static text, used as a counter name

  static RouteDecision to_session(SessionId id) { return {Kind::session, id, nullptr}; }
  static RouteDecision to_device() { return {Kind::device, 0, nullptr}; }
  static RouteDecision to_local() { return {Kind::local, 0, nullptr}; }
  static RouteDecision drop(const char* why) { return {Kind::drop, 0, why}; }
};

class VPNSDK_EXPORT Router : public Plugin {
 public:
  // Server side: a session said HELLO; give it an address (Code::refused
  // with a message such as "address pool full" when there is none).
  virtual Status assign(const SessionInfo& info, const PeerIdentity* who, Assignment& out) {
    (void)info;
    (void)who;
    (void)out;
    return Status::error(Code::refused, "this router does not assign addresses");
  }
  // Server side: the session is gone; its address goes back to the pool.
  virtual void release(SessionId id) { (void)id; }
  // Client side: the server assigned us `self` on session `id` (WELCOME).
  virtual Status assigned(SessionId id, const Assignment& self) {
    (void)id;
    (void)self;
    return {};
  }
  // This host's own tunnel address, once known (server: at once).
  virtual std::optional<Assignment> local() const = 0;
  // Where a valid IPv4 packet goes. `from` is the session it arrived on, or
  // 0 when it came from the device or a local responder. The router also
  // enforces source rules (e.g. spoofed source -> drop).
  virtual RouteDecision route(const PacketBuffer& packet, SessionId from) = 0;
};

}  // namespace vpnsdk
