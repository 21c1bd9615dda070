// The Noise "25519_ChaChaPoly_BLAKE2b" functions (Noise spec rev 34,
// sections 4.1-4.3 and 12), built on libsodium:
//   DH       X25519 (crypto_scalarmult); an all-zero result is refused
//   CIPHER   AEAD_CHACHA20_POLY1305 (RFC 7539) = crypto_aead_chacha20poly1305_ietf,
//            nonce = 32 zero bits || n as a 64-bit little-endian integer
//   HASH     BLAKE2b with a 64-byte digest (crypto_generichash, no key)
//   HMAC     RFC 2104 over BLAKE2b with its 128-byte block (libsodium has no
//            HMAC-BLAKE2b, and keyed BLAKE2b is not HMAC)
//   HKDF     the spec's HKDF(chaining_key, ikm, n) over that HMAC
// Every secret lives in a Secret<N>: in locked memory, zeroed when it is
// destroyed or overwritten.
#pragma once
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "vpnsdk/secret.hpp"

namespace cipher_noise {

inline constexpr std::size_t kDhLen = 32;     // X25519 key and shared-secret length
inline constexpr std::size_t kHashLen = 64;   // BLAKE2b digest length (HASHLEN)
inline constexpr std::size_t kBlockLen = 128; // BLAKE2b block length (BLOCKLEN)
inline constexpr std::size_t kKeyLen = 32;    // ChaChaPoly key length
inline constexpr std::size_t kTagLen = 16;    // Poly1305 tag length
inline constexpr std::size_t kNonceLen = 12;  // IETF ChaCha20-Poly1305 nonce length

using Bytes = std::vector<std::uint8_t>;
using View = std::span<const std::uint8_t>;
using PublicKey = std::array<std::uint8_t, kDhLen>;

// Fixed-size secret bytes in the plugin's locked arena (vpnsdk/secret.hpp):
// move-only, wiped when destroyed; clone() is the one explicit copy.
template <std::size_t N>
using Secret = vpnsdk::Secret<N>;

using Key = Secret<kKeyLen>;
using HashValue = Secret<kHashLen>;

struct DhKeyPair {
  Key priv;
  PublicKey pub{};
  DhKeyPair clone() const { return {priv.clone(), pub}; }
};

// HASH(parts[0] || parts[1] || ...).
HashValue hash(std::initializer_list<View> parts);
// HMAC-HASH(key, parts[0] || parts[1] || ...), RFC 2104 with B = 128.
HashValue hmac(View key, std::initializer_list<View> parts);
// HKDF(chaining_key, input_key_material, num_outputs) with num_outputs 2 or 3
// (out3 == nullptr for 2).
void hkdf(View chaining_key, View ikm, HashValue& out1, HashValue& out2, HashValue* out3);

// The public key of a 32-byte private key (crypto_scalarmult_base).
DhKeyPair keypair_from_private(View priv);
// GENERATE_KEYPAIR(): a fresh random key pair.
DhKeyPair generate_keypair();
// DH(key_pair, public_key) into `out`; false (and `out` zeroed) when the
// result is all zeros, i.e. the peer sent a low-order point.
bool dh(const Key& priv, View pub, Key& out) noexcept;

// The 96-bit nonce: 4 zero bytes || n little-endian.
std::array<std::uint8_t, kNonceLen> nonce_of(std::uint64_t n) noexcept;

// ENCRYPT(k, n, ad, plaintext): appends ciphertext || tag to `out`.
void aead_encrypt(const Key& k, std::uint64_t n, View ad, View plaintext, Bytes& out);
// DECRYPT(k, n, ad, ciphertext||tag): appends the plaintext to `out`;
// false (and `out` unchanged) when authentication fails.
bool aead_decrypt(const Key& k, std::uint64_t n, View ad, View ciphertext, Bytes& out);

// Little-endian 64-bit helpers for the transport header.
inline void store_le64(std::uint8_t* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace cipher_noise
