// router_client: everything from the device goes to the server session;
// everything from the server addressed to us goes to the device.
#include <optional>

#include "vpnsdk/sdk.hpp"

namespace router_client {
namespace {

using vpnsdk::RouteDecision;
using vpnsdk::Status;
using vpnsdk::ipv4::to_string;

class RouterClient final : public vpnsdk::Router {
 public:
  explicit RouterClient(const vpnsdk::HostContext& ctx)
      : log_(ctx.log), assignments_(ctx.counters->counter("assignments")) {}

  Status assigned(vpnsdk::SessionId id, const vpnsdk::Assignment& self) override {
    if (id == 0) return Status::error(vpnsdk::Code::internal, "router_client: assignment on session id 0");
    if (self.address == 0) return Status::error(vpnsdk::Code::session_fatal, "the server assigned address 0.0.0.0");
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
  vpnsdk::SessionId session_ = 0;
  std::optional<vpnsdk::Assignment> self_;
};

const char* const kNeeds[] = {"device", nullptr};

}  // namespace
}  // namespace router_client

VPNSDK_DEFINE_PLUGIN(router_client::RouterClient, "router_client", vpnsdk::Stage::router, "1.0.0",
                     "client router: the device talks to the one server session", vpnsdk::kNoOptions,
                     router_client::kNeeds, nullptr)
