// transport_tcp's per-connection debug lines (opened, closing, closed, a
// framing error) are limited to 10 a second: a connection flood is not a
// log flood (issue 15, item 4). The rest are summed up in one line.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "../../../plugins/transport_tcp/log_budget.hpp"

TEST_CASE("LogBudget: at most 10 debug lines a second, the rest summed up", "[transport_tcp][log]") {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  spdlog::logger log("t", ring);
  log.set_level(spdlog::level::debug);
  log.set_pattern("%v");
  transport_tcp::LogBudget budget;
  for (int i = 0; i < 25; ++i) budget.debug(log, "session {} opened", i);
  auto lines = ring->last_formatted();
  REQUIRE(lines.size() == 10);
  CHECK(lines.front().find("session 0 opened") == 0);
  CHECK(lines.back().find("session 9 opened") == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1050));  // the next one-second window
  budget.debug(log, "session {} opened", 99);
  lines = ring->last_formatted();
  REQUIRE(lines.size() == 12);
  CHECK(lines[10].find("(15 similar lines suppressed in the last second)") == 0);
  CHECK(lines[11].find("session 99 opened") == 0);
}

TEST_CASE("LogBudget: nothing is counted when debug is off", "[transport_tcp][log]") {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  spdlog::logger log("t", ring);
  log.set_level(spdlog::level::info);
  transport_tcp::LogBudget budget;
  for (int i = 0; i < 25; ++i) budget.debug(log, "session {} opened", i);
  CHECK(ring->last_formatted().empty());
}
