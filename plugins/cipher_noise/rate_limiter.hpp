// Handshake rate limits and the load meter, all consulted before any
// Diffie-Hellman.
//
// RateLimiter: a token bucket per source (source_bucket(): an IPv4 address,
// or an IPv6 /64 — one host owns a /64, and a /64 has 2^64 addresses to
// rotate through). Every handshake initiation it admits costs one token; a
// source with no token left gets a cookie reply (noise_session.cpp), not a
// refusal. The table is bounded: when it is full, buckets that have
// refilled completely (sources that are quiet) are forgotten first, then
// the oldest.
//
// TokenBucket: one bucket (a session's own allowance for rekeys).
//
// LoadMeter: initiations a second over the whole instance; above the
// threshold the server is "under load" and answers initiations without a
// valid mac2 with a cookie reply instead of doing Diffie-Hellman.
//
// (The limit for log lines from unauthenticated input is the SDK's
// vpnsdk::LogLimit, noise_context.hpp.)
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace cipher_noise {

// "192.0.2.7" -> "192.0.2.7"; "2001:db8:1:2:a:b:c:d" -> "2001:db8:1:2::/64";
// an IPv4-mapped IPv6 address counts as its IPv4 address; anything else
// as itself.
std::string source_bucket(const std::string& address);

struct TokenBucket {
  using Clock = std::chrono::steady_clock;
  double tokens = 0;
  Clock::time_point last{};
  void refill(double rate, double burst, Clock::time_point now);
  // True (and one token spent) if a token is left.
  bool take(double rate, double burst, Clock::time_point now);
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxSources = 4096;

  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}

  // True (and one token spent) if `source` (a source_bucket()) may do a handshake now.
  bool allow(const std::string& source, Clock::time_point now);
  std::size_t tracked() const { return buckets_.size(); }

 private:
  void make_room(Clock::time_point now);

  double rate_;
  double burst_;
  std::unordered_map<std::string, TokenBucket> buckets_;
};

class LoadMeter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoadMeter(double threshold) : threshold_(threshold) {}
  // One initiation arrived (with a valid mac1).
  void note(Clock::time_point now);
  // More than `threshold` initiations in the last second (the previous
  // whole second, or the current one so far).
  bool busy(Clock::time_point now);
  void set_threshold(double t) { threshold_ = t; }

 private:
  void roll(Clock::time_point now);
  double threshold_;
  Clock::time_point window_{};
  std::uint64_t current_ = 0;
  std::uint64_t previous_ = 0;
};

}  // namespace cipher_noise
