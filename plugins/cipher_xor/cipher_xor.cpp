// cipher_xor: the seed's "encryption": every frame body is XORed with a
// shared key. It hides bytes from casual view and nothing more: anyone who
// sees traffic can recover the key. Stateless per frame, no handshake, no
// overhead, authenticates nobody.
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "key_file.hpp"
#include "vpnsdk/cipher.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/secret.hpp"
#include "xor_keystream.hpp"

namespace cipher_xor {
namespace {

// What every session of one cipher instance shares.
struct Shared {
  explicit Shared(const vpnsdk::SecretBytes& key) : stream(key.view()) {}
  XorKeystream stream;
  std::uint64_t* frames_sealed = nullptr;
  std::uint64_t* frames_opened = nullptr;
  std::uint64_t* bytes_sealed = nullptr;
  std::uint64_t* bytes_opened = nullptr;
};

class XorSession final : public vpnsdk::CipherSession {
 public:
  explicit XorSession(std::shared_ptr<const Shared> s) : s_(std::move(s)) {}

  vpnsdk::Status seal(vpnsdk::PacketBuffer& buf) override {
    s_->stream.apply(buf.data(), buf.size());
    ++*s_->frames_sealed;
    *s_->bytes_sealed += buf.size();
    return {};
  }
  vpnsdk::Status open(vpnsdk::PacketBuffer& buf) override {
    s_->stream.apply(buf.data(), buf.size());
    ++*s_->frames_opened;
    *s_->bytes_opened += buf.size();
    return {};
  }

 private:
  std::shared_ptr<const Shared> s_;
};

class XorCipher final : public vpnsdk::Cipher {
 public:
  explicit XorCipher(const vpnsdk::HostContext& ctx) : log_(ctx.log) {
    const vpnsdk::Options& opt = *ctx.options;
    if (!opt.has("key_file"))
      throw vpnsdk::ConfigError("option key_file is required: the path of a key file (make one with: vpnhost keygen FILE)");
    // Locked memory: the key (wiped when this constructor returns) and its expanded block (when the instance ends).
    const vpnsdk::SecretBytes key =
        load_key_file(opt.str("key_file"), ctx.base_dir != nullptr ? ctx.base_dir : "", opt.where("key_file"), vpnsdk::run_uid_of(ctx));
    auto shared = std::make_shared<Shared>(key);
    shared->frames_sealed = &ctx.counters->counter("frames_sealed");
    shared->frames_opened = &ctx.counters->counter("frames_opened");
    shared->bytes_sealed = &ctx.counters->counter("bytes_sealed");
    shared->bytes_opened = &ctx.counters->counter("bytes_opened");
    shared_ = std::move(shared);
    if (log_) {
      log_->warn(
          "cipher_xor is not encryption: XOR with a static key only hides bytes from casual view, and anyone who "
          "sees the traffic can recover the key; use cipher_noise for real security");
      log_->info("XOR key loaded ({} bytes)", shared_->stream.key_length());
    }
    vpnsdk::log_secret_memory(log_.get(), true);
  }

  vpnsdk::Overhead overhead() const override { return {0, 0}; }

  vpnsdk::Status new_session(const vpnsdk::SessionInfo& info, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    try {
      out = std::make_unique<XorSession>(shared_);
      if (log_) log_->debug("session {} ({}): XOR cipher ready", info.id, info.peer.to_string());
      return {};
    } catch (const std::exception& e) {
      return vpnsdk::Status::error(vpnsdk::Code::internal, std::string("cipher_xor: new session: ") + e.what());
    }
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<const Shared> shared_;
};

constexpr std::array<vpnsdk::OptionSpec, 1> kOptions{{
    {"key_file", vpnsdk::OptionType::string, nullptr,
     "path of the shared key file (base64, mode 0600; make one with: vpnhost keygen FILE); relative to the manifest",
     true},
}};

}  // namespace
}  // namespace cipher_xor

VPNSDK_DEFINE_PLUGIN(cipher_xor::XorCipher, "cipher_xor", vpnsdk::Stage::cipher, "1.0.0",
                     "XOR with a shared key (the seed's scheme; obfuscation only, not encryption)",
                     cipher_xor::kOptions, nullptr, nullptr)
