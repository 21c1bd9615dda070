// File fixture_bad_name.so, but the descriptor calls the plugin "fixture_misnamed".
#include "vpnsdk/responder.hpp"

namespace {
class PassResponder final : public vpnsdk::Responder {
 public:
  explicit PassResponder(const vpnsdk::HostContext&) {}
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer&, const vpnsdk::Assignment&) override { return vpnsdk::Verdict::pass; }
};
}  // namespace

VPNSDK_DEFINE_PLUGIN(PassResponder, "fixture_misnamed", vpnsdk::Stage::responder, "0.0.1",
                     "test fixture: descriptor name differs from the file name", vpnsdk::kNoOptions, nullptr, nullptr)
