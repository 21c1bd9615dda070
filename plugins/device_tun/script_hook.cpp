#include "script_hook.hpp"

#include "run_program.hpp"
#include "tun_config.hpp"

namespace device_tun {

using vpnsdk::ipv4::to_string;

std::vector<std::string> script_environment(const ScriptContext& c, const std::string& type) {
  const vpnsdk::ipv4::Prefix net{0, c.self.prefix_len};
  std::vector<std::string> env = {
      "script_type=" + type,
      "dev=" + c.ifname,
      "dev_type=tun",
      "tun_mtu=" + std::to_string(c.mtu),
      "ifconfig_local=" + to_string(c.self.address),
      "ifconfig_netmask=" + to_string(net.mask()),
      "route_vpn_gateway=" + to_string(c.self.server),
      "VPNHOST_ROUTE_ALL=" + std::string(c.route_all ? "1" : "0"),
  };
  std::string dns, routes;
  for (std::size_t i = 0; i < c.self.dns.size(); ++i) {
    env.push_back("foreign_option_" + std::to_string(i + 1) + "=dhcp-option DNS " + to_string(c.self.dns[i]));
    dns += (i == 0 ? "" : " ") + to_string(c.self.dns[i]);
  }
  for (const auto& p : c.routes) routes += (routes.empty() ? "" : " ") + prefix_text(p);
  env.push_back("VPNHOST_DNS=" + dns);
  env.push_back("VPNHOST_ROUTES=" + routes);
  if (c.net_gateway != 0) env.push_back("route_net_gateway=" + to_string(c.net_gateway));
  if (c.trusted_ip != 0) env.push_back("trusted_ip=" + to_string(c.trusted_ip));
  return env;
}

vpnsdk::Status run_script(const std::string& path, const std::string& type, const ScriptContext& c, int timeout_s,
                          const std::shared_ptr<spdlog::logger>& log) {
  const vpnsdk::ipv4::Prefix net{0, c.self.prefix_len};
  const std::vector<std::string> argv = {path,
                                         c.ifname,
                                         std::to_string(c.mtu),
                                         std::to_string(c.mtu),
                                         to_string(c.self.address),
                                         to_string(net.mask()),
                                         "init"};
  const auto limit = std::chrono::seconds(timeout_s);
  if (log) log->info("running {} script {}", type, path);
  RunResult r = run_program(argv, script_environment(c, type), {}, limit);
  if (log) {
    std::size_t start = 0;
    while (start < r.output.size()) {
      std::size_t end = r.output.find('\n', start);
      if (end == std::string::npos) end = r.output.size();
      if (end > start) log->info("{} script: {}", type, r.output.substr(start, end - start));
      start = end + 1;
    }
  }
  if (r.ok()) return {};
  std::string msg = type + " script " + path + " " + r.describe(limit);
  if (const std::string line = r.last_line(); !line.empty()) msg += " (last output: " + line + ")";
  return vpnsdk::Status::error(vpnsdk::Code::io, msg);
}

}  // namespace device_tun
