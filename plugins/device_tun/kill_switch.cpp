#include "kill_switch.hpp"

#include <algorithm>

#include "nft_table.hpp"
#include "vpnsdk/ipv4.hpp"

namespace device_tun {

using vpnsdk::Status;

std::string kill_switch_table_name(const std::string& configured_name) {
  return nft_safe_name("vpnhostks_", configured_name);
}

std::string kill_switch_script(const std::string& table, const std::string& tun,
                               const std::vector<std::uint32_t>& servers) {
  std::string t = tun;
  if (auto at = t.find("%d"); at != std::string::npos) t = t.substr(0, at) + "*";
  std::string script = delete_script(table) +
                       "table inet " + table + " {\n"
                       "  chain output {\n"
                       "    type filter hook output priority filter; policy drop;\n"
                       "    oifname \"lo\" accept\n"
                       "    oifname \"" + t + "\" accept\n";
  if (!servers.empty()) {
    script += "    ip daddr { ";
    for (std::size_t i = 0; i < servers.size(); ++i)
      script += (i == 0 ? "" : ", ") + vpnsdk::ipv4::to_string(servers[i]);
    script += " } accept\n";
  }
  script += "    udp sport 68 udp dport 67 accept\n"
            "  }\n"
            "}\n";
  return script;
}

Status KillSwitch::set(const std::string& tun, std::vector<std::uint32_t> servers,
                       const std::shared_ptr<spdlog::logger>& log) {
  std::sort(servers.begin(), servers.end());
  servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
  if (installed_ && tun == tun_ && servers == servers_) return {};
  if (Status s = run_nft(cfg_.nft, kill_switch_script(table_, tun, servers)); !s)
    return Status::error(s.code, "kill switch: cannot make nftables table inet " + table_ + ": " + s.message);
  const bool first = !installed_;
  installed_ = true;
  tun_ = tun;
  servers_ = servers;
  if (log) {
    std::string list;
    for (std::uint32_t a : servers_) list += (list.empty() ? "" : ", ") + vpnsdk::ipv4::to_string(a);
    log->info("kill switch {}: nftables table inet {} lets out only lo, {} and the server ({}); it stays after a "
              "crash until the next start or `vpnhost unblock {}`",
              first ? "on" : "updated", table_, tun_, list.empty() ? "none known yet" : list, cfg_.name);
  }
  return {};
}

void KillSwitch::remove(const std::shared_ptr<spdlog::logger>& log) noexcept {
  try {
    if (!installed_) return;
    installed_ = false;
    if (Status s = run_nft(cfg_.nft, delete_script(table_)); !s) {
      if (log) log->error("kill switch: cannot delete nftables table inet {}: {}", table_, s.message);
    } else if (log) {
      log->info("kill switch off: nftables table inet {} deleted", table_);
    }
  } catch (...) {
  }
}

}  // namespace device_tun
