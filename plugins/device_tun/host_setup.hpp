// Everything device_tun changes on the host beyond the TUN device itself,
// made in order and undone in reverse:
//   1. undo what a crashed earlier run left (its state file);
//   2. gateway: nftables table + ip_forward            (masquerade)
//   3. routes: underlay host routes, tunnel routes      (route_all / routes)
//   4. the up script                                    (up)
// undo(): the down script, routes, gateway, state file.
// Between start and stop the tunnel may go down and come back (the host
// reconnects): tunnel_down() and resume() apply on_tunnel_down.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "client_routes.hpp"
#include "kill_switch.hpp"
#include "script_hook.hpp"
#include "state_file.hpp"
#include "tun_config.hpp"
#include "tunnel_watch.hpp"
#include "vpnsdk/counters.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

class HostSetup {
 public:
  HostSetup(const TunConfig& cfg, boost::asio::io_context& io, std::shared_ptr<spdlog::logger> log,
            vpnsdk::Counters& counters);
  ~HostSetup() {
    undo();
    kill_switch_off();
  }
  HostSetup(const HostSetup&) = delete;
  HostSetup& operator=(const HostSetup&) = delete;

  // For the configured TUN `ifname`; on failure everything it did is undone.
  vpnsdk::Status apply(const std::string& ifname, const vpnsdk::Assignment& self, std::uint16_t mtu);
  // The host started the device again with the same assignment (a
  // reconnect): underlay routes follow the server's address, tunnel routes
  // taken away by fallback come back. Scripts do not run again.
  vpnsdk::Status resume();
  // The tunnel is down (the transport's connection is gone): block keeps
  // the tunnel routes, fallback removes them until resume().
  void tunnel_down() noexcept;
  // Idempotent; never throws.
  void undo() noexcept;

  // The kill switch (kill_switch.hpp): wanted by the options; made before
  // the first connection when keep_route_to names the server (else at the
  // first apply()); kept up to date by apply() and resume(); removed only
  // by kill_switch_off() (a clean exit), never by undo().
  bool kill_switch_wanted() const { return kill_switch_.wanted(); }
  void kill_switch_early() noexcept;
  void kill_switch_off() noexcept { kill_switch_.remove(log_); }

 private:
  vpnsdk::Status recover_stale();  // a state file that load() refuses: an error, nothing done
  void settle_state_file() noexcept;
  void watch_tunnel();
  vpnsdk::Status kill_switch_update(const std::string& ifname);

  const TunConfig& cfg_;
  std::shared_ptr<spdlog::logger> log_;
  std::optional<StateFile> file_;
  State state_;
  ClientRoutes routes_;
  TunnelWatch watch_;
  KillSwitch kill_switch_;
  std::string ifname_;
  std::optional<ScriptContext> up_done_;  // the up script ran with this; down gets the same
  std::uint64_t& routes_added_;
  std::uint64_t& scripts_run_;
  std::uint64_t& scripts_failed_;
  std::uint64_t& stale_recovered_;
  std::uint64_t& tunnel_down_;
};

}  // namespace device_tun
