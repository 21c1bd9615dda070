// vpnsdk::LogLimit: the rate limit for log lines that input from the network
// can cause (issue 15, item 4). The host's pipeline, transport_tcp,
// transport_udp and cipher_noise all use it; their own tests check what a
// flood makes of their log (e.g. cipher_noise's test_session_dos.cpp).
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "vpnsdk/log_limit.hpp"

using namespace std::chrono_literals;
using vpnsdk::LogLimit;

namespace {
struct Ring {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  spdlog::logger log{"t", sink};
  explicit Ring(spdlog::level::level_enum level) {
    log.set_level(level);
    log.set_pattern("%l %v");
  }
  std::vector<std::string> lines() {  // without their line ends
    auto all = sink->last_formatted();
    for (auto& l : all)
      while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    return all;
  }
};
}  // namespace

TEST_CASE("LogLimit: 10 lines a window, the rest counted and reported with the next line let through",
          "[sdk][log_limit]") {
  LogLimit lim;  // 10 a second
  const auto t0 = LogLimit::Clock::time_point{} + 1000s;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(lim.allow(t0 + i * 10ms));
    CHECK(lim.held() == 0);
    CHECK(lim.suffix().empty());
  }
  for (int i = 0; i < 15; ++i) CHECK_FALSE(lim.allow(t0 + 500ms + i * 10ms));
  CHECK_FALSE(lim.allow(t0 + 999ms));  // still the window opened at t0
  REQUIRE(lim.allow(t0 + 1s));         // the next one
  CHECK(lim.held() == 16);
  CHECK(lim.suffix() == " (16 similar line(s) suppressed)");
  REQUIRE(lim.allow(t0 + 1s + 1ms));
  CHECK(lim.held() == 0);  // reported once
}

TEST_CASE("LogLimit: a window opens at the first line after the last one ended, not on a grid", "[sdk][log_limit]") {
  LogLimit lim(2);
  const auto t0 = LogLimit::Clock::time_point{} + 1000s;
  CHECK(lim.allow(t0 + 700ms));  // opens [0.7, 1.7)
  CHECK(lim.allow(t0 + 1200ms));
  CHECK_FALSE(lim.allow(t0 + 1600ms));
  CHECK(lim.allow(t0 + 5s));  // quiet for a while: opens [5, 6)
  CHECK(lim.held() == 1);
  CHECK(lim.allow(t0 + 5900ms));
  CHECK_FALSE(lim.allow(t0 + 5950ms));
  CHECK(lim.allow(t0 + 6s));
  CHECK(lim.held() == 1);
}

TEST_CASE("LogLimit: transport_udp's limit, 10 per 2-second window: bursts of 10, 5 a second on average",
          "[sdk][log_limit]") {
  LogLimit lim(10, 2s);
  const auto t0 = LogLimit::Clock::time_point{} + 1000s;
  int let = 0;
  for (int ms = 0; ms < 10'000; ms += 10) let += lim.allow(t0 + std::chrono::milliseconds(ms)) ? 1 : 0;
  CHECK(let == 50);  // 1000 in 10 s: 5 windows of 10
}

TEST_CASE("LogLimit: no line is let through and none counted while the level is off", "[sdk][log_limit]") {
  Ring ring(spdlog::level::info);
  LogLimit lim;
  for (int i = 0; i < 25; ++i) lim.log(ring.log, spdlog::level::debug, "session {} opened", i);
  for (int i = 0; i < 25; ++i) CHECK_FALSE(lim.allow(ring.log, spdlog::level::trace));
  CHECK(ring.lines().empty());
  ring.log.set_level(spdlog::level::debug);
  REQUIRE(lim.allow(ring.log, spdlog::level::debug));
  CHECK(lim.held() == 0);
  CHECK(LogLimit(0).allow());  // at least one line a window
}

TEST_CASE("LogLimit::log: at most 10 lines a second, then one summary line before the next", "[sdk][log_limit]") {
  // transport_tcp's per-connection debug lines (opened, closing, closed, a
  // framing error): a connection flood is not a log flood.
  Ring ring(spdlog::level::debug);
  LogLimit lim;
  for (int i = 0; i < 25; ++i) lim.log(ring.log, spdlog::level::debug, "session {} opened", i);
  auto lines = ring.lines();
  REQUIRE(lines.size() == 10);
  CHECK(lines.front() == "debug session 0 opened");
  CHECK(lines.back() == "debug session 9 opened");
  std::this_thread::sleep_for(1050ms);  // the next one-second window
  lim.log(ring.log, spdlog::level::debug, "session {} opened", 99);
  lines = ring.lines();
  REQUIRE(lines.size() == 12);
  CHECK(lines[10] == "debug (15 similar lines suppressed in the last second)");
  CHECK(lines[11] == "debug session 99 opened");
}

TEST_CASE("LogLimit::log: the summary names warnings and errors as such, and another window", "[sdk][log_limit]") {
  // The pipeline's warn_limited and its "[plugin] threw in ..." errors share one limit.
  Ring ring(spdlog::level::info);
  LogLimit lim(1, 30ms);
  lim.log(ring.log, spdlog::level::warn, "protocol violation {}", 1);
  lim.log(ring.log, spdlog::level::warn, "protocol violation {}", 2);
  lim.log(ring.log, spdlog::level::err, "threw {}", 3);
  std::this_thread::sleep_for(40ms);
  lim.log(ring.log, spdlog::level::warn, "protocol violation {}", 4);
  lim.log(ring.log, spdlog::level::err, "threw {}", 5);
  std::this_thread::sleep_for(40ms);
  lim.log(ring.log, spdlog::level::err, "threw {}", 6);
  const auto lines = ring.lines();
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "warning protocol violation 1");
  CHECK(lines[1] == "warning (2 similar warnings suppressed in the last 30 ms)");
  CHECK(lines[2] == "warning protocol violation 4");
  CHECK(lines[3] == "error (1 similar errors suppressed in the last 30 ms)");
  CHECK(lines[4] == "error threw 6");
}
