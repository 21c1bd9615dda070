// Rate limit for log lines that input from the network can cause (a stranger
// must not be able to flood the log): each call site owns a LogLimit, which
// lets a few lines a second through and says how many it held back.
//
//   if (lim_bad_.allow(*log_, spdlog::level::debug)) log_->debug("... {}", x, lim_bad_.suffix());
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "vpnsdk/log.hpp"

namespace transport_udp {

class LogLimit {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimit(double per_second = 5, double burst = 10) : rate_(per_second), burst_(burst), tokens_(burst) {}

  // True: log now (and then use suffix() in the line). Counts what it holds back.
  bool allow(spdlog::logger& log, spdlog::level::level_enum level, Clock::time_point now = Clock::now()) {
    if (!log.should_log(level)) return false;
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate_);
    refilled_ = now;
    if (tokens_ < 1) {
      ++suppressed_;
      return false;
    }
    tokens_ -= 1;
    return true;
  }
  // " (N similar lines suppressed)" once after lines were held back, else "".
  std::string suffix() {
    if (suppressed_ == 0) return {};
    std::string s = " (" + std::to_string(suppressed_) + " similar line(s) suppressed)";
    suppressed_ = 0;
    return s;
  }

 private:
  double rate_, burst_, tokens_;
  Clock::time_point refilled_ = Clock::now();
  std::uint64_t suppressed_ = 0;
};

}  // namespace transport_udp
