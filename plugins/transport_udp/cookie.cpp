#include "cookie.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "vpnsdk/ipv4.hpp"

namespace transport_udp {

namespace {

std::uint64_t slot_of(CookieJar::Clock::time_point now) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return static_cast<std::uint64_t>(s < 0 ? 0 : s) / static_cast<std::uint64_t>(kCookieSlot.count());
}

// family, address bytes (IPv4-mapped IPv6 as IPv4) and port of a source.
struct SourceBytes {
  std::uint8_t family = 0;
  const unsigned char* addr = nullptr;
  std::size_t addr_len = 0;
  std::uint16_t port = 0;  // network order
};

SourceBytes bytes_of(const Peer& p) {
  SourceBytes s;
  if (p.addr.sa.sa_family == AF_INET) {
    s.family = 4;
    s.addr = reinterpret_cast<const unsigned char*>(&p.addr.v4.sin_addr);
    s.addr_len = 4;
    s.port = p.addr.v4.sin_port;
  } else if (p.addr.sa.sa_family == AF_INET6) {
    const in6_addr& a = p.addr.v6.sin6_addr;
    const bool mapped = IN6_IS_ADDR_V4MAPPED(&a);
    s.family = mapped ? 4 : 6;
    s.addr = a.s6_addr + (mapped ? 12 : 0);
    s.addr_len = mapped ? 4 : 16;
    s.port = p.addr.v6.sin6_port;
  }
  return s;
}

}  // namespace

CookieJar::CookieJar() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  slot_ = slot_of(Clock::now());
  randombytes_buf(secret_[0].data(), kSecretSize);
}

void CookieJar::rotate(std::uint64_t slot) {
  if (slot <= slot_) return;
  if (slot == slot_ + 1) {
    secret_[1] = secret_[0];
    have_previous_ = true;
  } else {
    have_previous_ = false;  // both expired
  }
  randombytes_buf(secret_[0].data(), kSecretSize);
  slot_ = slot;
}

Cookie CookieJar::mac(const std::array<unsigned char, kSecretSize>& secret, std::uint64_t slot,
                      const Peer& source) {
  const SourceBytes s = bytes_of(source);
  std::array<unsigned char, 8 + 1 + 16 + 2> in{};
  std::size_t n = 0;
  for (int i = 7; i >= 0; --i) in[n++] = static_cast<unsigned char>(slot >> (8 * i));
  in[n++] = s.family;
  if (s.addr != nullptr) std::copy_n(s.addr, s.addr_len, in.begin() + static_cast<long>(n));
  n += s.addr_len;
  std::memcpy(in.data() + n, &s.port, 2);  // already big-endian
  n += 2;
  Cookie out{};
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(), in.data(), n, secret.data(),
                     secret.size());
  return out;
}

Cookie CookieJar::make(const Peer& source, Clock::time_point now) {
  rotate(slot_of(now));
  return mac(secret_[0], slot_, source);
}

bool CookieJar::check(const Peer& source, std::span<const std::byte> cookie, Clock::time_point now) {
  if (cookie.size() != kCookieSize) return false;
  rotate(slot_of(now));
  const Cookie cur = mac(secret_[0], slot_, source);
  if (sodium_memcmp(cur.data(), cookie.data(), kCookieSize) == 0) return true;
  if (!have_previous_) return false;
  const Cookie prev = mac(secret_[1], slot_ - 1, source);
  return sodium_memcmp(prev.data(), cookie.data(), kCookieSize) == 0;
}

SourceKey source_key(const Peer& p) noexcept {
  SourceKey k;
  const SourceBytes s = bytes_of(p);
  k.bytes[0] = s.family;
  // IPv4: the address; IPv6: its first 64 bits.
  if (s.addr != nullptr) std::copy_n(s.addr, std::min<std::size_t>(s.addr_len, 8), k.bytes.begin() + 1);
  return k;
}

bool SourceBuckets::ready(const SourceKey& key, Clock::time_point now) {
  if (rate_ <= 0) return true;
  if (now - swept_ > std::chrono::seconds(1) || buckets_.size() >= kMaxSources) sweep(now);
  if (buckets_.size() >= kMaxSources) buckets_.clear();  // only if every one of them is busy: start afresh
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{rate_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(rate_, b.tokens + std::chrono::duration<double>(now - b.refilled).count() * rate_);
    b.refilled = now;
  }
  return b.tokens >= 1;
}

void SourceBuckets::take(const SourceKey& key) {
  if (rate_ <= 0) return;
  if (auto it = buckets_.find(key); it != buckets_.end()) it->second.tokens = std::max(0.0, it->second.tokens - 1);
}

void SourceBuckets::sweep(Clock::time_point now) {
  swept_ = now;
  const auto full = std::chrono::duration<double>(1.0);  // a bucket refills completely within a second
  std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.refilled >= full; });
}

}  // namespace transport_udp
