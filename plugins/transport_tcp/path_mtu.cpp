// TcpTransport::frame_mtu(): the largest frame body that fits one TCP
// segment to a session's peer (docs/mtu.md). TCP would carry larger frames
// in several segments; this only lets the host size the tunnel so that one
// tunnelled packet costs one underlay packet.
//
// The route's MTU towards the peer (with any path MTU the kernel learned)
// is read as IP_MTU/IPV6_MTU from a throwaway UDP socket connected to the
// peer's address (connect() on a datagram socket sends nothing).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "transport.hpp"

namespace transport_tcp {
namespace {

struct RouteMtu {
  std::uint32_t mtu = 0;  // 0: unknown
  bool v6 = false;
};

RouteMtu route_mtu(const std::string& address) {
  sockaddr_storage to{};
  socklen_t len = 0;
  bool v6 = false;
  sockaddr_in v4{};
  sockaddr_in6 s6{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(9);  // any port: nothing is sent
  s6.sin6_family = AF_INET6;
  s6.sin6_port = htons(9);
  if (::inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1) {
    std::memcpy(&to, &v4, sizeof v4);
    len = sizeof v4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &s6.sin6_addr) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {  // a dual-stack listener's IPv4 client
      std::memcpy(&v4.sin_addr, s6.sin6_addr.s6_addr + 12, 4);
      std::memcpy(&to, &v4, sizeof v4);
      len = sizeof v4;
    } else {
      std::memcpy(&to, &s6, sizeof s6);
      len = sizeof s6;
      v6 = true;
    }
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

std::uint32_t TcpTransport::frame_mtu(vpnsdk::SessionId id) const {
  try {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second) return 0;
    const RouteMtu r = route_mtu(it->second->info().peer.address);
    // IP, TCP with the timestamp option (20 + 12), our frame header.
    const std::uint32_t outer = (r.v6 ? 40u : 20u) + 32u + overhead().head;
    if (r.mtu <= outer) return 0;
    return std::min<std::uint32_t>(r.mtu - outer, vpnsdk::wire::kMaxBody);
  } catch (...) {
    return 0;
  }
}

}  // namespace transport_tcp
