// transport_tcp's per-connection debug lines (opened, closing, closed, a
// framing error) go through one vpnsdk::LogLimit: 10 a second, the rest
// summed up in one line. A connection flood is not a log flood (issue 15,
// item 4). The limit itself: tests/unit/sdk/test_log_limit.cpp.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "rig.hpp"

using namespace tcptest;

namespace {
std::size_t count_with(const std::vector<std::string>& lines, const std::string& what) {
  std::size_t n = 0;
  for (const auto& l : lines) n += l.find(what) != std::string::npos ? 1 : 0;
  return n;
}
}  // namespace

TEST_CASE("a connection flood gives at most 10 debug lines a second, then one summary", "[transport_tcp][log]") {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  auto log = std::make_shared<spdlog::logger>("plugin:transport_tcp", ring);
  log->set_level(spdlog::level::debug);
  log->set_pattern("%v");
  Rig rig({}, log);
  const auto port = free_port();
  Instance& server = rig.server(port);
  REQUIRE(server.create_status.ok());
  REQUIRE(server.start().ok());
  const auto before = ring->last_formatted().size();

  // 40 connections that open and go away at once: 80 lines or more (opened,
  // closed) without the limit.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) {
    RawConn c(rig.io());
    c.connect(port);
    const auto opened = server.sink.opened_.size();
    REQUIRE(rig.run_until([&] { return server.sink.opened_.size() == opened + 1; }));
    c.sock.close();
    const auto closed = server.sink.closed_.size();
    REQUIRE(rig.run_until([&] { return server.sink.closed_.size() == closed + 1; }));
  }
  const bool within_a_second = std::chrono::steady_clock::now() - t0 < 900ms;
  auto lines = ring->last_formatted();
  lines.erase(lines.begin(), lines.begin() + static_cast<long>(before));
  INFO(lines.size() << " lines");
  if (within_a_second) {
    CHECK(lines.size() == 10);
    CHECK(count_with(lines, "suppressed") == 0);
  }
  CHECK(lines.size() <= 10 + 1 + 10);  // a slow machine: a second window and its summary at most
  CHECK(server.counter("sessions_opened") == 40);

  rig.run_for(1100ms);  // the next window
  const auto n = lines.size();
  {
    RawConn c(rig.io());
    c.connect(port);
    REQUIRE(rig.run_until([&] { return server.sink.opened_.size() == 41; }));
  }
  lines = ring->last_formatted();
  lines.erase(lines.begin(), lines.begin() + static_cast<long>(before + n));
  REQUIRE(lines.size() >= 2);
  CHECK(lines[0].find("similar lines suppressed in the last second)") != std::string::npos);
  CHECK(lines[1].find("session 41 opened") != std::string::npos);
}
