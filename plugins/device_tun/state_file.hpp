// Crash-recovery state: what this device changed on the host that does not
// go away by itself when the process dies (the nftables table, the original
// ip_forward value, host routes through the underlay). Written before the
// change is made, removed once it is undone; a start that finds the file of
// an earlier run undoes what it lists first.
//
// One file per device and network namespace:
//   <state_dir>/device_tun-net<namespace inode>-<interface>.state
// Text, one item per line:
//   pid 1234
//   ip_forward 0
//   nft_table vpnhost_vpngw0
//   route 172.31.0.1 32 172.31.1.1 5 254      (dst, length, gateway, oif, table)
//   unreachable6 ::/1                          (route_all's IPv6 block)
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "route_netlink.hpp"

namespace device_tun {

struct State {
  long pid = 0;
  std::optional<std::string> ip_forward;  // the value before any gateway set it
  std::string nft_table;                  // our table, if we made one
  std::vector<Route> routes;              // routes we added that outlive the TUN device
  std::vector<std::string> unreachable6;  // IPv6 block routes we added ("::/1")
  bool empty() const { return !ip_forward && nft_table.empty() && routes.empty() && unreachable6.empty(); }
};

class StateFile {
 public:
  StateFile(std::string dir, const std::string& ifname);
  const std::string& path() const { return path_; }

  // nullopt: no file; an unreadable file is an error message in `error`.
  std::optional<State> load(std::string& error) const;
  // "" or an error message.
  std::string save(const State& s) const;
  void remove() const noexcept;

  // States of other devices in this network namespace whose process is alive.
  std::vector<State> others_alive() const;

 private:
  std::string dir_;
  std::string prefix_;  // "device_tun-net<ino>-"
  std::string path_;
};

}  // namespace device_tun
