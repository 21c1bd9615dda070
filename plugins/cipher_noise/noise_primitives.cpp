#include "noise_primitives.hpp"

#include <stdexcept>

namespace cipher_noise {

HashValue hash(std::initializer_list<View> parts) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kHashLen);
  for (View p : parts) crypto_generichash_update(&st, p.data(), p.size());
  HashValue out;
  crypto_generichash_final(&st, out.data(), kHashLen);
  sodium_memzero(&st, sizeof st);
  return out;
}

HashValue hmac(View key, std::initializer_list<View> parts) {
  // RFC 2104: K0 = key (hashed first if longer than the block) zero-padded
  // to B = 128 bytes; HMAC = H((K0 ^ opad) || H((K0 ^ ipad) || text)).
  Secret<kBlockLen> k0;
  if (key.size() > kBlockLen) {
    HashValue hk = hash({key});
    k0.assign(hk.view());
  } else {
    k0.assign(key);
  }
  Secret<kBlockLen> pad;
  for (std::size_t i = 0; i < kBlockLen; ++i) pad.data()[i] = k0.data()[i] ^ 0x36;

  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kHashLen);
  crypto_generichash_update(&st, pad.data(), kBlockLen);
  for (View p : parts) crypto_generichash_update(&st, p.data(), p.size());
  HashValue inner;
  crypto_generichash_final(&st, inner.data(), kHashLen);

  for (std::size_t i = 0; i < kBlockLen; ++i) pad.data()[i] = k0.data()[i] ^ 0x5c;
  crypto_generichash_init(&st, nullptr, 0, kHashLen);
  crypto_generichash_update(&st, pad.data(), kBlockLen);
  crypto_generichash_update(&st, inner.data(), kHashLen);
  HashValue out;
  crypto_generichash_final(&st, out.data(), kHashLen);
  sodium_memzero(&st, sizeof st);
  return out;
}

void hkdf(View chaining_key, View ikm, HashValue& out1, HashValue& out2, HashValue* out3) {
  const HashValue temp_key = hmac(chaining_key, {ikm});
  const std::uint8_t one = 0x01, two = 0x02, three = 0x03;
  out1 = hmac(temp_key.view(), {View(&one, 1)});
  out2 = hmac(temp_key.view(), {out1.view(), View(&two, 1)});
  if (out3 != nullptr) *out3 = hmac(temp_key.view(), {out2.view(), View(&three, 1)});
}

DhKeyPair keypair_from_private(View priv) {
  if (priv.size() != kDhLen) throw std::invalid_argument("an X25519 private key has 32 bytes");
  DhKeyPair kp;
  kp.priv.assign(priv);
  crypto_scalarmult_base(kp.pub.data(), kp.priv.data());
  return kp;
}

DhKeyPair generate_keypair() {
  Key priv;
  randombytes_buf(priv.data(), priv.size());
  return keypair_from_private(priv.view());
}

bool dh(const Key& priv, View pub, Key& out) noexcept {
  if (pub.size() != kDhLen) {
    out.wipe();
    return false;
  }
  if (crypto_scalarmult(out.data(), priv.data(), pub.data()) != 0) {
    out.wipe();
    return false;
  }
  return true;
}

std::array<std::uint8_t, kNonceLen> nonce_of(std::uint64_t n) noexcept {
  std::array<std::uint8_t, kNonceLen> nonce{};
  store_le64(nonce.data() + 4, n);
  return nonce;
}

void aead_encrypt(const Key& k, std::uint64_t n, View ad, View plaintext, Bytes& out) {
  const auto nonce = nonce_of(n);
  const std::size_t at = out.size();
  out.resize(at + plaintext.size() + kTagLen);
  unsigned long long mac_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(out.data() + at, out.data() + at + plaintext.size(), &mac_len,
                                                     plaintext.data(), plaintext.size(), ad.data(), ad.size(),
                                                     nullptr, nonce.data(), k.data());
}

bool aead_decrypt(const Key& k, std::uint64_t n, View ad, View ciphertext, Bytes& out) {
  if (ciphertext.size() < kTagLen) return false;
  const auto nonce = nonce_of(n);
  const std::size_t len = ciphertext.size() - kTagLen;
  Bytes plain(len);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(plain.data(), nullptr, ciphertext.data(), len,
                                                         ciphertext.data() + len, ad.data(), ad.size(),
                                                         nonce.data(), k.data()) != 0)
    return false;
  out.insert(out.end(), plain.begin(), plain.end());
  sodium_memzero(plain.data(), plain.size());
  return true;
}

}  // namespace cipher_noise
