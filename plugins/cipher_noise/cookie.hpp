// mac1, mac2 and the cookie reply: WireGuard's DoS defence (its paper,
// section 5.3; wireguard-go device/cookie.go) on libsodium's primitives.
//
//   initiation = noise message (109) || mac1 (16) || mac2 (16)
//   mac1 = MAC(HASH("mac1----" || S_pub), noise message)
//   mac2 = MAC(cookie, noise message || mac1)      (16 zero bytes without a cookie)
//   cookie = MAC(R, source address || source port)  R: 32 random bytes, new every 120 s
//   cookie reply = nonce (24) || XChaCha20-Poly1305(HASH("cookie--" || S_pub), nonce, cookie, ad = mac1)  (56)
//
// MAC(key, msg) is keyed BLAKE2b with a 16-byte digest (crypto_generichash
// with outlen 16: the digest length is a BLAKE2 parameter, so this is
// BLAKE2b-128, as WireGuard's MAC is BLAKE2s-128); HASH here is unkeyed
// BLAKE2b with a 32-byte digest (a key for MAC and for XChaCha20-Poly1305).
// libsodium has no BLAKE2s; XChaCha20-Poly1305 is
// crypto_aead_xchacha20poly1305_ietf, as in WireGuard.
//
// mac1 proves that the sender knows the server's public key (a scanner or
// random garbage is refused before any Diffie-Hellman); mac2 proves that
// the sender receives at its source address and port (it got the cookie
// there), so a limit keyed on that address cannot be spent by a forger.
#pragma once
#include <array>
#include <chrono>
#include <optional>
#include <string>

#include "noise_primitives.hpp"
#include "transport_keys.hpp"

namespace cipher_noise {

inline constexpr std::size_t kMacLen = 16;
inline constexpr std::size_t kCookieLen = 16;
inline constexpr std::size_t kCookieNonceLen = 24;
inline constexpr std::size_t kCookieReplySize = kCookieNonceLen + kCookieLen + kTagLen;  // 56
// The cookie secret is renewed this often; a client uses a cookie this long.
inline constexpr std::chrono::seconds kCookieLifetime{120};

using Mac = std::array<std::uint8_t, kMacLen>;

// Keyed BLAKE2b-128.
Mac mac(View key, View msg);
// BLAKE2b-256(label (8 bytes) || server public key).
Key label_key(const char (&label)[9], const PublicKey& server);
// The bytes a cookie is bound to: the address (4 or 16 bytes; the text
// itself if it is not numeric) and the port (big-endian).
Bytes source_bytes(const std::string& address, std::uint16_t port);

// Server side.
class CookieChecker {
 public:
  explicit CookieChecker(const PublicKey& self);
  // `msg` is a whole initiation (its last 32 bytes are mac1 and mac2).
  bool mac1_ok(View msg) const;
  bool mac2_ok(View msg, View source, SteadyClock::time_point now) const;
  // The cookie reply to the initiation `msg` from `source`.
  Bytes reply(View msg, View source, SteadyClock::time_point now);

 private:
  Mac cookie(View source) const;
  Key mac1_key_;
  Key cookie_key_;
  Key secret_;
  std::optional<SteadyClock::time_point> secret_born_;
};

// Client side: adds the MACs to its initiations, keeps the cookie.
class CookieJar {
 public:
  explicit CookieJar(const PublicKey& server);
  // Appends mac1 and mac2 (zero without a fresh cookie) to `msg` (the
  // Noise message); remembers mac1 for the cookie reply.
  void add_macs(Bytes& msg, SteadyClock::time_point now);
  // Takes the cookie out of a cookie reply to the last initiation; false
  // if it does not decrypt (not for our last mac1, forged, garbled).
  bool consume(View reply, SteadyClock::time_point now);
  bool has_cookie(SteadyClock::time_point now) const;

 private:
  Key mac1_key_;
  Key cookie_key_;
  Mac cookie_{};
  std::optional<SteadyClock::time_point> cookie_at_;
  std::optional<Mac> last_mac1_;
};

}  // namespace cipher_noise
