// Crash-recovery state: what this device changed on the host that does not
// go away by itself when the process dies (the nftables table, the original
// ip_forward value, host routes through the underlay, route_all's policy
// rules and IPv6 block). Written before the
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
//   rule 4 10000 254 172.31.0.1/32             (family, priority, table, to; policy_rules.hpp)
//   rule 6 10002 10010 all
//   unreachable6 ::/0 10010                    (route_all's IPv6 block in its table)
//   unreachable6 ::/1                          (older versions' block in main: still undone)
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "policy_rules.hpp"
#include "route_netlink.hpp"

namespace device_tun {

struct State {
  long pid = 0;
  std::optional<std::string> ip_forward;  // the value before any gateway set it
  std::string nft_table;                  // our table, if we made one
  std::vector<Route> routes;              // routes we added that outlive the TUN device
  std::vector<Rule> rules;                // policy rules we added, in that order
  std::vector<Unreachable6> unreachable6;  // IPv6 block routes we added
  bool empty() const {
    return !ip_forward && nft_table.empty() && routes.empty() && rules.empty() && unreachable6.empty();
  }
};

// "vpnhost_" and 1-15 of a-z A-Z 0-9 _: what nft_table_name() makes of a
// valid interface name.
bool valid_nft_table(const std::string& name);

// Before setup ends, when vpnhost will then run as `uid`:`gid` ([host] user):
// makes `dir` (mkdir -p) and, if it had to create it, hands it to that user;
// an existing directory must already be that user's. "" or what to do.
std::string prepare_state_dir(const std::string& dir, uid_t uid, gid_t gid);

class StateFile {
 public:
  // `run_uid`: the user vpnhost runs as after setup, who writes the file
  // from then on; a file or directory of that user is trusted too.
  // `policy`: the only table and priorities its rules may name.
  StateFile(std::string dir, const std::string& ifname, uid_t run_uid, const PolicyPlace& policy);
  const std::string& path() const { return path_; }

  // nullopt: no file. A file that is refused comes back as an empty State
  // with the reason in `error`: not a regular file, not owned by root or this
  // process's user, writable by group/others or in a directory others can
  // write (vpnsdk::trust_problem), or any value in it that device_tun could
  // not have written (an unknown item, a table name that is not this
  // device's, a rule other than its policy rules with this device's
  // route_table and route_rule_priority, an address, length, index or
  // number out of range, extra words). Nothing from a refused file may be
  // acted on.
  std::optional<State> load(std::string& error) const;
  // "" or an error message.
  std::string save(const State& s) const;
  void remove() const noexcept;

  // States of other devices in this network namespace whose process is
  // alive (files that load() would refuse are skipped, as are those whose
  // rules name another route_table or route_rule_priority).
  std::vector<State> others_alive() const;

 private:
  std::string dir_;
  uid_t run_uid_;
  std::string prefix_;  // "device_tun-net<ino>-"
  std::string table_;   // the nftables table this device's file may name
  PolicyPlace policy_;
  std::string path_;
};

}  // namespace device_tun
