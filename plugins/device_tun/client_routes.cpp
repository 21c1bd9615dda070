#include "client_routes.hpp"

#include <unistd.h>

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

}  // namespace

void delete_host_routes(State& state, const std::shared_ptr<spdlog::logger>& log) noexcept {
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
  std::vector<Prefix> nets;
  if (cfg.route_all) {
    nets.push_back({0x00000000u, 1});
    nets.push_back({0x80000000u, 1});
  }
  nets.insert(nets.end(), cfg.routes.begin(), cfg.routes.end());

  if (Status s = keep_underlay(cfg, tun_index, nets, file, state, log); !s) {
    down(file, state, log);
    return s;
  }
  for (const Prefix& p : nets) {
    Route r;
    r.dst = p.network;
    r.length = p.length;
    r.oif = tun_index;
    r.prefsrc = self.address;
    const int err = route_add(r);
    if (err != 0) {
      std::string why = std::strerror(err);
      if (err == EEXIST) why = "a route to " + prefix_text(p) + " exists already (another VPN, or a local network?)";
      down(file, state, log);
      return Status::error(Code::io, "cannot add route " + r.text() + ": " + why);
    }
    tunnel_.push_back(r);
    ++added_;
  }
  if (log && !nets.empty())
    log->info("{} through {}: {} route(s){}", cfg.route_all ? "all traffic" : "split tunnel", ifname_of(tun_index),
              nets.size(), cfg.route_all ? " (0.0.0.0/1, 128.0.0.0/1)" : "");
  return {};
}

Status ClientRoutes::keep_underlay(const TunConfig& cfg, int tun_index, const std::vector<Prefix>& covered,
                                   const StateFile& file, State& state,
                                   const std::shared_ptr<spdlog::logger>& log) {
  const bool automatic = cfg.keep_route_to.empty();
  std::vector<std::uint32_t> keep;
  if (automatic) {
    for (std::uint32_t a : connected_ipv4_peers())
      if (covered_by(covered, a)) keep.push_back(a);
    if (keep.empty() && cfg.route_all)
      return Status::error(Code::config,
                           "route_all: cannot tell the server's underlay address (this process has no connected "
                           "socket); set device.keep_route_to = [\"<the server's address>\"]");
  } else {
    keep = cfg.keep_route_to;
  }
  for (std::uint32_t a : keep) {
    Lookup lk;
    if (int err = route_get(a, lk); err != 0)
      return Status::error(Code::io, "no route to the server's address " + to_string(a) + ": " + std::strerror(err));
    if (lk.local) {
      if (log) log->debug("{} is an address of this host: no route to keep", to_string(a));
      continue;
    }
    if (!lk.unicast) return Status::error(Code::io, "the server's address " + to_string(a) + " is unreachable");
    if (lk.oif == tun_index)
      return Status::error(Code::config, "the server's address " + to_string(a) + " is routed through " +
                                             ifname_of(tun_index) + " itself; set a route to it first");
    Route r;
    r.dst = a;
    r.length = 32;
    r.gateway = lk.gateway;
    r.oif = lk.oif;
    if (net_gateway_ == 0) net_gateway_ = lk.gateway;
    if (server_ == 0) server_ = a;
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
      continue;
    }
    if (err != 0) {
      state.routes.pop_back();
      file.save(state);
      return Status::error(Code::io, "cannot add route " + r.text() + ": " + std::strerror(err));
    }
    ++added_;
    if (log) log->info("underlay route kept: {} ({})", r.text(), automatic ? "the transport's peer" : "keep_route_to");
  }
  return {};
}

void ClientRoutes::down(const StateFile& file, State& state, const std::shared_ptr<spdlog::logger>& log) noexcept {
  (void)file;
  try {
    for (auto it = tunnel_.rbegin(); it != tunnel_.rend(); ++it) {
      const int err = route_del(*it);
      if (err != 0 && err != ESRCH && log) log->error("cannot delete route {}: {}", it->text(), std::strerror(err));
    }
    if (log && !tunnel_.empty()) log->info("{} route(s) through the tunnel removed", tunnel_.size());
    tunnel_.clear();
  } catch (...) {
  }
  delete_host_routes(state, log);
  added_ = 0;
  net_gateway_ = 0;
  server_ = 0;
}

}  // namespace device_tun
