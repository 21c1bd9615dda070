// Pipeline: roaming. A frame the transport marked with PacketMeta::path came
// from an underlay endpoint other than its session's. Only a frame the
// session's cipher opened AND whose cipher authenticates its peer may move
// the session there: with a cipher that authenticates nobody (cipher_xor)
// anyone could move someone else's session to himself, so such frames are
// dropped and counted instead (docs/udp.md, "Roaming").
#include "vpnhost/pipeline.hpp"

namespace vpnhost {

bool Pipeline::follow_path(Session& s, std::uint32_t path) {
  std::optional<vpnsdk::PeerIdentity> who;
  if (!guarded(*stages_.cipher, s.info.id, "peer", [&] { who = s.cipher->peer(); })) return false;
  if (!who) {
    drop("roaming_unauthenticated", &s);
    return false;
  }
  std::optional<vpnsdk::Endpoint> now;
  if (!guarded(*stages_.transport, s.info.id, "adopt_path", [&] { now = transport_->adopt_path(s.info.id, path); }))
    return false;
  if (now) {
    log_->info("session {} roamed from {} to {}", s.info.id, s.info.peer.to_string(), now->to_string());
    s.info.peer = *now;
    ++counters_.get("host.roams");
  }
  return true;  // moved, or not (an older path's frame): the frame itself is authentic either way
}

}  // namespace vpnhost
