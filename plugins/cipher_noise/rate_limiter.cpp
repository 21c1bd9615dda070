#include "rate_limiter.hpp"

#include <algorithm>

namespace cipher_noise {

void RateLimiter::refill(Bucket& b, Clock::time_point now) const {
  if (now <= b.last) return;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.last = now;
}

void RateLimiter::make_room(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
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
    it = buckets_.emplace(source, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace cipher_noise
