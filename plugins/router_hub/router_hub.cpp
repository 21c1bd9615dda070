// router_hub: the server-side router. Hands each session an address from the
// pool, answers "where does this packet go" with array reads, and enforces
// that a session only sends from the address it was given.
//
// With a cipher that authenticates clients (PeerIdentity with a public key),
// the address is bound to the key: a client gets its fixed address, or else
// the address its key had last time when that is free; and a new session of
// the same key takes the address over from an older session that still
// holds it (the client reconnected before the server noticed the old
// connection die). Since the source check ties every packet to its
// session's address, and a session to one key, this is cryptokey routing.
#include <array>
#include <exception>
#include <string>
#include <unordered_map>

#include "address_pool.hpp"
#include "hub_config.hpp"
#include "vpnsdk/sdk.hpp"

namespace router_hub {
namespace {

using vpnsdk::Code;
using vpnsdk::RouteDecision;
using vpnsdk::Status;
using vpnsdk::ipv4::to_string;

const char* take_problem(AddressPool::Take t) {
  switch (t) {
    case AddressPool::Take::outside: return "outside the network";
    case AddressPool::Take::reserved: return "reserved (network, broadcast or server address)";
    case AddressPool::Take::taken: return "in use by another session";
    case AddressPool::Take::ok: break;
  }
  return "unavailable";
}

class RouterHub final : public vpnsdk::Router {
 public:
  explicit RouterHub(const vpnsdk::HostContext& ctx)
      : log_(ctx.log),
        cfg_(parse_hub_config(*ctx.options)),
        pool_(cfg_.network, cfg_.server, cfg_.pool_start, cfg_.pool_end),
        assigned_(ctx.counters->counter("assigned")),
        released_(ctx.counters->counter("released")),
        pool_full_(ctx.counters->counter("pool_full")),
        fixed_refused_(ctx.counters->counter("fixed_refused")),
        reclaimed_(ctx.counters->counter("reclaimed")),
        sticky_reused_(ctx.counters->counter("sticky_reused")) {
    if (log_)
      log_->info("network {}/{}, server {}, pool {}-{} ({} addresses), mtu {}", to_string(cfg_.network.network),
                 cfg_.network.length, to_string(cfg_.server), to_string(cfg_.pool_start), to_string(cfg_.pool_end),
                 pool_.pool_size(), cfg_.mtu == 0 ? std::string("derived") : "at most " + std::to_string(cfg_.mtu));
  }

  Status assign(const vpnsdk::SessionInfo& info, const vpnsdk::PeerIdentity* who,
                vpnsdk::Assignment& out) override {
    try {
      if (info.id == 0) return Status::error(Code::internal, "router_hub: session id 0 cannot hold an address");
      if (auto held = pool_.address_of(info.id)) {
        fill(out, *held);
        return {};
      }
      const std::string key =
          who != nullptr && !who->public_key.empty() ? std::string(who->public_key.begin(), who->public_key.end()) : "";
      std::uint32_t address = 0;
      if (who != nullptr && who->fixed_address) {
        address = *who->fixed_address;
        auto r = take_for_key(address, info.id, key, who->name);
        if (r != AddressPool::Take::ok) {
          ++fixed_refused_;
          std::string msg = "fixed address " + to_string(address) + " of '" + who->name + "' is " + take_problem(r);
          if (log_) log_->debug("session {}: {}", info.id, msg);
          return Status::error(Code::refused, std::move(msg));
        }
      } else {
        auto last = key.empty() ? sticky_.end() : sticky_.find(key);
        if (last != sticky_.end() && take_for_key(last->second, info.id, key, who->name) == AddressPool::Take::ok) {
          address = last->second;
          ++sticky_reused_;
        } else {
          auto got = pool_.take_lowest(info.id);
          if (!got) {
            ++pool_full_;
            if (log_) log_->debug("session {} from {}: address pool full", info.id, info.peer.to_string());
            return Status::error(Code::refused, "address pool full");
          }
          address = *got;
        }
      }
      if (!key.empty()) remember(info.id, key, address);
      ++assigned_;
      fill(out, address);
      if (log_) log_->debug("session {} from {} assigned {}", info.id, info.peer.to_string(), to_string(address));
      return {};
    } catch (const std::exception& e) {
      return Status::error(Code::internal, std::string("router_hub: assign failed: ") + e.what());
    } catch (...) {
      return Status::error(Code::internal, "router_hub: assign failed");
    }
  }

  void release(vpnsdk::SessionId id) override {
    key_of_.erase(id);
    if (auto address = pool_.release(id)) {
      ++released_;
      if (log_) log_->debug("session {} released {}", id, to_string(*address));
    }
  }

  std::optional<vpnsdk::Assignment> local() const override {
    try {
      vpnsdk::Assignment a;
      fill(a, cfg_.server);
      return a;
    } catch (...) {
      return std::nullopt;
    }
  }

  RouteDecision route(const vpnsdk::PacketBuffer& packet, vpnsdk::SessionId from) override {
    if (packet.size() < vpnsdk::ipv4::kMinHeader) return RouteDecision::drop("ipv4_too_short");
    const auto bytes = packet.bytes();
    if (from != 0) {
      const std::uint32_t src = vpnsdk::ipv4::src_of(bytes);
      if (!pool_.holds(from, src))
        return RouteDecision::drop(pool_.address_of(from) ? "spoofed_source" : "unassigned_session");
    }
    const std::uint32_t dst = vpnsdk::ipv4::dst_of(bytes);
    if (dst == cfg_.server) return RouteDecision::to_local();
    if (!cfg_.network.contains(dst)) return RouteDecision::to_device();
    const vpnsdk::SessionId to = pool_.owner(dst);
    return to != 0 ? RouteDecision::to_session(to) : RouteDecision::drop("no_route");
  }

 private:
  static constexpr std::size_t kMaxRemembered = 65536;

  // pool_.take, except that an address held by an older session of the same
  // key is taken over from it.
  AddressPool::Take take_for_key(std::uint32_t address, vpnsdk::SessionId id, const std::string& key,
                                 const std::string& name) {
    auto r = pool_.take(address, id);
    if (r != AddressPool::Take::taken || key.empty()) return r;
    const vpnsdk::SessionId holder = pool_.owner(address);
    auto it = key_of_.find(holder);
    if (it == key_of_.end() || it->second != key) return r;
    pool_.transfer(address, id);
    key_of_.erase(it);
    ++reclaimed_;
    if (log_)
      log_->info("session {} ('{}') takes {} over from its older session {}", id, name, to_string(address), holder);
    return AddressPool::Take::ok;
  }

  void remember(vpnsdk::SessionId id, const std::string& key, std::uint32_t address) {
    key_of_[id] = key;
    if (sticky_.size() >= kMaxRemembered && sticky_.count(key) == 0) sticky_.erase(sticky_.begin());
    sticky_[key] = address;
  }

  void fill(vpnsdk::Assignment& out, std::uint32_t address) const {
    out.address = address;
    out.prefix_len = cfg_.network.length;
    out.server = cfg_.server;
    out.mtu = cfg_.mtu;
    out.dns = cfg_.dns;
  }

  std::shared_ptr<spdlog::logger> log_;
  HubConfig cfg_;
  AddressPool pool_;
  std::uint64_t& assigned_;
  std::uint64_t& released_;
  std::uint64_t& pool_full_;
  std::uint64_t& fixed_refused_;
  std::uint64_t& reclaimed_;      // addresses taken over from an older session of the same key
  std::uint64_t& sticky_reused_;  // a key got the address it had last time
  std::unordered_map<vpnsdk::SessionId, std::string> key_of_;  // authenticated key of each session
  std::unordered_map<std::string, std::uint32_t> sticky_;       // key -> its last address
};

constexpr std::array<vpnsdk::OptionSpec, 6> kOptions{{
    {"network", vpnsdk::OptionType::string, "10.10.0.0/24", "the tunnel network (at most a /16)"},
    {"server_address", vpnsdk::OptionType::string, "10.10.0.1", "the hub's own address in the network"},
    {"pool_start", vpnsdk::OptionType::string, "",
     "first client address (empty: first host address of the network)"},
    {"pool_end", vpnsdk::OptionType::string, "", "last client address (empty: last host address of the network)"},
    {"mtu", vpnsdk::OptionType::integer, "0",
     "upper bound for the tunnel MTU the host derives (0: none; 576..9000); see [host] mtu"},
    {"dns", vpnsdk::OptionType::string_list, "", "IPv4 resolvers pushed to clients"},
}};
const char* const kProvides[] = {"address-pool", nullptr};

}  // namespace
}  // namespace router_hub

VPNSDK_DEFINE_PLUGIN(router_hub::RouterHub, "router_hub", vpnsdk::Stage::router, "1.0.0",
                     "hub router: assigns addresses from a pool and routes between sessions",
                     router_hub::kOptions, nullptr, router_hub::kProvides)
