// The MTU of the kernel's route to a peer, for Transport::frame_mtu().
//
// Read as IP_MTU / IPV6_MTU from a throwaway UDP socket connected to the
// peer: connect() on a datagram socket sends nothing, needs no socket of the
// session's own (a server's one UDP socket is not connected) and includes a
// smaller path MTU the kernel learned from ICMP. An IPv4-mapped IPv6 peer (a
// dual-stack listener's IPv4 client) is looked up as IPv4.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace vpnsdk {

struct RouteMtu {
  std::uint32_t mtu = 0;  // 0: unknown
  bool ipv6 = false;      // the packets travel as IPv6 (40-byte header)

  // What is left for a frame body once the IP header, the transport's own
  // header (UDP 8, TCP 20 + options) and its framing are taken off; at most
  // max_body. 0: unknown, or nothing fits.
  std::uint32_t room(std::uint32_t transport_header, std::uint32_t framing, std::uint32_t max_body) const noexcept {
    const std::uint32_t outer = (ipv6 ? 40u : 20u) + transport_header + framing;
    if (mtu <= outer) return 0;
    return std::min(mtu - outer, max_body);
  }
};

// `to` is a sockaddr_in or sockaddr_in6 (the port does not matter).
inline RouteMtu route_mtu(const sockaddr* to, socklen_t len) noexcept {
  sockaddr_storage dst{};
  if (to == nullptr || len > sizeof dst) return {};
  std::memcpy(&dst, to, len);
  bool v6 = dst.ss_family == AF_INET6;
  if (dst.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 s6{};
    std::memcpy(&s6, &dst, sizeof s6);
    if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      v4.sin_port = s6.sin6_port;
      std::memcpy(&v4.sin_addr, s6.sin6_addr.s6_addr + 12, 4);
      dst = {};
      std::memcpy(&dst, &v4, sizeof v4);
      len = sizeof v4;
      v6 = false;
    }
  } else if (dst.ss_family != AF_INET || len < sizeof(sockaddr_in)) {
    return {};
  }
  const int fd = ::socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  int mtu = 0;
  socklen_t optlen = sizeof mtu;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&dst), len) == 0 &&
                  ::getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &optlen) == 0;
  ::close(fd);
  if (!ok || mtu <= 0) return {};
  return {static_cast<std::uint32_t>(mtu), v6};
}

// `address`: numeric IPv4 or IPv6 text, as in vpnsdk::Endpoint.
inline RouteMtu route_mtu(const std::string& address) noexcept {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(9);  // any port: nothing is sent
  if (::inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1)
    return route_mtu(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(9);
  if (::inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr) == 1)
    return route_mtu(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  return {};
}

}  // namespace vpnsdk
