// Declares the responder stage, but its object implements no stage interface.
#include "vpnsdk/plugin.hpp"

namespace {
class NotAResponder final : public vpnsdk::Plugin {
 public:
  explicit NotAResponder(const vpnsdk::HostContext&) {}
};
}  // namespace

VPNSDK_DEFINE_PLUGIN(NotAResponder, "fixture_wrong_interface", vpnsdk::Stage::responder, "0.0.1",
                     "test fixture: object does not implement its declared stage", vpnsdk::kNoOptions, nullptr, nullptr)
