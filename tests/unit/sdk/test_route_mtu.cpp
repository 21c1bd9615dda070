// vpnsdk::route_mtu: the route MTU to a peer (read on loopback, which sends
// nothing) and the room left for a frame body.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>

#include "vpnsdk/route_mtu.hpp"

namespace {
std::uint32_t loopback_mtu() {
  std::ifstream f("/sys/class/net/lo/mtu");
  std::uint32_t mtu = 0;
  f >> mtu;
  return mtu;
}
}  // namespace

TEST_CASE("route_mtu: loopback's MTU over IPv4, and an IPv4-mapped address counts as IPv4", "[sdk][route_mtu]") {
  // The kernel reports at most 65535 (IP_MAX_MTU); lo's MTU is 65536.
  const std::uint32_t lo = std::min<std::uint32_t>(loopback_mtu(), 65535);
  REQUIRE(lo > 0);
  const vpnsdk::RouteMtu v4 = vpnsdk::route_mtu("127.0.0.1");
  CHECK(v4.mtu == lo);
  CHECK_FALSE(v4.ipv6);
  const vpnsdk::RouteMtu mapped = vpnsdk::route_mtu("::ffff:127.0.0.1");
  CHECK(mapped.mtu == lo);
  CHECK_FALSE(mapped.ipv6);
}

TEST_CASE("route_mtu: what is not a numeric address gives 0 (unknown)", "[sdk][route_mtu]") {
  CHECK(vpnsdk::route_mtu("").mtu == 0);
  CHECK(vpnsdk::route_mtu("vpn.example.net").mtu == 0);
  CHECK(vpnsdk::route_mtu("10.10.0.256").mtu == 0);
  CHECK(vpnsdk::route_mtu(nullptr, 0).mtu == 0);
}

TEST_CASE("RouteMtu::room takes off IP, the transport's header and framing, capped by max_body", "[sdk][route_mtu]") {
  CHECK(vpnsdk::RouteMtu{1500, false}.room(8, 8, 65535) == 1464);   // UDP, transport_udp framing
  CHECK(vpnsdk::RouteMtu{1500, false}.room(32, 4, 65535) == 1444);  // TCP + timestamps, frame header
  CHECK(vpnsdk::RouteMtu{1280, true}.room(8, 8, 65535) == 1224);    // IPv6 header is 40
  CHECK(vpnsdk::RouteMtu{65536, false}.room(8, 8, 9000) == 9000);
  CHECK(vpnsdk::RouteMtu{30, false}.room(8, 8, 9000) == 0);         // nothing fits
  CHECK(vpnsdk::RouteMtu{}.room(8, 8, 9000) == 0);                  // unknown
}
