// A responder whose constructor rejects its configuration with ConfigError.
#include "vpnsdk/responder.hpp"

namespace {
class ThrowingResponder final : public vpnsdk::Responder {
 public:
  explicit ThrowingResponder(const vpnsdk::HostContext&) { throw vpnsdk::ConfigError("boom: bad things"); }
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer&, const vpnsdk::Assignment&) override { return vpnsdk::Verdict::pass; }
};
}  // namespace

VPNSDK_DEFINE_PLUGIN(ThrowingResponder, "fixture_throwing_factory", vpnsdk::Stage::responder, "0.0.1",
                     "test fixture: constructor throws ConfigError", vpnsdk::kNoOptions, nullptr, nullptr)
