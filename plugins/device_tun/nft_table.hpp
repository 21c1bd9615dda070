// The nftables table a gateway owns: `table inet vpnhost_<device>`, made and
// removed as one `nft -f -` transaction each (no rule outside it is touched).
#pragma once
#include <string>

#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

// "vpnhost_" + the interface name with every character nft does not allow
// in a bare name turned into '_' (vh12-t1 -> vpnhost_vh12_t1).
std::string nft_table_name(const std::string& tun_ifname);
// `prefix` + `name` with every character nft does not allow in a table name
// replaced by '_' (nft_table_name and the kill switch's table use it).
std::string nft_safe_name(const std::string& prefix, const std::string& name);

// Replaces any table of that name (a stale one from a crashed run) with:
//   postrouting (nat, srcnat): ip saddr <net> oifname <out> masquerade
//   forward (filter): <tun> -> <out> from <net> accept;
//                     any interface but <tun> -> <tun> established,related accept;
//                     any interface but <tun> -> <tun> anything else drop
std::string masquerade_script(const std::string& table, const std::string& tun, const std::string& out,
                              const vpnsdk::ipv4::Prefix& net);
// Deletes the table if it exists (no error if it does not).
std::string delete_script(const std::string& table);

// Runs `<nft> -f -` with the script (10 s bound). Code::config if nft is
// missing, Code::io if it fails (its message included).
vpnsdk::Status run_nft(const std::string& nft, const std::string& script);

}  // namespace device_tun
