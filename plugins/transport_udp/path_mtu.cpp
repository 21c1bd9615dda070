// UdpTransport::frame_mtu(): the largest frame body one datagram carries to
// a session's peer without IP fragmentation (docs/mtu.md): the route MTU to
// the peer (vpnsdk/route_mtu.hpp) minus IP, UDP and our framing.
#include "vpnsdk/route_mtu.hpp"

#include "datagram.hpp"
#include "transport.hpp"

namespace transport_udp {

std::uint32_t UdpTransport::frame_mtu(vpnsdk::SessionId id) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return 0;
  const Peer& peer = it->second->peer;
  return vpnsdk::route_mtu(&peer.addr.sa, peer.len).room(8, overhead().head, kMaxFrameBody);
}

}  // namespace transport_udp
