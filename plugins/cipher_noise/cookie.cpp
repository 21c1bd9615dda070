#include "cookie.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace cipher_noise {

Mac mac(View key, View msg) {
  Mac out{};
  if (crypto_generichash(out.data(), out.size(), msg.data(), msg.size(), key.data(), key.size()) != 0)
    throw std::runtime_error("crypto_generichash failed");
  return out;
}

Key label_key(const char (&label)[9], const PublicKey& server) {
  std::uint8_t buf[8 + kDhLen];
  std::memcpy(buf, label, 8);
  std::memcpy(buf + 8, server.data(), kDhLen);
  Key k;
  if (crypto_generichash(k.data(), k.size(), buf, sizeof buf, nullptr, 0) != 0)
    throw std::runtime_error("crypto_generichash failed");
  return k;
}

Bytes source_bytes(const std::string& address, std::uint16_t port) {
  Bytes out;
  std::uint8_t a[16];
  if (inet_pton(AF_INET, address.c_str(), a) == 1)
    out.assign(a, a + 4);
  else if (inet_pton(AF_INET6, address.c_str(), a) == 1)
    out.assign(a, a + 16);
  else
    out.assign(address.begin(), address.end());
  out.push_back(static_cast<std::uint8_t>(port >> 8));
  out.push_back(static_cast<std::uint8_t>(port & 0xff));
  return out;
}

namespace {

bool equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) { return sodium_memcmp(a, b, n) == 0; }

}  // namespace

// ------------------------------------------------------------- server ---

CookieChecker::CookieChecker(const PublicKey& self)
    : mac1_key_(label_key("mac1----", self)), cookie_key_(label_key("cookie--", self)) {}

bool CookieChecker::mac1_ok(View msg) const {
  if (msg.size() < 2 * kMacLen) return false;
  const std::size_t at = msg.size() - 2 * kMacLen;
  const Mac m = mac(mac1_key_.view(), msg.first(at));
  return equal(m.data(), msg.data() + at, kMacLen);
}

Mac CookieChecker::cookie(View source) const { return mac(secret_.view(), source); }

bool CookieChecker::mac2_ok(View msg, View source, SteadyClock::time_point now) const {
  if (msg.size() < 2 * kMacLen || !secret_born_ || now - *secret_born_ > kCookieLifetime) return false;
  const std::size_t at = msg.size() - kMacLen;
  const Mac c = cookie(source);
  const Mac m = mac(View(c.data(), c.size()), msg.first(at));
  return equal(m.data(), msg.data() + at, kMacLen);
}

Bytes CookieChecker::reply(View msg, View source, SteadyClock::time_point now) {
  if (!secret_born_ || now - *secret_born_ > kCookieLifetime) {
    randombytes_buf(secret_.data(), secret_.size());
    secret_born_ = now;
  }
  const Mac c = cookie(source);
  const std::uint8_t* mac1 = msg.data() + msg.size() - 2 * kMacLen;
  Bytes out(kCookieReplySize);
  randombytes_buf(out.data(), kCookieNonceLen);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kCookieNonceLen, &len, c.data(), c.size(), mac1, kMacLen,
                                             nullptr, out.data(), cookie_key_.data());
  return out;
}

// ------------------------------------------------------------- client ---

CookieJar::CookieJar(const PublicKey& server)
    : mac1_key_(label_key("mac1----", server)), cookie_key_(label_key("cookie--", server)) {}

bool CookieJar::has_cookie(SteadyClock::time_point now) const {
  return cookie_at_ && now - *cookie_at_ < kCookieLifetime;
}

void CookieJar::add_macs(Bytes& msg, SteadyClock::time_point now) {
  const Mac m1 = mac(mac1_key_.view(), msg);
  msg.insert(msg.end(), m1.begin(), m1.end());
  last_mac1_ = m1;
  Mac m2{};
  if (has_cookie(now)) m2 = mac(View(cookie_.data(), cookie_.size()), msg);
  msg.insert(msg.end(), m2.begin(), m2.end());
}

bool CookieJar::consume(View reply, SteadyClock::time_point now) {
  if (reply.size() != kCookieReplySize || !last_mac1_) return false;
  Mac c{};
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(c.data(), &len, nullptr, reply.data() + kCookieNonceLen,
                                                 kCookieLen + kTagLen, last_mac1_->data(), kMacLen, reply.data(),
                                                 cookie_key_.data()) != 0)
    return false;
  cookie_ = c;
  cookie_at_ = now;
  return true;
}

}  // namespace cipher_noise
