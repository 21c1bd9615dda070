// route_all's policy routing as data (docs/gateway.md, "Policy routing"):
// the rules device_tun makes, and whether a rule read back from a state
// file is one of them. With P = route_rule_priority, T = route_table:
//
//   P     to <server>/32 lookup main   each server address kept on the underlay
//   P     to fe80::/10 lookup main     IPv6 link-local  } block_ipv6 only
//   P     to ff00::/8 lookup main      IPv6 multicast   }
//   P+2   lookup T                     IPv4; IPv6 too with block_ipv6
//
// and in T: `default dev <tun> src <address>` (goes with the device) and,
// with block_ipv6, `unreachable ::/0` (IPv6; outlives it, so it is listed).
// The rules come before the main table's (32766): a more specific route in
// main (TunnelVision) is never looked at for what T answers. P+1 is not
// used: there is nothing that T cannot answer and main should (a socket
// bound to another interface finds no route in T and goes on to main by
// itself), and a `suppress_prefixlength 0` rule there would let main's
// more specific routes win again, as in wg-quick.
#pragma once
#include <cstdint>
#include <vector>

#include "route_netlink.hpp"

namespace device_tun {

struct PolicyPlace {
  std::uint32_t table = 10010;     // route_table
  std::uint32_t priority = 10000;  // route_rule_priority: P, P+1, P+2
};

Rule server_rule(const PolicyPlace& p, std::uint32_t server);
// fe80::/10 and ff00::/8 to main.
std::vector<Rule> ipv6_exception_rules(const PolicyPlace& p);
Rule table_rule(const PolicyPlace& p, bool ipv6);
// unreachable ::/0 in T.
Unreachable6 ipv6_block(const PolicyPlace& p);

// `r` is one of the rules above (any IPv4 address as a server, written as
// device_tun writes it: "a.b.c.d/32").
bool is_policy_rule(const PolicyPlace& p, const Rule& r);

}  // namespace device_tun
