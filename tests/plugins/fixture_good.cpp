// A well-formed responder that claims nothing: the loader's happy path.
#include <array>

#include "vpnsdk/responder.hpp"

namespace {
class GoodResponder final : public vpnsdk::Responder {
 public:
  explicit GoodResponder(const vpnsdk::HostContext& ctx) : greeting_(ctx.options->str("greeting")) {}
  vpnsdk::Verdict handle(vpnsdk::PacketBuffer&, const vpnsdk::Assignment&) override { return vpnsdk::Verdict::pass; }

 private:
  std::string greeting_;
};

constexpr std::array<vpnsdk::OptionSpec, 3> kOptions{{
    {"greeting", vpnsdk::OptionType::string, "hello", "text to keep"},
    {"count", vpnsdk::OptionType::integer, "3", "a number"},
    {"needed", vpnsdk::OptionType::boolean, nullptr, "a required flag", true},
}};
}  // namespace

VPNSDK_DEFINE_PLUGIN(GoodResponder, "fixture_good", vpnsdk::Stage::responder, "1.2.3",
                     "test fixture: a responder that passes everything", kOptions, nullptr, nullptr)
