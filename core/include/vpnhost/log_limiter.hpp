// Limits how many log lines a noisy source (bad input from the network) may
// produce: at most `burst` per second; the rest are counted and summarised.
#pragma once
#include <chrono>
#include <cstdint>

namespace vpnhost {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimiter(std::uint32_t burst = 10) : burst_(burst) {}

  // True if a line may be logged now. When a new second starts, `suppressed`
  // is set to the number of lines held back in the last one (else 0).
  bool allow(std::uint64_t& suppressed) {
    const auto now = Clock::now();
    suppressed = 0;
    if (now - window_ >= std::chrono::seconds(1)) {
      suppressed = dropped_;
      dropped_ = 0;
      used_ = 0;
      window_ = now;
    }
    if (used_ < burst_) {
      ++used_;
      return true;
    }
    ++dropped_;
    return false;
  }

 private:
  std::uint32_t burst_;
  std::uint32_t used_ = 0;
  std::uint64_t dropped_ = 0;
  Clock::time_point window_{};
};

}  // namespace vpnhost
