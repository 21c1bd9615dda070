#include "host_setup.hpp"

#include <net/if.h>
#include <unistd.h>

#include "gateway.hpp"

namespace device_tun {

using vpnsdk::Code;
using vpnsdk::Status;

HostSetup::HostSetup(const TunConfig& cfg, std::shared_ptr<spdlog::logger> log, vpnsdk::Counters& counters)
    : cfg_(cfg),
      log_(std::move(log)),
      routes_added_(counters.counter("routes_added")),
      scripts_run_(counters.counter("scripts_run")),
      scripts_failed_(counters.counter("scripts_failed")),
      stale_recovered_(counters.counter("stale_state_recovered")) {}

Status HostSetup::apply(const std::string& ifname, const vpnsdk::Assignment& self, std::uint16_t mtu) {
  const bool hub = self.address == self.server;
  if (hub && cfg_.routing())
    return Status::error(Code::config, "route_all and routes are client options: this device carries the hub's "
                                       "own address (" + vpnsdk::ipv4::to_string(self.address) +
                                       "), and the hub routes every tunnel packet itself");
  const int index = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (index == 0) return Status::error(Code::internal, "TUN device " + ifname + " vanished");

  if (!cfg_.masquerade.empty() || cfg_.routing()) {
    file_.emplace(cfg_.state_dir, ifname);
    recover_stale();
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
  settle_state_file();

  ScriptContext ctx;
  ctx.ifname = ifname;
  ctx.self = self;
  ctx.mtu = mtu;
  ctx.route_all = cfg_.route_all;
  ctx.routes = cfg_.routes;
  ctx.net_gateway = routes_.net_gateway();
  ctx.trusted_ip = routes_.server();
  if (!cfg_.up.empty()) {
    ++scripts_run_;
    if (Status s = run_script(cfg_.up, "up", ctx, cfg_.script_timeout_s, log_); !s) {
      ++scripts_failed_;
      undo();
      return s;
    }
  }
  up_done_ = ctx;
  return {};
}

void HostSetup::undo() noexcept {
  try {
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
    // this device lives without a tunnel. undo() is the end of the device
    // (stop(): the host is leaving, after SIGTERM too): both modes give the
    // host its routing back, since no process remains to carry the traffic.
    routes_.down(*file_, state_, log_);
    gateway_down(cfg_, *file_, state_, log_);
    settle_state_file();
  } catch (...) {
  }
}

// An earlier run in this namespace with this device name died without
// cleaning up: undo what its state file lists before doing anything.
void HostSetup::recover_stale() {
  std::string error;
  std::optional<State> stale = file_->load(error);
  if (!stale) return;
  if (!error.empty()) {
    if (log_) log_->warn("{}: ignored and removed", error);
    file_->remove();
    return;
  }
  ++stale_recovered_;
  if (log_)
    log_->warn("an earlier vpnhost (pid {}) left {} behind: undoing it (table {}, ip_forward {}, {} route(s))",
               stale->pid, file_->path(), stale->nft_table.empty() ? "-" : stale->nft_table,
               stale->ip_forward ? *stale->ip_forward : "-", stale->routes.size());
  delete_host_routes(*stale, log_);
  gateway_down(cfg_, *file_, *stale, log_);
  file_->remove();
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
