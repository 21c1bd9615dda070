// The client side's routing through the device, all by rtnetlink:
//  - split tunnel: each of `routes` through the TUN, in the main table;
//  - route_all: policy routing (policy_routing.hpp): rules ahead of the
//    main table send everything to a table of its own, whose default route
//    is the TUN, so that no more specific route in main (TunnelVision) can
//    take traffic out of the tunnel;
//  - before those, a host route to the server's underlay address through
//    the gateway it uses now, whenever the tunnel would cover it (or
//    always, for addresses given in keep_route_to), so the tunnel does not
//    route itself into itself; with route_all also a rule that keeps that
//    address with the main table.
// Tunnel routes go with the TUN device if the process dies; host routes,
// rules and the IPv6 block do not, so they are listed in the state file
// before they are added.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policy_routing.hpp"
#include "route_netlink.hpp"
#include "state_file.hpp"
#include "tun_config.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

class ClientRoutes {
 public:
  // Underlay host routes, then tunnel routes. On failure, whatever was
  // added is removed again.
  vpnsdk::Status up(const TunConfig& cfg, int tun_index, const vpnsdk::Assignment& self, const StateFile& file,
                    State& state, const std::shared_ptr<spdlog::logger>& log);
  // Removes the tunnel routes and state.routes (clearing it). Never throws.
  void down(const StateFile& file, State& state, const std::shared_ptr<spdlog::logger>& log) noexcept;

  // After a reconnect: host routes for the server address(es) in use now
  // (a re-resolved name may give another), the old ones removed.
  vpnsdk::Status refresh_underlay(const StateFile& file, State& state, const std::shared_ptr<spdlog::logger>& log);
  // on_tunnel_down = fallback: the tunnel routes (route_all: the rules that
  // look its table up, IPv6's included) go while the tunnel is down and come
  // back with it. Host routes stay.
  vpnsdk::Status tunnel_routes_up(const std::shared_ptr<spdlog::logger>& log);
  void tunnel_routes_down(const std::shared_ptr<spdlog::logger>& log) noexcept;
  bool tunnel_routes_present() const { return !tunnel_.empty() || policy_.routing(); }

  bool active() const { return cfg_ != nullptr; }
  std::size_t added() const { return added_ + policy_.routes_made(); }
  // The server addresses kept on the underlay (for the tunnel watch and the
  // scripts' trusted_ip), and the underlay gateway (route_net_gateway).
  const std::vector<std::uint32_t>& kept() const { return kept_; }
  std::uint32_t net_gateway() const { return net_gateway_; }

 private:
  std::vector<std::uint32_t> wanted_underlay() const;
  vpnsdk::Status keep(std::uint32_t address, const StateFile& file, State& state,
                      const std::shared_ptr<spdlog::logger>& log);

  const TunConfig* cfg_ = nullptr;
  int tun_index_ = 0;
  vpnsdk::Assignment self_;
  PolicyRouting policy_;                    // route_all
  std::vector<vpnsdk::ipv4::Prefix> nets_;  // what goes through the TUN in the main table (split tunnel)
  std::vector<Route> tunnel_;               // added through the TUN, in order
  std::vector<std::uint32_t> kept_;
  std::size_t added_ = 0;
  std::uint32_t net_gateway_ = 0;
};

// Everything listed in a state file that ClientRoutes made (host routes,
// policy rules, IPv6 block routes): deleted (gone already is fine).
void delete_listed_routing(State& state, const std::shared_ptr<spdlog::logger>& log) noexcept;

}  // namespace device_tun
