// Routes and policy rules through rtnetlink (no `ip` command): look up
// where an IPv4 destination goes (RTM_GETROUTE, like `ip route get`), add
// and delete IPv4 routes in any table, IPv6 unreachable routes, and rules
// (RTM_NEWRULE/RTM_DELRULE, like `ip rule`). Errors come back as errno
// values.
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
  std::uint8_t protocol = 4;  // RTPROT_STATIC; kPolicyProtocol in device_tun's own table

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

// The routing protocol number of device_tun's policy rules and of the
// routes in its own table (`proto 118` in `ip rule` and `ip route`): how
// `vpnhost unblock` finds what a crashed client left. Neither the kernel
// (rtnetlink.h) nor iproute2 (rt_protos) assigns it to anyone.
constexpr std::uint8_t kPolicyProtocol = 118;

// An IPv6 "unreachable" route (route_all's IPv6 block): `prefix` is text
// such as "::/0"; added with kPolicyProtocol.
struct Unreachable6 {
  std::string prefix;
  std::uint32_t table = 254;
  // "unreachable ::/0 table 10010"
  std::string text() const;
  bool operator==(const Unreachable6&) const = default;
};

// 0 or an errno (EEXIST, ESRCH, EINVAL for bad text).
int unreachable6_add(const Unreachable6& u);
int unreachable6_del(const Unreachable6& u);

// A policy routing rule, `ip rule` with action "lookup": packets (of this
// family) to `to` look up `table`, at `priority`. Added with
// kPolicyProtocol.
struct Rule {
  bool ipv6 = false;
  std::uint32_t priority = 0;
  std::uint32_t table = 254;
  std::string to;  // "" = every destination; else a prefix: "203.0.113.7/32", "fe80::/10"

  // "priority 10000 to 203.0.113.7/32 lookup main", "priority 10002 lookup 10010 (IPv6)"
  std::string text() const;
  bool operator==(const Rule&) const = default;
};

// NLM_F_CREATE|NLM_F_EXCL: EEXIST if an equal rule is there already;
// EINVAL for a `to` that is not a prefix of the rule's family.
int rule_add(const Rule& r);
// Deletes the rule with these values and kPolicyProtocol. ENOENT: there was none.
int rule_del(const Rule& r);

// Interface name for messages ("#7" if it has none any more).
std::string ifname_of(int index);

}  // namespace device_tun
