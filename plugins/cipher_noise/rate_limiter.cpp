#include "rate_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace cipher_noise {

std::string source_bucket(const std::string& address) {
  in6_addr a6{};
  if (inet_pton(AF_INET6, address.c_str(), &a6) != 1) return address;
  static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(a6.s6_addr, mapped, sizeof mapped) == 0) {
    inet_ntop(AF_INET, a6.s6_addr + 12, text, sizeof text);
    return text;
  }
  std::memset(a6.s6_addr + 8, 0, 8);
  inet_ntop(AF_INET6, &a6, text, sizeof text);
  return std::string(text) + "/64";
}

void TokenBucket::refill(double rate, double burst, Clock::time_point now) {
  if (now <= last) return;
  const double elapsed = std::chrono::duration<double>(now - last).count();
  tokens = std::min(burst, tokens + elapsed * rate);
  last = now;
}

bool TokenBucket::take(double rate, double burst, Clock::time_point now) {
  refill(rate, burst, now);
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

void RateLimiter::make_room(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it->second.refill(rate_, burst_, now);
    it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  while (buckets_.size() >= kMaxSources) {
    auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
    buckets_.erase(oldest);
  }
}

bool RateLimiter::allow(const std::string& source, Clock::time_point now) {
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxSources) make_room(now);
    it = buckets_.emplace(source, TokenBucket{burst_, now}).first;
  }
  return it->second.take(rate_, burst_, now);
}

void LoadMeter::roll(Clock::time_point now) {
  if (now - window_ < std::chrono::seconds(1)) return;
  previous_ = now - window_ < std::chrono::seconds(2) ? current_ : 0;
  current_ = 0;
  window_ = now;
}

void LoadMeter::note(Clock::time_point now) {
  roll(now);
  ++current_;
}

bool LoadMeter::busy(Clock::time_point now) {
  roll(now);
  return static_cast<double>(std::max(current_, previous_)) > threshold_;
}

}  // namespace cipher_noise
