// The transport loopback kit itself: it passes a correct in-process
// transport and catches each deliberate bug.
#include <catch2/catch.hpp>

#include <string>

#include "fake_transport.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"

using fakes::FakeTransport;
using fakes::TransportBug;

namespace {

vpnsdk::testkit::Report check(TransportBug bug, int timeout_ms = 1000) {
  vpnsdk::PacketPool pool;         // outlives the io_context and the transports
  boost::asio::io_context io;      // handlers still queued are dropped before the transports go
  auto link = std::make_shared<fakes::Link>();
  FakeTransport server(io, pool, link, true, bug);
  FakeTransport client(io, pool, link, false, bug);
  vpnsdk::testkit::TransportLoopback c;
  c.timeout = std::chrono::milliseconds(timeout_ms);
  return vpnsdk::testkit::check_transport_loopback(server, client, io, pool, c);
}

bool mentions(const vpnsdk::testkit::Report& r, const std::string& text) {
  for (const auto& f : r.failures())
    if (f.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("loopback kit: a correct transport passes", "[conformance][kit]") {
  const auto r = check(TransportBug::none);
  INFO(r.text());
  CHECK(r.ok());
  CHECK(r.checks() > 400);
}

TEST_CASE("loopback kit: closed() from inside close() is a re-entrancy violation", "[conformance][kit]") {
  const auto r = check(TransportBug::reentrant_close);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "closed() called from inside a host call"));
}

TEST_CASE("loopback kit: frames out of order are reported", "[conformance][kit]") {
  const auto r = check(TransportBug::reorder);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "is the next frame sent, intact and in order"));
}

TEST_CASE("loopback kit: a lost frame is reported for a reliable transport", "[conformance][kit]") {
  const auto r = check(TransportBug::loses_last, 300);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "frames arrived within the timeout"));
}

TEST_CASE("loopback kit: send() to an unknown session must say drop_no_route", "[conformance][kit]") {
  const auto r = check(TransportBug::no_unknown_check);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "unknown session returns drop_no_route"));
}

TEST_CASE("loopback kit: buffers held after stop() are reported", "[conformance][kit]") {
  const auto r = check(TransportBug::keeps_buffers);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "after stop() no packet buffer is held"));
}
