#include "client_routes.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "transport_peers.hpp"

namespace device_tun {

using vpnsdk::Code;
using vpnsdk::Status;
using vpnsdk::ipv4::Prefix;
using vpnsdk::ipv4::to_string;

namespace {

bool covered_by(const std::vector<Prefix>& nets, std::uint32_t a) {
  for (const auto& p : nets)
    if (p.contains(a)) return true;
  return false;
}

bool contains(const std::vector<std::uint32_t>& v, std::uint32_t a) { return std::find(v.begin(), v.end(), a) != v.end(); }

}  // namespace

void delete_listed_routing(State& state, const std::shared_ptr<spdlog::logger>& log) noexcept {
  delete_listed_policy(state, log);  // the rules first: they name the routes' table
  try {
    for (const Route& r : state.routes) {
      const int err = route_del(r);
      if (err != 0 && err != ESRCH) {
        if (log) log->error("cannot delete route {}: {}", r.text(), std::strerror(err));
      } else if (log) {
        log->info("route {} deleted", r.text());
      }
    }
    state.routes.clear();
  } catch (...) {
  }
}

Status ClientRoutes::up(const TunConfig& cfg, int tun_index, const vpnsdk::Assignment& self, const StateFile& file,
                        State& state, const std::shared_ptr<spdlog::logger>& log) {
  cfg_ = &cfg;
  tun_index_ = tun_index;
  self_ = self;
  nets_ = cfg.routes;
  if (cfg.route_all) policy_.attach(cfg, tun_index, self.address, file, state);

  const std::vector<std::uint32_t> wanted = wanted_underlay();
  if (wanted.empty() && cfg.route_all) {
    down(file, state, log);
    return Status::error(Code::config,
                         "route_all: cannot tell the server's underlay address (this process has no connected "
                         "socket); set device.keep_route_to = [\"<the server's address>\"]");
  }
  for (std::uint32_t a : wanted) {
    if (Status s = keep(a, file, state, log); !s) {
      down(file, state, log);
      return s;
    }
  }
  if (Status s = tunnel_routes_up(log); !s) {
    down(file, state, log);
    return s;
  }
  return {};
}

// keep_route_to as given, or the transport's peers that the tunnel covers.
std::vector<std::uint32_t> ClientRoutes::wanted_underlay() const {
  if (!cfg_->keep_route_to.empty()) return cfg_->keep_route_to;
  std::vector<std::uint32_t> out;
  for (std::uint32_t a : connected_ipv4_peers())
    if (cfg_->route_all || covered_by(nets_, a)) out.push_back(a);
  return out;
}

Status ClientRoutes::keep(std::uint32_t a, const StateFile& file, State& state,
                          const std::shared_ptr<spdlog::logger>& log) {
  // route_all: the rule first, so that the lookup finds the main table's way.
  if (Status s = policy_.keep_server(a, log); !s) return s;
  Lookup lk;
  if (int err = route_get(a, lk); err != 0)
    return Status::error(Code::io, "no route to the server's address " + to_string(a) + ": " + std::strerror(err));
  if (lk.local) {
    if (log) log->debug("{} is an address of this host: no route to keep", to_string(a));
    return {};
  }
  if (lk.unicast && lk.oif == tun_index_ && !state.routes.empty()) {
    // After a reconnect to another address while our routes are in place:
    // the underlay way out is the one the kept routes use.
    lk.gateway = state.routes.front().gateway;
    lk.oif = state.routes.front().oif;
  } else if (lk.oif == tun_index_) {
    return Status::error(Code::config, "the server's address " + to_string(a) + " is routed through " +
                                           ifname_of(tun_index_) + " itself; add a route to it first");
  }
  if (!lk.unicast) return Status::error(Code::io, "the server's address " + to_string(a) + " is unreachable");
  Route r;
  r.dst = a;
  r.length = 32;
  r.gateway = lk.gateway;
  r.oif = lk.oif;
  if (!contains(kept_, a)) kept_.push_back(a);
  if (net_gateway_ == 0) net_gateway_ = lk.gateway;
  // Listed before it exists: a crash right after leaves nothing unlisted.
  state.pid = ::getpid();
  state.routes.push_back(r);
  if (std::string err = file.save(state); !err.empty()) {
    state.routes.pop_back();
    return Status::error(Code::io, err);
  }
  const int err = route_add(r);
  if (err == EEXIST) {
    state.routes.pop_back();  // someone else's: left alone, not ours to remove
    file.save(state);
    if (log) log->info("route {} exists already: kept as it is", r.text());
    return {};
  }
  if (err != 0) {
    state.routes.pop_back();
    file.save(state);
    return Status::error(Code::io, "cannot add route " + r.text() + ": " + std::strerror(err));
  }
  ++added_;
  if (log)
    log->info("underlay route kept: {} ({})", r.text(),
              cfg_->keep_route_to.empty() ? "the transport's peer" : "keep_route_to");
  return {};
}

Status ClientRoutes::refresh_underlay(const StateFile& file, State& state,
                                      const std::shared_ptr<spdlog::logger>& log) {
  if (!active()) return {};
  const std::vector<std::uint32_t> wanted = wanted_underlay();
  for (std::uint32_t a : wanted) {
    const bool have = std::any_of(state.routes.begin(), state.routes.end(), [&](const Route& r) { return r.dst == a; });
    if (!have)
      if (Status s = keep(a, file, state, log); !s) return s;
  }
  if (wanted.empty()) return {};  // nothing connected now: keep what we have
  for (auto it = state.routes.begin(); it != state.routes.end();) {
    if (contains(wanted, it->dst)) {
      ++it;
      continue;
    }
    const int err = route_del(*it);
    if (err != 0 && err != ESRCH && log) log->error("cannot delete route {}: {}", it->text(), std::strerror(err));
    if (log) log->info("underlay route {} no longer needed: deleted", it->text());
    kept_.erase(std::remove(kept_.begin(), kept_.end(), it->dst), kept_.end());
    it = state.routes.erase(it);
  }
  file.save(state);
  policy_.drop_servers_except(wanted, log);
  return {};
}

Status ClientRoutes::tunnel_routes_up(const std::shared_ptr<spdlog::logger>& log) {
  if (!active()) return {};
  if (tunnel_.empty() && !nets_.empty()) {
    for (const Prefix& p : nets_) {
      Route r;
      r.dst = p.network;
      r.length = p.length;
      r.oif = tun_index_;
      r.prefsrc = self_.address;
      const int err = route_add(r);
      if (err != 0) {
        std::string why = std::strerror(err);
        if (err == EEXIST) why = "a route to " + prefix_text(p) + " exists already (another VPN, or a local network?)";
        tunnel_routes_down(nullptr);
        return Status::error(Code::io, "cannot add route " + r.text() + ": " + why);
      }
      tunnel_.push_back(r);
      ++added_;
    }
    if (log) log->info("split tunnel through {}: {} route(s)", ifname_of(tun_index_), nets_.size());
  }
  if (Status s = policy_.up(log); !s) {
    tunnel_routes_down(nullptr);
    return s;
  }
  return {};
}

void ClientRoutes::tunnel_routes_down(const std::shared_ptr<spdlog::logger>& log) noexcept {
  policy_.suspend(log);
  try {
    for (auto it = tunnel_.rbegin(); it != tunnel_.rend(); ++it) {
      const int err = route_del(*it);
      if (err != 0 && err != ESRCH && log) log->error("cannot delete route {}: {}", it->text(), std::strerror(err));
    }
    if (log && !tunnel_.empty()) log->info("{} route(s) through the tunnel removed", tunnel_.size());
    tunnel_.clear();
  } catch (...) {
  }
}

void ClientRoutes::down(const StateFile& file, State& state, const std::shared_ptr<spdlog::logger>& log) noexcept {
  (void)file;
  tunnel_routes_down(log);
  policy_.down(log);
  delete_listed_routing(state, log);
  cfg_ = nullptr;
  kept_.clear();
  added_ = 0;
  net_gateway_ = 0;
}

}  // namespace device_tun
