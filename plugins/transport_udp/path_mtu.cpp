// UdpTransport::frame_mtu(): the largest frame body one datagram carries to
// a session's peer without IP fragmentation (docs/mtu.md).
//
// The route's MTU towards the peer (with any path MTU the kernel learned
// from ICMP) is read as IP_MTU/IPV6_MTU from a throwaway UDP socket
// connected to the peer's address: connect() on a datagram socket sends
// nothing, and it works for the server's sessions too, whose one socket is
// not connected.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "datagram.hpp"
#include "transport.hpp"

namespace transport_udp {
namespace {

struct RouteMtu {
  std::uint32_t mtu = 0;  // 0: unknown
  bool v6 = false;
};

RouteMtu route_mtu(const Peer& peer) {
  sockaddr_storage to{};
  socklen_t len = 0;
  bool v6 = false;
  if (peer.addr.sa.sa_family == AF_INET) {
    std::memcpy(&to, &peer.addr.v4, sizeof(sockaddr_in));
    len = sizeof(sockaddr_in);
  } else if (peer.addr.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&peer.addr.v6.sin6_addr)) {
    sockaddr_in v4{};  // a dual-stack server's IPv4 client travels in IPv4 packets
    v4.sin_family = AF_INET;
    v4.sin_port = peer.addr.v6.sin6_port;
    std::memcpy(&v4.sin_addr, peer.addr.v6.sin6_addr.s6_addr + 12, 4);
    std::memcpy(&to, &v4, sizeof v4);
    len = sizeof v4;
  } else if (peer.addr.sa.sa_family == AF_INET6) {
    std::memcpy(&to, &peer.addr.v6, sizeof(sockaddr_in6));
    len = sizeof(sockaddr_in6);
    v6 = true;
  } else {
    return {};
  }
  const int fd = ::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  int mtu = 0;
  socklen_t optlen = sizeof mtu;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), len) == 0 &&
                  ::getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &optlen) == 0;
  ::close(fd);
  if (!ok || mtu <= 0) return {};
  return {static_cast<std::uint32_t>(mtu), v6};
}

}  // namespace

std::uint32_t UdpTransport::frame_mtu(vpnsdk::SessionId id) const {
  try {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return 0;
    const RouteMtu r = route_mtu(it->second->peer);
    const std::uint32_t outer = (r.v6 ? 40u : 20u) + 8u + overhead().head;  // IP, UDP, our framing
    if (r.mtu <= outer) return 0;
    return std::min<std::uint32_t>(r.mtu - outer, kMaxFrameBody);
  } catch (...) {
    return 0;
  }
}

}  // namespace transport_udp
