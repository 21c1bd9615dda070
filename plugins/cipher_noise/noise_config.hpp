// cipher_noise's options, checked once at construction.
#pragma once
#include <array>
#include <string>

#include "noise_context.hpp"
#include "vpnsdk/options.hpp"

namespace cipher_noise {

// Throws vpnsdk::ConfigError naming the option and where it was given.
// Files are trusted when owned by root, this user or `run_uid` (the user
// vpnhost runs as after setup); reload_warnings names those that user could
// not read again.
NoiseConfig parse_config(const vpnsdk::Options& opts, const std::string& base_dir, uid_t run_uid = ::geteuid(),
                         gid_t run_gid = ::getegid());

inline constexpr std::array<vpnsdk::OptionSpec, 9> kOptions{{
    {"private_key_file", vpnsdk::OptionType::string, nullptr,
     "this host's X25519 private key file (base64, mode 0600; make one with: vpnhost keygen FILE); relative to the "
     "manifest",
     true},
    {"server_public_key", vpnsdk::OptionType::string, "",
     "client: the server's public key, base64 (on the server: vpnhost pubkey < its private key file)"},
    {"authorized_clients", vpnsdk::OptionType::string, "",
     "server: file with one line per client: <base64 public key> <name> [fixed address]; relative to the manifest"},
    {"psk_file", vpnsdk::OptionType::string, "",
     "optional pre-shared key file (32 bytes base64, mode 0600), the same on server and clients: "
     "Noise_IKpsk2 instead of Noise_IK"},
    {"rekey_after_seconds", vpnsdk::OptionType::integer, "120", "client: start a new handshake when keys are this old"},
    {"reject_after_seconds", vpnsdk::OptionType::integer, "180",
     "keys older than this are wiped; a session without newer keys ends (at least rekey_after_seconds + 10)"},
    {"handshakes_per_second", vpnsdk::OptionType::integer, "5",
     "server: handshake initiations each source address (IPv6: each /64) may make per second (sustained)"},
    {"handshake_burst", vpnsdk::OptionType::integer, "20",
     "server: handshake initiations a source address (IPv6: a /64) may make at once before the rate limit applies "
     "(beyond it: a cookie reply, docs/security.md 3.6)"},
    {"cookie_above_per_second", vpnsdk::OptionType::integer, "50",
     "server: above this many handshake initiations a second in total the server is under load and answers an "
     "initiation without a valid cookie (mac2) with a cookie reply instead of doing Diffie-Hellman"},
}};

}  // namespace cipher_noise
