// Noise CipherState and SymmetricState (spec rev 34, sections 5.1 and 5.2),
// exactly as specified: the handshake's running chaining key `ck` and hash
// `h`, MixKey / MixHash / MixKeyAndHash, EncryptAndHash / DecryptAndHash and
// Split. Keys live in the locked arena and are wiped when these objects die;
// copies are explicit (clone()).
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>

#include "noise_primitives.hpp"

namespace cipher_noise {

class CipherState {
 public:
  // InitializeKey(key); nullptr = empty (no key: encryption passes through).
  void initialize_key(const Key* k) noexcept;
  bool has_key() const noexcept { return has_key_; }
  void set_nonce(std::uint64_t n) noexcept { n_ = n; }
  std::uint64_t nonce() const noexcept { return n_; }
  const Key& key() const noexcept { return k_; }
  // A copy (its key in a slot of its own).
  CipherState clone() const;

  // EncryptWithAd: appends the ciphertext to `out`. False when the nonce is
  // exhausted (n = 2^64-1 is reserved).
  bool encrypt_with_ad(View ad, View plaintext, Bytes& out);
  // DecryptWithAd: appends the plaintext to `out`. False on an
  // authentication failure (the nonce is then not incremented) or when the
  // nonce is exhausted.
  bool decrypt_with_ad(View ad, View ciphertext, Bytes& out);

 private:
  Key k_;
  bool has_key_ = false;
  std::uint64_t n_ = 0;
};

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name).
  explicit SymmetricState(std::string_view protocol_name);

  void mix_key(View input_key_material);
  void mix_hash(View data);
  void mix_key_and_hash(View input_key_material);
  const HashValue& handshake_hash() const noexcept { return h_; }
  bool has_key() const noexcept { return cs_.has_key(); }

  // EncryptAndHash / DecryptAndHash: append to `out`; false on failure.
  bool encrypt_and_hash(View plaintext, Bytes& out);
  bool decrypt_and_hash(View ciphertext, Bytes& out);

  // Split(): (c1 for initiator -> responder, c2 for responder -> initiator).
  std::pair<CipherState, CipherState> split() const;
  SymmetricState clone() const;

 private:
  SymmetricState() = default;
  CipherState cs_;
  HashValue ck_;
  HashValue h_;
};

}  // namespace cipher_noise
