#include "nft_table.hpp"

#include "run_program.hpp"
#include "tun_config.hpp"

namespace device_tun {

using vpnsdk::Code;
using vpnsdk::Status;

std::string nft_safe_name(const std::string& prefix, const std::string& name) {
  std::string out = prefix;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

std::string nft_table_name(const std::string& tun_ifname) { return nft_safe_name("vpnhost_", tun_ifname); }

std::string masquerade_script(const std::string& table, const std::string& tun, const std::string& out,
                              const vpnsdk::ipv4::Prefix& net) {
  const std::string n = prefix_text(net);
  const std::string t = "\"" + tun + "\"", o = "\"" + out + "\"";
  return delete_script(table) +
         "table inet " + table + " {\n"
         "  chain postrouting {\n"
         "    type nat hook postrouting priority srcnat; policy accept;\n"
         "    ip saddr " + n + " oifname " + o + " masquerade\n"
         "  }\n"
         "  chain forward {\n"
         "    type filter hook forward priority filter; policy accept;\n"
         "    iifname " + t + " oifname " + o + " ip saddr " + n + " accept\n"
         "    iifname != " + t + " oifname " + t + " ct state established,related accept\n"
         "    iifname != " + t + " oifname " + t + " drop\n"
         "  }\n"
         "}\n";
}

std::string delete_script(const std::string& table) {
  // "table" creates it if missing, so the delete always has something to delete.
  return "table inet " + table + "\ndelete table inet " + table + "\n";
}

Status run_nft(const std::string& nft, const std::string& script) {
  const std::string path = find_program(nft);
  if (path.empty())
    return Status::error(Code::config, "the nft command ('" + nft +
                                           "') was not found in PATH, /usr/sbin or /sbin; install the nftables "
                                           "package (or set device.nft to its path)");
  const auto limit = std::chrono::seconds(10);
  RunResult r = run_program({path, "-f", "-"}, {}, script, limit);
  if (r.ok()) return {};
  std::string msg = path + " -f - " + r.describe(limit);
  // nft prints "<file>:<line>:<col>: Error: ...", then the line and a caret line.
  std::string detail = r.last_line();
  if (auto at = r.output.find("Error:"); at != std::string::npos) {
    auto end = r.output.find('\n', at);
    detail = r.output.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  if (!detail.empty()) msg += ": " + detail;
  return Status::error(Code::io, msg);
}

}  // namespace device_tun
