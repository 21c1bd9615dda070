// Per-source handshake rate limit: a token bucket per peer address. Every
// handshake initiation costs one token before any Diffie-Hellman is done;
// a source with no token left is refused without spending CPU on it. The
// table is bounded: when it is full, buckets that have refilled completely
// (sources that are quiet) are forgotten first, then the oldest.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace cipher_noise {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxSources = 4096;

  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}

  // True (and one token spent) if `source` may do a handshake now.
  bool allow(const std::string& source, Clock::time_point now);
  std::size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  void refill(Bucket& b, Clock::time_point now) const;
  void make_room(Clock::time_point now);

  double rate_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace cipher_noise
