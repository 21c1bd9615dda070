// Live reload (SIGHUP, `vpnhost reload`): cipher_noise reads its options and
// files again. authorized_clients (its content, or another file), the rekey
// timers and the handshake rate limit change while running; this host's
// private key, the psk and server_public_key need a restart.
#pragma once
#include <string>

#include "noise_context.hpp"
#include "vpnsdk/options.hpp"
#include "vpnsdk/status.hpp"

namespace cipher_noise {

// Applies `next` to `ctx`, or returns the refusal and changes nothing.
// Sessions whose key left authorized_clients then report revoked().
vpnsdk::Status reload_context(NoiseContext& ctx, const vpnsdk::Options& next, const std::string& base_dir);

}  // namespace cipher_noise
