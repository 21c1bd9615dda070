// TcpTransport::frame_mtu(): the largest frame body that fits one TCP
// segment to a session's peer (docs/mtu.md): the route MTU to the peer
// (vpnsdk/route_mtu.hpp) minus IP, TCP with the timestamp option (20 + 12)
// and our frame header. TCP would carry larger frames in several segments;
// this only lets the host size the tunnel so that one tunnelled packet costs
// one underlay packet.
#include "vpnsdk/route_mtu.hpp"

#include "transport.hpp"
#include "vpnsdk/wire.hpp"

namespace transport_tcp {

std::uint32_t TcpTransport::frame_mtu(vpnsdk::SessionId id) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !it->second) return 0;
  return vpnsdk::route_mtu(it->second->info().peer.address).room(32, overhead().head, vpnsdk::wire::kMaxBody);
}

}  // namespace transport_tcp
