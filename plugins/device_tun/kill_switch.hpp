// route_all with on_tunnel_down = "block" (and kill_switch = true): an
// nftables table of the client's own whose output chain drops everything
// but loopback, the TUN device and the server's underlay address(es), as
// the Linux clients of Mullvad and Tailscale do. It is made when the host
// starts running (before the first connection, if keep_route_to names the
// server), replaced in one transaction when the server's address is known
// or changes, removed by a clean exit (stop) and *kept* when the process
// dies (SIGKILL, a crash): then nothing leaves in the clear until the next
// start of vpnhost with this device name replaces it, or `vpnhost unblock
// DEVICE` (or `nft delete table inet vpnhostks_<device>`) removes it.
// docs/gateway.md, "The kill switch".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tun_config.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

// "vpnhostks_" + the configured device name (`name`, "%d" included) with
// every character nft does not allow in a bare name turned into '_'.
// Deliberately not "vpnhost_...": never a name the gateway's table (or its
// state file) could have.
std::string kill_switch_table_name(const std::string& configured_name);

// Replaces any table of that name with the kill switch: output policy drop;
// accepted: oifname "lo", oifname <tun> (a "%d" name becomes a wildcard
// "prefix*"), ip daddr <servers>, DHCP to a server (udp 68 -> 67).
std::string kill_switch_script(const std::string& table, const std::string& tun,
                               const std::vector<std::uint32_t>& servers);

class KillSwitch {
 public:
  explicit KillSwitch(const TunConfig& cfg) : cfg_(cfg), table_(kill_switch_table_name(cfg.name)) {}
  bool wanted() const { return cfg_.route_all && cfg_.on_tunnel_down == OnTunnelDown::block && cfg_.kill_switch; }
  bool installed() const { return installed_; }
  const std::string& table() const { return table_; }

  // Makes (or replaces, atomically) the table for this interface (the
  // configured name before the device exists) and these server addresses.
  // Nothing is done if it is in place with exactly these.
  vpnsdk::Status set(const std::string& tun, std::vector<std::uint32_t> servers,
                     const std::shared_ptr<spdlog::logger>& log);
  // A clean exit: the table goes. Never throws.
  void remove(const std::shared_ptr<spdlog::logger>& log) noexcept;

 private:
  const TunConfig& cfg_;
  std::string table_;
  bool installed_ = false;
  std::string tun_;
  std::vector<std::uint32_t> servers_;
};

}  // namespace device_tun
