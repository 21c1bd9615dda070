#include "policy_routing.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "policy_rules.hpp"
#include "transport_peers.hpp"

namespace device_tun {

using vpnsdk::Code;
using vpnsdk::Status;

namespace {

bool gone(int err) { return err == 0 || err == ENOENT || err == ESRCH; }

// Why an EEXIST: the table or the priorities are someone else's.
std::string taken(const TunConfig& cfg) {
  return "exists already: another route_all client in this network namespace, or another program, uses "
         "route_table " + std::to_string(cfg.policy.table) + " or route_rule_priority " +
         std::to_string(cfg.policy.priority) + "; give this one others (device.route_table, "
         "device.route_rule_priority)";
}

}  // namespace

void delete_listed_policy(State& state, const std::shared_ptr<spdlog::logger>& log) noexcept {
  try {
    for (auto it = state.rules.rbegin(); it != state.rules.rend(); ++it)
      if (const int err = rule_del(*it); !gone(err) && log)
        log->error("cannot delete rule {}: {}", it->text(), std::strerror(err));
    for (const Unreachable6& u : state.unreachable6)
      if (const int err = unreachable6_del(u); !gone(err) && log)
        log->error("cannot delete route {}: {}", u.text(), std::strerror(err));
    if (log && !state.rules.empty()) log->info("policy routing removed: {} rule(s)", state.rules.size());
    if (log && !state.unreachable6.empty()) log->info("IPv6 block removed");
    state.rules.clear();
    state.unreachable6.clear();
  } catch (...) {
  }
}

void PolicyRouting::attach(const TunConfig& cfg, int tun_index, std::uint32_t self, const StateFile& file,
                           State& state) {
  cfg_ = &cfg;
  file_ = &file;
  state_ = &state;
  default_ = Route{};
  default_.dst = 0;
  default_.length = 0;
  default_.oif = tun_index;
  default_.prefsrc = self;
  default_.table = cfg.policy.table;
  default_.protocol = kPolicyProtocol;
  table_made_ = ipv6_ = routing_ = false;
  routes_made_ = 0;
}

// Listed before it exists: a crash right after leaves nothing unlisted.
Status PolicyRouting::add(const Rule& r) {
  state_->pid = ::getpid();
  state_->rules.push_back(r);
  if (std::string err = file_->save(*state_); !err.empty()) {
    state_->rules.pop_back();
    return Status::error(Code::io, err);
  }
  const int err = rule_add(r);
  if (err == 0) return {};
  state_->rules.pop_back();
  file_->save(*state_);
  return Status::error(Code::io, "cannot add rule " + r.text() + ": " +
                                     (err == EEXIST ? "such a rule " + taken(*cfg_) : std::strerror(err)));
}

// Only a listed one; unlisted once it is gone (one that cannot be deleted
// stays listed).
void PolicyRouting::remove(const Rule& r, const std::shared_ptr<spdlog::logger>& log) noexcept {
  try {
    if (std::find(state_->rules.begin(), state_->rules.end(), r) == state_->rules.end()) return;
    if (const int err = rule_del(r); !gone(err)) {
      if (log) log->error("cannot delete rule {}: {}", r.text(), std::strerror(err));
      return;
    }
    state_->rules.erase(std::remove(state_->rules.begin(), state_->rules.end(), r), state_->rules.end());
    if (std::string err = file_->save(*state_); !err.empty() && log) log->error("{}", err);
  } catch (...) {
  }
}

Status PolicyRouting::keep_server(std::uint32_t server, const std::shared_ptr<spdlog::logger>& log) {
  if (!attached()) return {};
  const Rule r = server_rule(cfg_->policy, server);
  if (std::find(state_->rules.begin(), state_->rules.end(), r) != state_->rules.end()) return {};
  if (Status s = add(r); !s) return s;
  if (log) log->debug("rule {}: the server's address stays with the main table", r.text());
  return {};
}

void PolicyRouting::drop_servers_except(const std::vector<std::uint32_t>& wanted,
                                        const std::shared_ptr<spdlog::logger>& log) {
  if (!attached()) return;
  std::vector<Rule> keep;
  for (std::uint32_t a : wanted) keep.push_back(server_rule(cfg_->policy, a));
  const std::vector<Rule> listed = state_->rules;
  for (const Rule& r : listed) {
    const bool server = !r.ipv6 && r.table == 254 && r.priority == cfg_->policy.priority;
    if (server && std::find(keep.begin(), keep.end(), r) == keep.end()) {
      remove(r, log);
      if (log) log->info("rule {} no longer needed: deleted", r.text());
    }
  }
}

Status PolicyRouting::up(const std::shared_ptr<spdlog::logger>& log) {
  if (!attached() || routing_) return {};
  if (!table_made_) {
    if (const int err = route_add(default_); err != 0)
      return Status::error(Code::io, "cannot add route " + default_.text() + ": " +
                                         (err == EEXIST ? "a default route in that table " + taken(*cfg_)
                                                        : std::strerror(err)));
    table_made_ = true;
    ++routes_made_;
    ipv6_ = cfg_->block_ipv6 && block_ipv6(log);
    if (ipv6_) ++routes_made_;
  }
  if (Status s = add(table_rule(cfg_->policy, false)); !s) return s;
  if (ipv6_)
    if (Status s = add(table_rule(cfg_->policy, true)); !s && log)
      log->warn("route_all: IPv6 is not blocked: {}", s.message);
  routing_ = true;
  if (log)
    log->info("all traffic through {} but the server's: policy rules {}-{} ahead of the main table, table {}{}",
              ifname_of(default_.oif), cfg_->policy.priority, cfg_->policy.priority + 2, cfg_->policy.table,
              ipv6_ ? "; IPv6 unreachable but link-local and multicast" : "");
  return {};
}

// The tunnel carries IPv4 only: with route_all, IPv6 would leave around it.
// An unreachable default in the table, looked up before main: an IPv6
// route in main (a router advertisement's, even the local network's) is
// never reached; link-local and multicast (neighbour discovery) go to
// main first.
bool PolicyRouting::block_ipv6(const std::shared_ptr<spdlog::logger>& log) {
  if (has_connected_ipv6_peer()) {
    if (log) log->warn("route_all: IPv6 not blocked: the connection to the server itself uses IPv6");
    return false;
  }
  const Unreachable6 block = ipv6_block(cfg_->policy);
  state_->unreachable6.push_back(block);  // listed first: it outlives the TUN device
  if (std::string err = file_->save(*state_); !err.empty()) {
    state_->unreachable6.pop_back();
    if (log) log->error("route_all: IPv6 not blocked: {}", err);
    return false;
  }
  std::string why;
  if (const int err = unreachable6_add(block); err != 0) {
    state_->unreachable6.pop_back();
    file_->save(*state_);
    if (err == EAFNOSUPPORT || err == EOPNOTSUPP) {
      if (log) log->debug("no IPv6 in this kernel: nothing to block");
      return false;
    }
    why = block.text() + ": " + std::strerror(err);
  } else {
    for (const Rule& r : ipv6_exception_rules(cfg_->policy))
      if (Status s = add(r); !s) {
        why = s.message;
        break;
      }
    if (why.empty()) return true;
    unblock_ipv6(log);
  }
  if (log) log->warn("route_all: cannot block IPv6 ({}); IPv6 traffic is not covered by the tunnel", why);
  return false;
}

void PolicyRouting::unblock_ipv6(const std::shared_ptr<spdlog::logger>& log) noexcept {
  try {
    for (const Rule& r : ipv6_exception_rules(cfg_->policy)) remove(r, log);
    const Unreachable6 block = ipv6_block(cfg_->policy);
    if (const int err = unreachable6_del(block); !gone(err)) {
      if (log) log->error("cannot delete route {}: {}", block.text(), std::strerror(err));
      return;  // stays listed
    }
    auto& list = state_->unreachable6;
    list.erase(std::remove(list.begin(), list.end(), block), list.end());
    file_->save(*state_);
  } catch (...) {
  }
}

void PolicyRouting::suspend(const std::shared_ptr<spdlog::logger>& log) noexcept {
  if (!attached() || !routing_) return;
  if (ipv6_) remove(table_rule(cfg_->policy, true), log);
  remove(table_rule(cfg_->policy, false), log);
  routing_ = false;
}

void PolicyRouting::down(const std::shared_ptr<spdlog::logger>& log) noexcept {
  if (!attached()) return;
  try {
    delete_listed_policy(*state_, log);
    if (std::string err = file_->save(*state_); !err.empty() && log) log->error("{}", err);
    if (table_made_)
      if (const int err = route_del(default_); !gone(err) && log)
        log->error("cannot delete route {}: {}", default_.text(), std::strerror(err));
  } catch (...) {
  }
  cfg_ = nullptr;
  file_ = nullptr;
  state_ = nullptr;
  table_made_ = ipv6_ = routing_ = false;
  routes_made_ = 0;
}

}  // namespace device_tun
