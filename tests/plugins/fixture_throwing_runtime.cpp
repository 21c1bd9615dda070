// A responder whose constructor throws something other than ConfigError:
// option `throw_what` = "runtime_error" (default) or "int".
#include <array>
#include <stdexcept>
#include <string>

#include "vpnsdk/responder.hpp"

namespace {
class ThrowingResponder final : public vpnsdk::Responder {
 public:
  explicit ThrowingResponder(const vpnsdk::HostContext& ctx) {
    if (ctx.options->str("throw_what") == "int") throw 42;
    throw std::runtime_error("kaboom: a runtime_error from the constructor");
  }
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer&, const vpnsdk::Assignment&) override { return vpnsdk::Verdict::pass; }
};

constexpr std::array<vpnsdk::OptionSpec, 1> kOptions{{
    {"throw_what", vpnsdk::OptionType::string, "runtime_error", "runtime_error or int"},
}};
}  // namespace

VPNSDK_DEFINE_PLUGIN(ThrowingResponder, "fixture_throwing_runtime", vpnsdk::Stage::responder, "0.0.1",
                     "test fixture: constructor throws std::runtime_error (or an int)", kOptions, nullptr, nullptr)
