// A router stage that is a stock router (router_hub or router_client,
// created from its .so) with faults on command: it forwards every call,
// except that it throws where told to, or gives the answer it was told to
// give instead of the stock router's.
#pragma once
#include <memory>
#include <optional>

#include "fault.hpp"
#include "vpnhost/stage_instance.hpp"
#include "vpnsdk/router.hpp"

namespace coretest {

struct FaultyRouter final : vpnsdk::Router {
  explicit FaultyRouter(std::unique_ptr<vpnhost::StageInstance> stock)
      : stage(std::move(stock)), inner(stage->as<vpnsdk::Router>()) {}

  std::unique_ptr<vpnhost::StageInstance> stage;
  vpnsdk::Router* inner;
  Faults faults;  // "assign", "release", "assigned", "local", "route"
  std::optional<vpnsdk::Status> assign_answer;    // instead of assigning
  std::optional<vpnsdk::Status> assigned_answer;  // client side: instead of the stock check
  std::optional<vpnsdk::RouteDecision> route_answer;
  std::vector<vpnsdk::SessionId> releases;

  vpnsdk::Status assign(const vpnsdk::SessionInfo& info, const vpnsdk::PeerIdentity* who,
                        vpnsdk::Assignment& out) override {
    faults.check("assign", info.id);
    if (assign_answer) return *assign_answer;
    return inner->assign(info, who, out);
  }
  void release(vpnsdk::SessionId id) override {
    faults.check("release", id);
    releases.push_back(id);
    inner->release(id);
  }
  vpnsdk::Status assigned(vpnsdk::SessionId id, const vpnsdk::Assignment& self) override {
    faults.check("assigned", id);
    if (assigned_answer) return *assigned_answer;
    return inner->assigned(id, self);
  }
  std::optional<vpnsdk::Assignment> local() const override {
    faults.check("local");
    return inner->local();
  }
  vpnsdk::RouteDecision route(const vpnsdk::PacketBuffer& packet, vpnsdk::SessionId from) override {
    faults.check("route", from);
    if (route_answer) return *route_answer;
    return inner->route(packet, from);
  }
};

}  // namespace coretest
