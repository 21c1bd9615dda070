// The vpnhost subcommands, callable without CLI11 (main.cpp parses).
#pragma once
#include <string>
#include <vector>

namespace vpnhost::app {

struct Common {
  std::vector<std::string> overrides;  // --set TABLE.KEY=VALUE
  std::string log_level;               // empty: from the manifest
};

void setup_logging(const std::string& level);
int cmd_run(const std::string& manifest, const Common& common, bool stdin_eof_exits, const std::string& stats_file);
int cmd_check(const std::string& manifest, const Common& common);
int cmd_plugins(const std::string& name, const std::vector<std::string>& extra_dirs);
int cmd_keygen(const std::string& file);
// Reads a base64 private key from standard input, prints its public key.
int cmd_pubkey();
// Asks a running host over its control socket: `socket` if given, else the
// one `manifest` names, else the only one in /run/vpnhost.
int cmd_status(const std::string& socket, const std::string& manifest, const Common& common, bool json);
// Asks a running host (found as for status) to reload its manifest: exit 0
// when it did, 1 with its refusal (it keeps running unchanged).
int cmd_reload(const std::string& socket, const std::string& manifest, const Common& common);
// Removes device_tun's kill switch for DEVICE (nftables table inet
// vpnhostks_<DEVICE>) and route_all's policy rules and table routes (every
// rule and route of protocol 118 in this network namespace): exit 0 (also
// when there is none), 1 when nft or netlink fails.
int cmd_unblock(const std::string& device, const std::string& nft);

}  // namespace vpnhost::app
