// A responder that loads and constructs fine but throws std::runtime_error
// from every handle() call: for the host's containment of plugin exceptions
// (an exception escaping a plugin call must end one session, never the process).
#include <stdexcept>

#include "vpnsdk/responder.hpp"

namespace {
class ThrowingResponder final : public vpnsdk::Responder {
 public:
  explicit ThrowingResponder(const vpnsdk::HostContext&) {}
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer&, const vpnsdk::Assignment&) override {
    throw std::runtime_error("fixture_throwing_responder: handle() throws on purpose");
  }
};
}  // namespace

VPNSDK_DEFINE_PLUGIN(ThrowingResponder, "fixture_throwing_responder", vpnsdk::Stage::responder, "0.0.1",
                     "test fixture: handle() throws std::runtime_error", vpnsdk::kNoOptions, nullptr, nullptr)
