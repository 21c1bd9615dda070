// A rate limit for log lines that input from the network can cause.
//
// Anyone who can send a datagram or open a connection can make a plugin log
// something: a bad frame, a refused handshake, a connection opened and
// closed. Without a limit a stranger turns that into a log flood (a full
// disk, an unreadable journal, CPU spent formatting). Give every kind of
// such a line its own LogLimit; it lets `lines` through per window (the
// first `lines` calls of each window, which opens at the first call after
// the previous one ended) and counts the rest, so that the next line let
// through can say how many were held back. docs/plugin-guide.md, "Logging".
//
//   vpnsdk::LogLimit bad_frames_;  // 10 a second
//   bad_frames_.log(log, spdlog::level::debug, "session {}: bad frame: {}", id, why);
//     // -> "(N similar lines suppressed in the last second)" before the
//     //    first line of a window after lines were held back
//   if (bad_frames_.allow(log, spdlog::level::trace))
//     log.trace("dropped a datagram from {}{}", from, bad_frames_.suffix());
//     // -> "... (N similar line(s) suppressed)" on that line instead
//
// Header-only, no virtuals, nothing of it crosses the plugin boundary (each
// side compiles its own copy). One thread: no locking.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "vpnsdk/log.hpp"

namespace vpnsdk {

class LogLimit {
 public:
  using Clock = std::chrono::steady_clock;

  // At most `lines` (at least 1) lines per `window`.
  explicit LogLimit(std::uint32_t lines = 10, Clock::duration window = std::chrono::seconds(1)) noexcept
      : lines_(lines > 0 ? lines : 1), window_(window) {}

  // A line wants out at `now`. True: write it, and report held() with it.
  // False: it is held back (and counted); don't write it.
  bool allow(Clock::time_point now = Clock::now()) noexcept {
    if (!opened_ || now - start_ >= window_) {
      opened_ = true;
      start_ = now;
      used_ = 0;
    }
    if (used_ >= lines_) {
      ++pending_;
      return false;
    }
    ++used_;
    held_ = pending_;
    pending_ = 0;
    return true;
  }

  // The same for a line at `level` on `log`: false, and nothing counted,
  // while that level is off.
  bool allow(const spdlog::logger& log, spdlog::level::level_enum level,
             Clock::time_point now = Clock::now()) noexcept {
    return log.should_log(level) && allow(now);
  }

  // After allow() returned true: how many lines were held back since the
  // line let through before this one (they are all from the window before).
  std::uint64_t held() const noexcept { return held_; }

  // After allow() returned true: " (N similar line(s) suppressed)", or ""
  // if none were — to end the line with.
  std::string suffix() const {
    if (held_ == 0) return {};
    return " (" + std::to_string(held_) + " similar line(s) suppressed)";
  }

  // One line at `level` through the limit. When lines were held back, a
  // summary line at the same level goes first: "(N similar lines suppressed
  // in the last second)" ("warnings", "errors" at those levels).
  template <class... Args>
  void log(spdlog::logger& log, spdlog::level::level_enum level, spdlog::format_string_t<Args...> f,
           Args&&... args) {
    if (!allow(log, level)) return;
    if (held_ > 0)
      log.log(level, "({} similar {} suppressed in the last {})", held_,
              level == spdlog::level::warn  ? "warnings"
              : level == spdlog::level::err ? "errors"
                                            : "lines",
              window_text());
    log.log(level, f, std::forward<Args>(args)...);
  }

 private:
  std::string window_text() const {
    using std::chrono::duration_cast;
    const auto ms = duration_cast<std::chrono::milliseconds>(window_).count();
    if (ms == 1000) return "second";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " seconds";
    return std::to_string(ms) + " ms";
  }

  std::uint32_t lines_;
  Clock::duration window_;
  bool opened_ = false;        // a window has been opened (at the first call)
  Clock::time_point start_{};  // when the current window opened
  std::uint32_t used_ = 0;     // lines let through in it
  std::uint64_t pending_ = 0;  // held back since the last line let through
  std::uint64_t held_ = 0;     // what pending_ was when the last line was let through
};

}  // namespace vpnsdk
