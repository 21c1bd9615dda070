// IPv4 routes through rtnetlink (no `ip` command): look up where a
// destination goes (RTM_GETROUTE, like `ip route get`), add and delete
// routes in the main table. Errors come back as errno values.
#pragma once
#include <cstdint>
#include <string>

namespace device_tun {

struct Route {
  std::uint32_t dst = 0;      // network, host byte order
  std::uint8_t length = 32;   // prefix length
  std::uint32_t gateway = 0;  // 0: on-link (scope link)
  int oif = 0;                // output interface index
  std::uint32_t prefsrc = 0;  // 0: none
  std::uint32_t table = 254;  // RT_TABLE_MAIN

  // "172.31.0.1/32 via 172.31.1.1 dev c1 src 10.10.0.2"
  std::string text() const;
  bool operator==(const Route&) const = default;
};

// What the kernel would do with a packet to `dst` now.
struct Lookup {
  bool unicast = false;  // a normal route (not local, unreachable, blackhole, ...)
  bool local = false;    // dst is an address of this host
  std::uint32_t gateway = 0;
  int oif = 0;
  std::uint32_t prefsrc = 0;
  std::uint32_t table = 0;
};

// 0 or an errno (ENETUNREACH when there is no route at all).
int route_get(std::uint32_t dst, Lookup& out);
// NLM_F_CREATE|NLM_F_EXCL: EEXIST if an equal route is there already.
int route_add(const Route& r);
// Deletes the route matching dst/length/table and, when set, gateway and
// oif. ESRCH: there was none.
int route_del(const Route& r);

// IPv6 "unreachable" routes (route_all's IPv6 block): `prefix` is text such
// as "::/1" or "8000::/1". 0 or an errno (EEXIST, ESRCH, EINVAL for bad text).
int unreachable6_add(const std::string& prefix);
int unreachable6_del(const std::string& prefix);

// Interface name for messages ("#7" if it has none any more).
std::string ifname_of(int index);

}  // namespace device_tun
