// cipher_noise: Noise_IK_25519_ChaChaPoly_BLAKE2b (optionally IKpsk2) with
// per-client static keys, replay protection and rekeying. The plugin glue:
// options, the shared context, and one NoiseSession per vpnhost session.
// Clients (Role::initiator) need server_public_key; servers need
// authorized_clients. docs/security.md describes the design.
#include <sodium.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "handshake_state.hpp"
#include "noise_config.hpp"
#include "noise_reload.hpp"
#include "noise_session.hpp"
#include "vpnsdk/cipher.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/secret.hpp"

namespace cipher_noise {
namespace {

// Locked memory for the keys this instance will hold (vpnsdk/secret.hpp),
// mapped now so that locking succeeds or fails at start: per session two
// key epochs (current and previous) of two 32-byte keys (a server: one
// session for each authorized client), plus what running handshakes hold:
// 32-byte keys, 64-byte chaining keys and hashes, 128-byte HMAC blocks.
// 253 clients fit in 56 KiB, under the 64 KiB RLIMIT_MEMLOCK that older
// systemd gives a service. Beyond that (a rekey's third epoch, a client's
// second session) the arena grows by chunks.
void reserve_key_memory(const NoiseConfig& c) {
  const std::size_t sessions = c.clients ? c.clients->size() : 1;
  vpnsdk::SecretArena& arena = vpnsdk::secret_arena();
  arena.reserve(kKeyLen, 32 + 4 * sessions);
  arena.reserve(kHashLen, 32);
  arena.reserve(kBlockLen, 8);
}

class NoiseCipher final : public vpnsdk::Cipher {
 public:
  explicit NoiseCipher(const vpnsdk::HostContext& ctx) : base_dir_(ctx.base_dir != nullptr ? ctx.base_dir : "") {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    NoiseConfig cfg = parse_config(*ctx.options, base_dir_, vpnsdk::run_uid_of(ctx), vpnsdk::run_gid_of(ctx));
    for (const auto& w : cfg.reload_warnings)
      if (ctx.log) ctx.log->warn("{}", w);
    reserve_key_memory(cfg);
    ctx_ = std::make_shared<NoiseContext>(std::move(cfg), *ctx.counters, ctx.log);
    if (ctx_->log) {
      const auto& c = ctx_->cfg;
      const std::string proto = protocol_name(c.psk ? pattern_ikpsk2() : pattern_ik());
      if (c.clients)
        ctx_->log->info("{}: server with {} authorized client(s), rekey after {} s, keys wiped after {} s", proto,
                        c.clients->size(), c.rekey_after.count(), c.reject_after.count());
      else
        ctx_->log->info("{}: client, rekey after {} s, keys wiped after {} s", proto, c.rekey_after.count(),
                        c.reject_after.count());
    }
    vpnsdk::log_secret_memory(ctx_->log.get(), true);
  }

  // Re-reads the files even when the options are unchanged (their content may not be).
  vpnsdk::Status reload(const vpnsdk::Options& next, bool) override {
    try {
      return reload_context(*ctx_, next, base_dir_);
    } catch (const std::exception& e) {
      return vpnsdk::Status::error(vpnsdk::Code::internal, std::string("cipher_noise: reload: ") + e.what());
    }
  }

  vpnsdk::Overhead overhead() const override {
    return {static_cast<std::uint16_t>(kFrameHeader), static_cast<std::uint16_t>(kTagLen)};
  }

  vpnsdk::Status new_session(const vpnsdk::SessionInfo& info, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    try {
      if (info.role == vpnsdk::Role::initiator && !ctx_->cfg.server)
        return vpnsdk::Status::error(vpnsdk::Code::config,
                                     "cipher_noise: this host connects to a server, so it needs server_public_key "
                                     "(it has authorized_clients, which is for servers)");
      if (info.role == vpnsdk::Role::responder && !ctx_->cfg.clients)
        return vpnsdk::Status::error(vpnsdk::Code::config,
                                     "cipher_noise: this host accepts sessions, so it needs authorized_clients "
                                     "(it has server_public_key, which is for clients)");
      out = std::make_unique<NoiseSession>(ctx_, info);
      return {};
    } catch (const std::exception& e) {
      return vpnsdk::Status::error(vpnsdk::Code::internal, std::string("cipher_noise: new session: ") + e.what());
    }
  }

 private:
  std::string base_dir_;
  std::shared_ptr<NoiseContext> ctx_;
};

}  // namespace
}  // namespace cipher_noise

VPNSDK_DEFINE_PLUGIN(cipher_noise::NoiseCipher, "cipher_noise", vpnsdk::Stage::cipher, "1.0.0",
                     "Noise_IK_25519_ChaChaPoly_BLAKE2b: per-client keys, replay protection, rekeying",
                     cipher_noise::kOptions, nullptr, nullptr)
