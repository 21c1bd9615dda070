// cipher_rot: a demo cipher plugin for vpnhost. It adds a constant to every
// byte and appends a checksum. It hides NOTHING from anyone who looks: it
// exists to show a plugin author the whole contract in ~100 lines:
// options and ConfigError, counters, logging, per-session state, headroom
// and tailroom (Overhead), errors as Status values, and the descriptor.
#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "rot_frame.hpp"
#include "vpnsdk/sdk.hpp"

namespace cipher_rot {
namespace {

// Counters live in the host; we keep pointers to them (stable for our lifetime).
struct Counters {
  std::uint64_t* frames_sealed = nullptr;
  std::uint64_t* frames_opened = nullptr;
  std::uint64_t* bad_frames = nullptr;
};

class RotSession final : public vpnsdk::CipherSession {
 public:
  RotSession(std::uint8_t shift, Counters counters, std::shared_ptr<spdlog::logger> log, vpnsdk::SessionId id)
      : shift_(shift), c_(counters), log_(std::move(log)), id_(id) {}

  // No handshake: the defaults of start()/handshake()/established() apply.

  vpnsdk::Status seal(vpnsdk::PacketBuffer& buf) override {
    try {  // no exception may leave a plugin call
      vpnsdk::Status st = seal_frame(buf, shift_);
      if (st.ok()) ++*c_.frames_sealed;
      return st;
    } catch (const std::exception& e) {
      return vpnsdk::Status::error(vpnsdk::Code::internal, std::string("cipher_rot: seal: ") + e.what());
    }
  }

  vpnsdk::Status open(vpnsdk::PacketBuffer& buf) override {
    try {
      vpnsdk::Status st = open_frame(buf, shift_);
      if (st.ok()) {
        ++*c_.frames_opened;
      } else {
        ++*c_.bad_frames;  // bad input from the network: counted, never fatal
        log_->trace("session {}: dropped a frame: {}", id_, st.message);
      }
      return st;
    } catch (const std::exception& e) {
      return vpnsdk::Status::error(vpnsdk::Code::internal, std::string("cipher_rot: open: ") + e.what());
    }
  }

 private:
  std::uint8_t shift_;
  Counters c_;
  std::shared_ptr<spdlog::logger> log_;
  vpnsdk::SessionId id_;
};

class RotCipher final : public vpnsdk::Cipher {
 public:
  // Construct = validate options and register counters. No I/O here.
  explicit RotCipher(const vpnsdk::HostContext& ctx) : log_(ctx.log) {
    const vpnsdk::Options& opt = *ctx.options;
    const std::int64_t shift = opt.integer("shift");
    if (shift < 1 || shift > 255)
      throw vpnsdk::ConfigError("option shift at " + opt.where("shift") + ": " + std::to_string(shift) +
                                " is not in 1..255");
    shift_ = static_cast<std::uint8_t>(shift);
    counters_.frames_sealed = &ctx.counters->counter("frames_sealed");
    counters_.frames_opened = &ctx.counters->counter("frames_opened");
    counters_.bad_frames = &ctx.counters->counter("bad_frames");
    log_->warn("cipher_rot is a demo, not encryption: anyone who sees the traffic can read it");
    log_->info("shift {}, {}-byte header, {}-byte checksum", shift_, kOverhead.head, kOverhead.tail);
  }

  vpnsdk::Overhead overhead() const override { return kOverhead; }

  vpnsdk::Status new_session(const vpnsdk::SessionInfo& info, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    try {
      out = std::make_unique<RotSession>(shift_, counters_, log_, info.id);
      log_->debug("session {} ({}): ready", info.id, info.peer.to_string());
      return {};
    } catch (const std::exception& e) {
      return vpnsdk::Status::error(vpnsdk::Code::internal, std::string("cipher_rot: new session: ") + e.what());
    }
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
  std::uint8_t shift_ = 0;
  Counters counters_;
};

// The options schema: `vpnhost plugins cipher_rot` prints it, the host checks
// types and fills in defaults before the constructor runs.
constexpr std::array<vpnsdk::OptionSpec, 1> kOptions{{
    {"shift", vpnsdk::OptionType::integer, "13", "added to every byte, modulo 256 (1..255); both ends must agree"},
}};

}  // namespace
}  // namespace cipher_rot

VPNSDK_DEFINE_PLUGIN(cipher_rot::RotCipher, "cipher_rot", vpnsdk::Stage::cipher, "1.0.0",
                     "demo: adds a constant to every byte, plus a checksum (NOT encryption)", cipher_rot::kOptions,
                     nullptr, nullptr)
