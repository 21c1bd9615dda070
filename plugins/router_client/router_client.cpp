// router_client: everything from the device goes to the server session;
// everything from the server addressed to us goes to the device.
//
// It accepts only an assignment inside a network its own manifest allows
// (accept_networks, min_prefix_len): the address/prefix the server assigns
// becomes a route through the tunnel (the TUN device's connected route), so
// a server, or anyone who answers first with cipher_xor's key, could
// otherwise route e.g. 128.0.0.0/1 through it (200.8.8.8/1). A refusal is
// Code::refused: the host ends the client as for a lasting REJECT (exit 3).
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "vpnsdk/sdk.hpp"

namespace router_client {
namespace {

using vpnsdk::RouteDecision;
using vpnsdk::Status;
using vpnsdk::ipv4::to_string;

std::string text_of(const vpnsdk::ipv4::Prefix& p) { return to_string(p.network) + "/" + std::to_string(p.length); }

class RouterClient final : public vpnsdk::Router {
 public:
  explicit RouterClient(const vpnsdk::HostContext& ctx)
      : log_(ctx.log),
        assignments_(ctx.counters->counter("assignments")),
        refused_(ctx.counters->counter("assignments_refused")) {
    const vpnsdk::Options& o = *ctx.options;
    for (const std::string& text : o.list("accept_networks")) {
      auto p = vpnsdk::ipv4::parse_prefix(text);
      if (!p)
        throw vpnsdk::ConfigError("option 'accept_networks' (" + o.where("accept_networks") + "): \"" + text +
                                  "\" is not an IPv4 network such as 10.0.0.0/8 (prefix 0..32, host bits zero)");
      accept_.push_back(*p);
    }
    const std::int64_t min = o.integer("min_prefix_len");
    if (min < 0 || min > 32)
      throw vpnsdk::ConfigError("option 'min_prefix_len' (" + o.where("min_prefix_len") + ") must be in 0..32, got " +
                                std::to_string(min));
    min_prefix_ = static_cast<std::uint8_t>(min);
  }

  Status assigned(vpnsdk::SessionId id, const vpnsdk::Assignment& self) override {
    if (id == 0) return Status::error(vpnsdk::Code::internal, "router_client: assignment on session id 0");
    if (self.address == 0) return Status::error(vpnsdk::Code::session_fatal, "the server assigned address 0.0.0.0");
    if (std::string why = check(self); !why.empty()) {
      ++refused_;
      return Status::error(vpnsdk::Code::refused, why);
    }
    try {
      self_ = self;
    } catch (...) {
      return Status::error(vpnsdk::Code::internal, "router_client: out of memory");
    }
    session_ = id;
    ++assignments_;
    if (log_)
      log_->debug("session {}: we are {}/{} behind {}", id, to_string(self.address), self.prefix_len,
                  to_string(self.server));
    return {};
  }

  // The session is gone: until the next assignment nothing is routed.
  void release(vpnsdk::SessionId id) override {
    if (id != 0 && id == session_) {
      session_ = 0;
      self_.reset();
    }
  }

  std::optional<vpnsdk::Assignment> local() const override {
    try {
      return self_;
    } catch (...) {
      return std::nullopt;
    }
  }

  // Empty: the assignment lies inside an allowed network; else why not.
  std::string check(const vpnsdk::Assignment& a) const {
    const std::uint8_t len = a.prefix_len > 32 ? 32 : a.prefix_len;
    const vpnsdk::ipv4::Prefix net{a.address & vpnsdk::ipv4::Prefix{0, len}.mask(), len};
    const std::string what = "the server assigned " + to_string(a.address) + "/" + std::to_string(a.prefix_len) +
                             " (server " + to_string(a.server) + "), which would route " + text_of(net) +
                             " through the tunnel";
    if (a.prefix_len < min_prefix_) {
      return what + ": its prefix /" + std::to_string(a.prefix_len) + " is shorter than min_prefix_len " +
             std::to_string(min_prefix_) + " (to accept it, lower router_client's option min_prefix_len)";
    }
    for (const auto& allowed : accept_)
      if (allowed.length <= net.length && allowed.contains(net.network) && allowed.contains(a.server)) return {};
    std::string list;
    for (const auto& allowed : accept_) list += (list.empty() ? "" : ", ") + text_of(allowed);
    return what + ": it is not inside one of accept_networks (" + (list.empty() ? "none" : list) +
           ") together with the server address (to accept it, add its network to router_client's option "
           "accept_networks)";
  }

  RouteDecision route(const vpnsdk::PacketBuffer& packet, vpnsdk::SessionId from) override {
    if (packet.size() < vpnsdk::ipv4::kMinHeader) return RouteDecision::drop("ipv4_too_short");
    if (!self_) return RouteDecision::drop("not_connected");
    const auto bytes = packet.bytes();
    if (from != 0) {
      // From the server: replies from the hub itself and packets of other
      // clients alike carry our address as destination.
      if (from != session_) return RouteDecision::drop("stale_session");
      if (vpnsdk::ipv4::dst_of(bytes) != self_->address) return RouteDecision::drop("not_for_us");
      return RouteDecision::to_device();
    }
    if (vpnsdk::ipv4::src_of(bytes) != self_->address) return RouteDecision::drop("foreign_source");
    return RouteDecision::to_session(session_);
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
  std::uint64_t& assignments_;
  std::uint64_t& refused_;
  std::vector<vpnsdk::ipv4::Prefix> accept_;
  std::uint8_t min_prefix_ = 16;
  vpnsdk::SessionId session_ = 0;
  std::optional<vpnsdk::Assignment> self_;
};

constexpr std::array<vpnsdk::OptionSpec, 2> kOptions{{
    {"accept_networks", vpnsdk::OptionType::string_list, "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10",
     "IPv4 networks an assignment must lie in (address, prefix and server address inside one of them); "
     "anything else is refused and the client exits (status 3)"},
    {"min_prefix_len", vpnsdk::OptionType::integer, "16",
     "shortest prefix length accepted in an assignment (0..32): a shorter one would route a large part of the "
     "address space through the tunnel"},
}};
const char* const kNeeds[] = {"device", nullptr};

}  // namespace
}  // namespace router_client

VPNSDK_DEFINE_PLUGIN(router_client::RouterClient, "router_client", vpnsdk::Stage::router, "1.0.0",
                     "client router: the device talks to the one server session", router_client::kOptions,
                     router_client::kNeeds, nullptr)
