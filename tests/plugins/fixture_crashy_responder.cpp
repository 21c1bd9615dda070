// A responder that throws on one packet size (an IPv4 total length of 361
// bytes: `ping -s 333`) and passes everything else. The containment lab test
// uses it to show that an exception escaping a plugin ends only the session
// the packet came from.
#include <stdexcept>

#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/responder.hpp"

namespace {
class CrashyResponder final : public vpnsdk::Responder {
 public:
  explicit CrashyResponder(const vpnsdk::HostContext&) {}
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer& packet, const vpnsdk::Assignment&) override {
    if (packet.size() == 361) throw std::runtime_error("deliberate failure on a 361-byte packet");
    return vpnsdk::Verdict::pass;
  }
};
}  // namespace

VPNSDK_DEFINE_PLUGIN(CrashyResponder, "fixture_crashy_responder", vpnsdk::Stage::responder, "0.0.1",
                     "test fixture: throws from handle() on 361-byte packets", vpnsdk::kNoOptions, nullptr, nullptr)
