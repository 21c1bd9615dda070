#include "symmetric_state.hpp"

#include <limits>

namespace cipher_noise {

void CipherState::initialize_key(const Key* k) noexcept {
  if (k != nullptr) {
    k_.assign(k->view());
    has_key_ = true;
  } else {
    k_.wipe();
    has_key_ = false;
  }
  n_ = 0;
}

CipherState CipherState::clone() const {
  CipherState c;
  c.k_.assign(k_.view());
  c.has_key_ = has_key_;
  c.n_ = n_;
  return c;
}

bool CipherState::encrypt_with_ad(View ad, View plaintext, Bytes& out) {
  if (!has_key_) {
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return true;
  }
  if (n_ == std::numeric_limits<std::uint64_t>::max()) return false;
  aead_encrypt(k_, n_, ad, plaintext, out);
  ++n_;
  return true;
}

bool CipherState::decrypt_with_ad(View ad, View ciphertext, Bytes& out) {
  if (!has_key_) {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    return true;
  }
  if (n_ == std::numeric_limits<std::uint64_t>::max()) return false;
  if (!aead_decrypt(k_, n_, ad, ciphertext, out)) return false;
  ++n_;
  return true;
}

SymmetricState::SymmetricState(std::string_view protocol_name) {
  const View name(reinterpret_cast<const std::uint8_t*>(protocol_name.data()), protocol_name.size());
  if (name.size() <= kHashLen)
    h_.assign(name);  // the name, zero-padded to HASHLEN
  else
    h_ = hash({name});
  ck_.assign(h_.view());
  cs_.initialize_key(nullptr);
}

SymmetricState SymmetricState::clone() const {
  SymmetricState s;
  s.cs_ = cs_.clone();
  s.ck_.assign(ck_.view());
  s.h_.assign(h_.view());
  return s;
}

void SymmetricState::mix_key(View input_key_material) {
  HashValue ck, temp_k;
  hkdf(ck_.view(), input_key_material, ck, temp_k, nullptr);
  ck_ = std::move(ck);
  const Key k(temp_k.first(kKeyLen));  // HASHLEN 64: truncate to 32 bytes
  cs_.initialize_key(&k);
}

void SymmetricState::mix_hash(View data) { h_ = hash({h_.view(), data}); }

void SymmetricState::mix_key_and_hash(View input_key_material) {
  HashValue ck, temp_h, temp_k;
  hkdf(ck_.view(), input_key_material, ck, temp_h, &temp_k);
  ck_ = std::move(ck);
  mix_hash(temp_h.view());
  const Key k(temp_k.first(kKeyLen));
  cs_.initialize_key(&k);
}

bool SymmetricState::encrypt_and_hash(View plaintext, Bytes& out) {
  const std::size_t at = out.size();
  if (!cs_.encrypt_with_ad(h_.view(), plaintext, out)) return false;
  mix_hash(View(out.data() + at, out.size() - at));
  return true;
}

bool SymmetricState::decrypt_and_hash(View ciphertext, Bytes& out) {
  if (!cs_.decrypt_with_ad(h_.view(), ciphertext, out)) return false;
  mix_hash(ciphertext);
  return true;
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  HashValue temp_k1, temp_k2;
  hkdf(ck_.view(), View{}, temp_k1, temp_k2, nullptr);
  const Key k1(temp_k1.first(kKeyLen));
  const Key k2(temp_k2.first(kKeyLen));
  std::pair<CipherState, CipherState> out;
  out.first.initialize_key(&k1);
  out.second.initialize_key(&k2);
  return out;
}

}  // namespace cipher_noise
