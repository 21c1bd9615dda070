// A plugin whose option schema has a default that does not fit its type.
#include <array>

#include "vpnsdk/responder.hpp"

namespace {
class PassResponder final : public vpnsdk::Responder {
 public:
  explicit PassResponder(const vpnsdk::HostContext&) {}
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer&, const vpnsdk::Assignment&) override { return vpnsdk::Verdict::pass; }
};

constexpr std::array<vpnsdk::OptionSpec, 1> kOptions{{
    {"count", vpnsdk::OptionType::integer, "lots", "an integer with a default that is not one"},
}};
}  // namespace

VPNSDK_DEFINE_PLUGIN(PassResponder, "fixture_bad_default", vpnsdk::Stage::responder, "0.0.1",
                     "test fixture: option default of the wrong type", kOptions, nullptr, nullptr)
