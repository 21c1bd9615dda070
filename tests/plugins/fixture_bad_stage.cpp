// A descriptor whose stage is not one of the SDK's stages (42).
#include "vpnsdk/responder.hpp"

namespace {
class PassResponder final : public vpnsdk::Responder {
 public:
  explicit PassResponder(const vpnsdk::HostContext&) {}
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer&, const vpnsdk::Assignment&) override { return vpnsdk::Verdict::pass; }
};
}  // namespace

VPNSDK_DEFINE_PLUGIN(PassResponder, "fixture_bad_stage", static_cast<vpnsdk::Stage>(42), "0.0.1",
                     "test fixture: declares stage 42", vpnsdk::kNoOptions, nullptr, nullptr)
