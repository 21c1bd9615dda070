// responder_icmp_echo: answers ICMP echo requests addressed to the host's
// own tunnel address (the seed server's "ping 10.10.0.1"), rewriting the
// request into the reply in place.
#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "echo_reply.hpp"
#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/responder.hpp"

namespace responder_icmp_echo {
namespace {

class IcmpEchoResponder final : public vpnsdk::Responder {
 public:
  explicit IcmpEchoResponder(const vpnsdk::HostContext& ctx)
      : log_(ctx.log),
        echo_replies_(ctx.counters->counter("echo_replies")),
        ignored_(ctx.counters->counter("ignored")) {
    const std::int64_t ttl = ctx.options->integer("ttl");
    if (ttl < 1 || ttl > 255)
      throw vpnsdk::ConfigError("option ttl at " + ctx.options->where("ttl") + ": " + std::to_string(ttl) +
                                " is out of range; give an integer from 1 to 255");
    ttl_ = static_cast<std::uint8_t>(ttl);
  }

  vpnsdk::Verdict handle(vpnsdk::PacketBuffer& packet, const vpnsdk::Assignment& self) override {
    std::size_t reply_len = 0;
    const Outcome o = make_echo_reply(packet.bytes(), self.address, ttl_, reply_len);
    if (o != Outcome::replied) {
      ++ignored_;
      trace_pass(o, packet.size());
      return vpnsdk::Verdict::pass;
    }
    packet.trim(reply_len);
    ++echo_replies_;
    trace_reply(vpnsdk::ipv4::dst_of(packet.bytes()), reply_len);
    return vpnsdk::Verdict::reply;
  }

 private:
  // Per-packet logging; never lets an exception (e.g. bad_alloc) out of handle().
  void trace_pass(Outcome o, std::size_t size) noexcept {
    try {
      if (log_ && log_->should_log(spdlog::level::trace)) log_->trace("pass ({}): {} bytes", outcome_name(o), size);
    } catch (...) {
    }
  }
  void trace_reply(std::uint32_t to, std::size_t size) noexcept {
    try {
      if (log_ && log_->should_log(spdlog::level::trace))
        log_->trace("echo reply to {} ({} bytes)", vpnsdk::ipv4::to_string(to), size);
    } catch (...) {
    }
  }

  std::shared_ptr<spdlog::logger> log_;
  std::uint64_t& echo_replies_;
  std::uint64_t& ignored_;
  std::uint8_t ttl_ = 64;
};

constexpr std::array<vpnsdk::OptionSpec, 1> kOptions{{
    {"ttl", vpnsdk::OptionType::integer, "64", "TTL of the echo replies (1..255)"},
}};

}  // namespace
}  // namespace responder_icmp_echo

VPNSDK_DEFINE_PLUGIN(responder_icmp_echo::IcmpEchoResponder, "responder_icmp_echo", vpnsdk::Stage::responder,
                     "1.0.0", "answers ICMP echo requests (ping) addressed to this host's tunnel address",
                     responder_icmp_echo::kOptions, nullptr, nullptr)
