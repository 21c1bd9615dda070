#include "host_setup.hpp"

#include <net/if.h>
#include <unistd.h>

#include "gateway.hpp"
#include "transport_peers.hpp"

namespace device_tun {

using vpnsdk::Code;
using vpnsdk::Status;

HostSetup::HostSetup(const TunConfig& cfg, boost::asio::io_context& io, std::shared_ptr<spdlog::logger> log,
                     vpnsdk::Counters& counters)
    : cfg_(cfg),
      log_(std::move(log)),
      watch_(io),
      kill_switch_(cfg),
      routes_added_(counters.counter("routes_added")),
      scripts_run_(counters.counter("scripts_run")),
      scripts_failed_(counters.counter("scripts_failed")),
      stale_recovered_(counters.counter("stale_state_recovered")),
      tunnel_down_(counters.counter("tunnel_down")) {}

Status HostSetup::apply(const std::string& ifname, const vpnsdk::Assignment& self, std::uint16_t mtu) {
  const bool hub = self.address == self.server;
  if (hub && cfg_.routing())
    return Status::error(Code::config, "route_all and routes are client options: this device carries the hub's "
                                       "own address (" + vpnsdk::ipv4::to_string(self.address) +
                                       "), and the hub routes every tunnel packet itself");
  const int index = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (index == 0) return Status::error(Code::internal, "TUN device " + ifname + " vanished");

  if (!cfg_.masquerade.empty() || cfg_.routing()) {
    file_.emplace(cfg_.state_dir, ifname, cfg_.run_uid, cfg_.policy);
    if (Status s = recover_stale(); !s) {
      file_.reset();  // left as it is, for whoever looks into it
      return s;
    }
    state_ = State{};
    state_.pid = ::getpid();
  }
  if (!cfg_.masquerade.empty()) {
    const vpnsdk::ipv4::Prefix net{self.address & vpnsdk::ipv4::Prefix{0, self.prefix_len}.mask(), self.prefix_len};
    if (Status s = gateway_up(cfg_, ifname, net, *file_, state_, log_); !s) {
      undo();
      return s;
    }
  }
  if (cfg_.routing()) {
    Status s = routes_.up(cfg_, index, self, *file_, state_, log_);
    routes_added_ += routes_.added();
    if (!s) {
      undo();
      return s;
    }
  }
  ifname_ = ifname;
  if (Status s = kill_switch_update(ifname); !s) {
    undo();
    return s;
  }
  settle_state_file();

  ScriptContext ctx;
  ctx.ifname = ifname;
  ctx.self = self;
  ctx.mtu = mtu;
  ctx.route_all = cfg_.route_all;
  ctx.routes = cfg_.routes;
  ctx.net_gateway = routes_.net_gateway();
  ctx.trusted_ip = routes_.kept().empty() ? 0 : routes_.kept().front();
  if (ctx.trusted_ip == 0 && !hub) {
    // No host route kept (a split tunnel whose routes do not cover the
    // server, or no routes at all): the server is still the transport's one
    // connection, as OpenVPN's trusted_ip always names it. Several
    // candidates: unknown rather than a guess.
    const std::vector<std::uint32_t> peers = connected_ipv4_peers();
    if (peers.size() == 1) ctx.trusted_ip = peers.front();
  }
  if (!cfg_.up.empty()) {
    ++scripts_run_;
    if (Status s = run_script(cfg_.up, "up", ctx, cfg_.script_timeout_s, log_); !s) {
      ++scripts_failed_;
      undo();
      return s;
    }
  }
  up_done_ = ctx;
  watch_tunnel();
  return {};
}

Status HostSetup::resume() {
  if (!routes_.active()) return {};
  const std::size_t before = routes_.added();
  Status s = routes_.refresh_underlay(*file_, state_, log_);
  if (s) s = routes_.tunnel_routes_up(log_);
  routes_added_ += routes_.added() - before;
  settle_state_file();
  if (s) s = kill_switch_update(ifname_);
  if (!s) return s;
  if (log_) log_->info("tunnel back: routes through the tunnel in place");
  watch_tunnel();
  return {};
}

void HostSetup::kill_switch_early() noexcept {
  try {
    if (!kill_switch_.wanted() || kill_switch_.installed()) return;
    if (cfg_.keep_route_to.empty()) {
      if (log_)
        log_->warn("kill switch: the server's address is not known before the first connection (keep_route_to is "
                   "empty), so nothing is blocked until then; set device.keep_route_to = [\"<server address>\"] to "
                   "block from start-up on");
      return;
    }
    if (Status s = kill_switch_.set(cfg_.name, cfg_.keep_route_to, log_); !s && log_) log_->error("{}", s.message);
  } catch (...) {
  }
}

// The server's address(es): keep_route_to and the underlay routes kept now.
Status HostSetup::kill_switch_update(const std::string& ifname) {
  if (!kill_switch_.wanted() || !routes_.active()) return {};
  std::vector<std::uint32_t> servers = cfg_.keep_route_to;
  servers.insert(servers.end(), routes_.kept().begin(), routes_.kept().end());
  if (servers.empty())
    for (std::uint32_t a : connected_ipv4_peers()) servers.push_back(a);
  return kill_switch_.set(ifname, servers, log_);
}

// Only fallback needs to know: block leaves the routes on the device, where
// the client's router drops what arrives while there is no session.
void HostSetup::watch_tunnel() {
  if (!routes_.active() || cfg_.on_tunnel_down != OnTunnelDown::fallback) return;
  if (!watch_.watch(routes_.kept(), [this] { tunnel_down(); }) && log_)
    log_->warn("on_tunnel_down = fallback: no connection to the server found to watch; routes stay until stop");
}

void HostSetup::tunnel_down() noexcept {
  try {
    ++tunnel_down_;
    if (!routes_.active()) return;
    if (cfg_.on_tunnel_down == OnTunnelDown::fallback) {
      if (log_) log_->warn("tunnel down: routes through the tunnel removed until it is back (on_tunnel_down = fallback)");
      routes_.tunnel_routes_down(log_);
    } else if (log_) {
      log_->warn("tunnel down: traffic stays on the tunnel and is dropped until it is back (on_tunnel_down = block)");
    }
  } catch (...) {
  }
}

void HostSetup::undo() noexcept {
  try {
    watch_.cancel();
    if (up_done_ && !cfg_.down.empty()) {
      ++scripts_run_;
      if (Status s = run_script(cfg_.down, "down", *up_done_, cfg_.script_timeout_s, log_); !s) {
        ++scripts_failed_;
        if (log_) log_->error("{}", s.message);
      }
    }
    up_done_.reset();
    if (!file_) return;
    // on_tunnel_down (block or fallback) decides what the routes do while
    // this device lives without a tunnel (the host reconnecting). undo() is
    // the end of the device: stop() (the host is leaving, after SIGTERM too)
    // or a new assignment. Both modes give the host its routing back here,
    // since no process remains to carry the traffic.
    routes_.down(*file_, state_, log_);
    gateway_down(cfg_, *file_, state_, log_);
    settle_state_file();
  } catch (...) {
  }
}

// An earlier run in this namespace with this device name died without
// cleaning up: undo what its state file lists before doing anything.
Status HostSetup::recover_stale() {
  std::string error;
  std::optional<State> stale = file_->load(error);
  if (!stale) return {};
  if (!error.empty()) {
    // Its contents would become nft commands and route deletions run as
    // root: a file device_tun could not have written is not acted on.
    if (log_) log_->error("{}: nothing in it was undone", error);
    return Status::error(Code::config, error + "; refusing to start: nothing in it was undone or run. Check what "
                                               "it lists (docs/gateway.md, \"The state file\"), undo that by hand, "
                                               "then remove it");
  }
  ++stale_recovered_;
  if (log_)
    log_->warn("an earlier vpnhost (pid {}) left {} behind: undoing it (table {}, ip_forward {}, {} route(s){})",
               stale->pid, file_->path(), stale->nft_table.empty() ? "-" : stale->nft_table,
               stale->ip_forward ? *stale->ip_forward : "-", stale->routes.size(),
               stale->unreachable6.empty() ? "" : ", IPv6 block");
  delete_listed_routing(*stale, log_);
  gateway_down(cfg_, *file_, *stale, log_);
  file_->remove();
  return {};
}

void HostSetup::settle_state_file() noexcept {
  if (!file_) return;
  try {
    if (state_.empty()) {
      file_->remove();
    } else if (std::string err = file_->save(state_); !err.empty() && log_) {
      log_->error("{}", err);
    }
  } catch (...) {
  }
}

}  // namespace device_tun
