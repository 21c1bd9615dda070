// device_tun's options, parsed and validated once at construction.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "policy_rules.hpp"
#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/options.hpp"

namespace device_tun {

// What the routes do while the device exists but the tunnel carries nothing
// (docs/gateway.md, "When the tunnel drops").
enum class OnTunnelDown { block, fallback };

struct TunConfig {
  std::string name = "vpn%d";  // "%d": the kernel picks the number
  std::uint16_t mtu = 0;       // 0: the assignment's MTU
  int txqueuelen = 500;

  // Gateway (server side): source NAT for the tunnel network out of this
  // interface; "" = off.
  std::string masquerade;
  std::string nft = "nft";               // the nft command (a bare name is searched in PATH, /usr/sbin, /sbin)
  std::string state_dir = "/run/vpnhost";  // where crash-recovery state lives (absolute)
  uid_t run_uid = 0;  // who vpnhost is after setup (HostContext::run_uid): writes the state file then
  gid_t run_gid = 0;

  // Client side routing.
  bool route_all = false;                       // every destination but the server through the device (policy_rules.hpp)
  std::vector<vpnsdk::ipv4::Prefix> routes;     // split tunnel: these through the device
  std::vector<std::uint32_t> keep_route_to;     // empty: find the transport's peer(s) automatically
  OnTunnelDown on_tunnel_down = OnTunnelDown::block;
  bool block_ipv6 = true;                       // route_all: IPv6 unreachable instead of around the tunnel
  bool kill_switch = true;                      // route_all + block: an nftables table lets out only the tunnel
  PolicyPlace policy;                           // route_all: route_table, route_rule_priority

  // Script hooks (absolute paths, "" = none).
  std::string up;
  std::string down;
  int script_timeout_s = 10;

  bool routing() const { return route_all || !routes.empty(); }
};

// Throws vpnsdk::ConfigError naming the option and where it was given.
// Relative paths (up, down, state_dir) are resolved against base_dir.
TunConfig parse_tun_config(const vpnsdk::Options& opts, const std::string& base_dir);

// "10.1.0.0/16"
std::string prefix_text(const vpnsdk::ipv4::Prefix& p);

}  // namespace device_tun
