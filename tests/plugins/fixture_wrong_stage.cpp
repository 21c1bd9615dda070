// A well-formed router plugin; the tests name it in a [cipher] table.
#include <optional>

#include "vpnsdk/router.hpp"

namespace {
class NullRouter final : public vpnsdk::Router {
 public:
  explicit NullRouter(const vpnsdk::HostContext&) {}
  std::optional<vpnsdk::Assignment> local() const override { return std::nullopt; }
  vpnsdk::RouteDecision route(const vpnsdk::PacketBuffer&, vpnsdk::SessionId) override {
    return vpnsdk::RouteDecision::drop("fixture");
  }
};
}  // namespace

VPNSDK_DEFINE_PLUGIN(NullRouter, "fixture_wrong_stage", vpnsdk::Stage::router, "0.0.1",
                     "test fixture: a router (named in the wrong table by the tests)", vpnsdk::kNoOptions, nullptr,
                     nullptr)
