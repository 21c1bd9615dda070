// At most `burst` log lines a second for what a peer can cause per
// connection (opened, closed, a framing error): a connection flood must not
// become a log flood (issue 15, item 4). The lines held back are summed up
// once the next second starts.
#pragma once
#include <chrono>
#include <cstdint>
#include <utility>

#include "vpnsdk/log.hpp"

namespace transport_tcp {

class LogBudget {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogBudget(std::uint32_t burst = 10) : burst_(burst) {}

  template <class... Args>
  void debug(spdlog::logger& log, fmt::format_string<Args...> f, Args&&... args) {
    if (!log.should_log(spdlog::level::debug)) return;
    const auto now = Clock::now();
    if (now - window_ >= std::chrono::seconds(1)) {
      if (held_ > 0) log.debug("({} similar lines suppressed in the last second)", held_);
      held_ = 0;
      used_ = 0;
      window_ = now;
    }
    if (used_ >= burst_) {
      ++held_;
      return;
    }
    ++used_;
    log.debug(f, std::forward<Args>(args)...);
  }

 private:
  std::uint32_t burst_;
  std::uint32_t used_ = 0;
  std::uint64_t held_ = 0;
  Clock::time_point window_{};
};

}  // namespace transport_tcp
