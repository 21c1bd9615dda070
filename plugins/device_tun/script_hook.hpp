// The up/down script hooks, with the environment OpenVPN scripts expect
// (docs/gateway.md lists every variable).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

struct ScriptContext {
  std::string ifname;
  vpnsdk::Assignment self;
  std::uint16_t mtu = 0;
  bool route_all = false;
  std::vector<vpnsdk::ipv4::Prefix> routes;
  std::uint32_t net_gateway = 0;   // the underlay's gateway toward the server (0: unknown / on-link)
  std::uint32_t trusted_ip = 0;    // the server's underlay address (0: unknown)
};

// NAME=value entries for a script of this type ("up" or "down").
std::vector<std::string> script_environment(const ScriptContext& c, const std::string& type);

// Runs `path dev mtu mtu ifconfig_local ifconfig_netmask init` with that
// environment, at most timeout_s seconds; every output line is logged
// (info). Code::io with the exit status and the last output line on failure.
vpnsdk::Status run_script(const std::string& path, const std::string& type, const ScriptContext& c, int timeout_s,
                          const std::shared_ptr<spdlog::logger>& log);

}  // namespace device_tun
