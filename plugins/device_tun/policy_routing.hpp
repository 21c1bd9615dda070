// route_all's policy routing against the kernel (which rules and routes:
// policy_rules.hpp). Everything of it that outlives the TUN device - every
// rule, the IPv6 block in the table - is listed in the state file before
// it is made and unlisted once it is gone; the table's default route
// through the device goes with the device.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "route_netlink.hpp"
#include "state_file.hpp"
#include "tun_config.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

class PolicyRouting {
 public:
  // For this device and tunnel address; `file` and `state` are HostSetup's.
  void attach(const TunConfig& cfg, int tun_index, std::uint32_t self, const StateFile& file, State& state);
  bool attached() const { return cfg_ != nullptr; }

  // The rule that keeps a server address in the main table. Made before
  // its host route, so that looking up the server's way finds main's.
  vpnsdk::Status keep_server(std::uint32_t server, const std::shared_ptr<spdlog::logger>& log);
  // The rules of server addresses no longer in `wanted` go.
  void drop_servers_except(const std::vector<std::uint32_t>& wanted, const std::shared_ptr<spdlog::logger>& log);

  // The table's routes and IPv6's exceptions (the first time), then the
  // rules that look the table up. IPv4 failures are errors (all of it
  // undone by down()); IPv6 ones only a warning: IPv6 is then not blocked.
  vpnsdk::Status up(const std::shared_ptr<spdlog::logger>& log);
  // on_tunnel_down = fallback: the rules that look the table up go, so the
  // main table routes everything again; up() brings them back.
  void suspend(const std::shared_ptr<spdlog::logger>& log) noexcept;
  bool routing() const { return routing_; }
  std::size_t routes_made() const { return routes_made_; }  // in the table, since attach()
  // All of it, the servers' rules too; detaches. Never throws.
  void down(const std::shared_ptr<spdlog::logger>& log) noexcept;

 private:
  vpnsdk::Status add(const Rule& r);
  void remove(const Rule& r, const std::shared_ptr<spdlog::logger>& log) noexcept;
  bool block_ipv6(const std::shared_ptr<spdlog::logger>& log);
  void unblock_ipv6(const std::shared_ptr<spdlog::logger>& log) noexcept;  // after a failure in block_ipv6

  const TunConfig* cfg_ = nullptr;
  const StateFile* file_ = nullptr;
  State* state_ = nullptr;
  Route default_;              // the table's default route through the device
  bool table_made_ = false;    // default_ (and IPv6's block and exceptions) in place
  bool ipv6_ = false;          // IPv6 blocked
  bool routing_ = false;       // the rules that look the table up are in place
  std::size_t routes_made_ = 0;
};

// The policy rules and IPv6 block routes listed in `state` (this run's, or
// a crashed one's): deleted, rules in reverse order (gone already is
// fine), and the lists cleared. Never throws.
void delete_listed_policy(State& state, const std::shared_ptr<spdlog::logger>& log) noexcept;

}  // namespace device_tun
