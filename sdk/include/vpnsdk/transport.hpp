// Transport stage: carries frames between peers.
//
// A frame is a PacketBuffer whose data() is the frame body and whose
// meta.frame_type is its wire type (vpnsdk/wire.hpp). On send, the transport
// adds its own framing in the headroom; on receive it strips it.
#pragma once
#include <cstdint>
#include <optional>

#include "vpnsdk/packet.hpp"
#include "vpnsdk/plugin.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace vpnsdk {

// Implemented by the host. Never call it re-entrantly from inside a host
// call (send/close/start): defer with boost::asio::post.
class TransportSink {
 public:
  // A session exists: a client connected (responder) or we connected (initiator).
  virtual void opened(const SessionInfo& info) = 0;
  // Complete frames that arrived on one session, in order.
  virtual void received(SessionId id, Batch frames) = 0;
  // The session is gone. Called exactly once for every opened session,
  // whatever ended it (peer, error, or the host's own close()).
  virtual void closed(SessionId id, const Status& why) = 0;
  // A failure not tied to an open session (e.g. connecting failed).
  virtual void failed(const Status& why) = 0;

 protected:
  ~TransportSink() = default;
};

class VPNSDK_EXPORT Transport : public Plugin {
 public:
  virtual Overhead overhead() const = 0;
  // Listen or connect on the host's io_context. Errors here end start-up.
  virtual Status start(TransportSink& sink) = 0;
  // Queue frames for one session; takes all of them. Frames that do not fit
  // the session's bounded queue are dropped (return Code::drop_overflow and
  // count them); an unknown session returns Code::drop_no_route.
  virtual Status send(SessionId id, Batch frames) = 0;
  // Flush what is queued (bounded time), then close; closed() follows.
  virtual void close(SessionId id, const Status& why) = 0;
  // Client (connect) mode, after the session closed or connecting failed:
  // connect again, resolving the host name afresh. The outcome arrives as
  // opened() or failed(). Transports that cannot do this keep the default.
  virtual Status reconnect() { return Status::error(Code::refused, "this transport cannot reconnect"); }
  // Roaming. A transport that can tell sessions apart without the source
  // address marks frames from a new endpoint with PacketMeta::path. The host
  // calls adopt_path() only after the session's cipher authenticated such a
  // frame (never with a cipher that authenticates nobody); from then on the
  // session's frames go to that endpoint, which is returned. nullopt: the
  // token is stale or unknown, nothing changed.
  virtual std::optional<Endpoint> adopt_path(SessionId id, std::uint32_t path) {
    (void)id;
    (void)path;
    return std::nullopt;
  }
  // The largest frame body (what the cipher sealed, without this transport's
  // own framing) that crosses the underlay to this session's peer in one
  // packet, e.g. path MTU - IP - UDP - framing. 0: unknown. The host derives
  // the tunnel MTU from it (docs/mtu.md).
  virtual std::uint32_t frame_mtu(SessionId id) const {
    (void)id;
    return 0;
  }
  // Stop accepting/connecting and drop every session, without callbacks.
  virtual void stop() = 0;
};

}  // namespace vpnsdk
