// A peer's socket address as the kernel gives it (recvmmsg's msg_name),
// usable as a map key and as sendmmsg's msg_name without conversion.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/udp.hpp>

#include "vpnsdk/session.hpp"

namespace transport_udp {

struct Peer {
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr{};
  socklen_t len = 0;

  static Peer from(const sockaddr_storage& ss, socklen_t n) noexcept {
    Peer p;
    if (ss.ss_family == AF_INET && n >= sizeof(sockaddr_in)) {
      std::memcpy(&p.addr.v4, &ss, sizeof(sockaddr_in));
      p.len = sizeof(sockaddr_in);
    } else if (ss.ss_family == AF_INET6 && n >= sizeof(sockaddr_in6)) {
      std::memcpy(&p.addr.v6, &ss, sizeof(sockaddr_in6));
      p.len = sizeof(sockaddr_in6);
    }
    return p;
  }
  static Peer from(const boost::asio::ip::udp::endpoint& ep) noexcept {
    Peer p;
    std::memcpy(&p.addr, ep.data(), ep.size());
    p.len = static_cast<socklen_t>(ep.size());
    return p;
  }

  bool valid() const noexcept { return len != 0; }

  bool operator==(const Peer& o) const noexcept {
    if (addr.sa.sa_family != o.addr.sa.sa_family) return false;
    if (addr.sa.sa_family == AF_INET)
      return addr.v4.sin_port == o.addr.v4.sin_port && addr.v4.sin_addr.s_addr == o.addr.v4.sin_addr.s_addr;
    if (addr.sa.sa_family == AF_INET6)
      return addr.v6.sin6_port == o.addr.v6.sin6_port && addr.v6.sin6_scope_id == o.addr.v6.sin6_scope_id &&
             std::memcmp(&addr.v6.sin6_addr, &o.addr.v6.sin6_addr, sizeof(in6_addr)) == 0;
    return len == o.len;
  }

  std::size_t hash() const noexcept {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a over family, port and address
    auto mix = [&h](const void* p, std::size_t n) {
      const auto* b = static_cast<const unsigned char*>(p);
      for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    };
    mix(&addr.sa.sa_family, sizeof(addr.sa.sa_family));
    if (addr.sa.sa_family == AF_INET) {
      mix(&addr.v4.sin_port, 2);
      mix(&addr.v4.sin_addr, 4);
    } else if (addr.sa.sa_family == AF_INET6) {
      mix(&addr.v6.sin6_port, 2);
      mix(&addr.v6.sin6_addr, 16);
    }
    return static_cast<std::size_t>(h);
  }

  // Numeric address (IPv4-mapped IPv6 shown as IPv4) and port, for the host.
  vpnsdk::Endpoint endpoint() const {
    char text[INET6_ADDRSTRLEN] = "?";
    std::uint16_t port = 0;
    if (addr.sa.sa_family == AF_INET) {
      inet_ntop(AF_INET, &addr.v4.sin_addr, text, sizeof text);
      port = ntohs(addr.v4.sin_port);
    } else if (addr.sa.sa_family == AF_INET6) {
      const in6_addr& a = addr.v6.sin6_addr;
      if (IN6_IS_ADDR_V4MAPPED(&a))
        inet_ntop(AF_INET, a.s6_addr + 12, text, sizeof text);
      else
        inet_ntop(AF_INET6, &a, text, sizeof text);
      port = ntohs(addr.v6.sin6_port);
    }
    return {text, port};
  }
  std::string text() const {
    const vpnsdk::Endpoint e = endpoint();
    const bool v6 = e.address.find(':') != std::string::npos;
    return (v6 ? "[" + e.address + "]" : e.address) + ":" + std::to_string(e.port);
  }
};

// The local address a datagram was sent to (IP_PKTINFO / IPV6_PKTINFO on
// receive), kept so that replies leave from it (the same cmsg on send): a
// server listening on 0.0.0.0 or :: with several addresses answers each
// client from the address the client talks to. !valid(): the kernel picks.
struct LocalAddr {
  int family = 0;  // 0: none; AF_INET (in_pktinfo, IPPROTO_IP) or AF_INET6 (in6_pktinfo, IPPROTO_IPV6)
  in_addr v4{};    // AF_INET: the address
  in6_addr v6{};   // AF_INET6: the address (IPv4-mapped for IPv4 on a dual-stack socket)
  int ifindex = 0;  // IPv6 link-local only: the interface (else 0: the route decides)

  bool valid() const noexcept { return family != 0; }
  bool operator==(const LocalAddr& o) const noexcept {
    if (family != o.family) return false;
    if (family == AF_INET) return v4.s_addr == o.v4.s_addr;
    if (family == AF_INET6) return ifindex == o.ifindex && std::memcmp(&v6, &o.v6, sizeof v6) == 0;
    return true;
  }
  std::string text() const {
    char t[INET6_ADDRSTRLEN] = "-";
    if (family == AF_INET) inet_ntop(AF_INET, &v4, t, sizeof t);
    else if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6)) inet_ntop(AF_INET, v6.s6_addr + 12, t, sizeof t);
    else if (family == AF_INET6) inet_ntop(AF_INET6, &v6, t, sizeof t);
    return t;
  }
};

struct PeerHash {
  std::size_t operator()(const Peer& p) const noexcept { return p.hash(); }
};

}  // namespace transport_udp
