// The server's stateless proof of a new source's return address (protocol.md
// section 11.7): before a datagram from an unknown source may open a session,
// the source must echo a cookie the server sent to it. The cookie is a MAC,
// so the server keeps no state per asking source:
//
//   cookie = BLAKE2b-128(key = secret[slot],
//                        slot (u64 BE) || family (u8: 4 or 6) || address (4 or 16 bytes) || port (u16 BE))
//
// with slot = floor(steady clock seconds / kCookieSlot). Each slot has its
// own random 32-byte secret; the secrets of the current and the previous
// slot are kept, so a cookie is accepted for 30 to 60 s. An IPv4-mapped IPv6
// source counts as IPv4. Also here: the key of a source's new-session bucket
// (an IPv4 address, an IPv6 /64) and the buckets themselves.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>

#include "peer.hpp"

namespace transport_udp {

inline constexpr std::size_t kCookieSize = 16;
inline constexpr std::chrono::seconds kCookieSlot{30};
using Cookie = std::array<std::byte, kCookieSize>;

class CookieJar {
 public:
  using Clock = std::chrono::steady_clock;
  CookieJar();

  // The cookie for `source` now.
  Cookie make(const Peer& source, Clock::time_point now);
  // True if `cookie` is the one for `source` in the current or the previous slot.
  bool check(const Peer& source, std::span<const std::byte> cookie, Clock::time_point now);

  static constexpr std::size_t kSecretSize = 32;  // crypto_generichash_KEYBYTES
  // The MAC itself (protocol.md 11.7), for a given secret and slot.
  static Cookie mac(const std::array<unsigned char, kSecretSize>& secret, std::uint64_t slot, const Peer& source);

 private:
  void rotate(std::uint64_t slot);

  std::uint64_t slot_ = 0;  // the current slot (secret_[0]); secret_[1] is slot_ - 1's
  std::array<std::array<unsigned char, kSecretSize>, 2> secret_{};
  bool have_previous_ = false;
};

inline bool all_zero(std::span<const std::byte> b) noexcept {
  std::byte acc{0};
  for (std::byte x : b) acc |= x;
  return acc == std::byte{0};
}

// A source's new-session bucket: its IPv4 address, or its IPv6 address's /64
// (one host usually has a whole /64).
struct SourceKey {
  std::array<std::uint8_t, 9> bytes{};  // family (4 or 6), then 4 or 8 address bytes
  bool operator==(const SourceKey&) const = default;
};
struct SourceKeyHash {
  std::size_t operator()(const SourceKey& k) const noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (std::uint8_t b : k.bytes) h = (h ^ b) * 1099511628211ull;
    return static_cast<std::size_t>(h);
  }
};
SourceKey source_key(const Peer& p) noexcept;

// Token buckets per source (rate per second, burst of the same size), at
// most kMaxSources of them: full buckets (idle sources) are forgotten.
class SourceBuckets {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxSources = 16384;

  explicit SourceBuckets(unsigned per_second) : rate_(per_second) {}
  // True if `key` has a token now (does not take it).
  bool ready(const SourceKey& key, Clock::time_point now);
  // Takes the token ready() found.
  void take(const SourceKey& key);
  std::size_t size() const noexcept { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled{};
  };
  void sweep(Clock::time_point now);

  double rate_;
  std::unordered_map<SourceKey, Bucket, SourceKeyHash> buckets_;
  Clock::time_point swept_{};
};

}  // namespace transport_udp
