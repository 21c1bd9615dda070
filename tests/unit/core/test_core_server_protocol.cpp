// The session protocol, server side, in process (kit/rig.hpp): HELLO,
// WELCOME, REJECT, BYE, KEEPALIVE and the session limits, each with the
// counters it moves. docs/protocol.md §4 (frame bodies), §5.2 (the server's
// state machine), §7 (errors); the timers are in test_core_timers.cpp.
#include <catch2/catch.hpp>

#include "kit/rig.hpp"
#include "vpnhost/mtu.hpp"

using namespace coretest;

namespace {

// The tunnel MTU the core derives with the fake stages: a transport that
// cannot tell (frame_mtu 0: a 1500-byte underlay assumed), 8 bytes of
// transport framing, the fake cipher's 1-byte tag (docs/mtu.md).
const std::uint16_t kDerivedMtu = vpnhost::mtu::tunnel_mtu(0, 8, 1);

proto::Hello hello(std::uint16_t max_body = 9216, std::uint16_t requested_mtu = 0, std::uint16_t version = 1) {
  proto::Hello h;
  h.version = version;
  h.max_body = max_body;
  h.requested_mtu = requested_mtu;
  return h;
}

// A cipher that authenticates its peer (as cipher_noise): violations end sessions.
const CipherBehaviour kAuthenticating{.authenticates = true};

}  // namespace

// §4.1, §4.2: what WELCOME carries.
TEST_CASE("HELLO is answered with WELCOME: the pool's lowest free address, the server's address, the prefix, "
          "the host's keepalive and timeout, max_body and the derived MTU",
          "[core][protocol][server]") {
  vpnhost::SessionLimits limits;
  limits.keepalive = std::chrono::seconds(7);
  limits.session_timeout = std::chrono::seconds(42);
  Rig rig({.limits = limits});
  REQUIRE(kDerivedMtu == 1439);
  rig.open(1);
  CHECK(rig.state(1) == "awaiting_hello");
  CHECK(rig.transport.sent.empty());  // the server says nothing before HELLO
  rig.send_hello(1, hello());
  auto w = rig.welcome_sent(1);
  REQUIRE(w);
  CHECK(w->version == 1);
  CHECK(w->max_body == 9216);
  CHECK(w->assignment.address == Rig::kFirst);
  CHECK(w->assignment.prefix_len == 24);
  CHECK(w->assignment.server == Rig::kServer);
  CHECK(w->assignment.mtu == kDerivedMtu);
  CHECK(w->assignment.keepalive_s == 7);
  CHECK(w->assignment.timeout_s == 42);
  CHECK(rig.state(1) == "established");
  CHECK(rig.address(1) == "10.10.0.2");
  CHECK(rig.snapshot(1)->prefix_len == 24);
  rig.establish(2);
  CHECK(rig.welcome_sent(2)->assignment.address == Rig::kFirst + 1);
  CHECK(rig.transport.sent.size() == 2);  // two WELCOMEs, nothing else
  CHECK(rig.moved() == Moved{{"host.sessions_opened", 2}, {"router_hub.assigned", 2}});
}

// §4.1 (requested_mtu, max_body), §4.2 (how the server fills in `mtu`).
TEST_CASE("WELCOME's MTU is the smallest of the derived MTU, the router's, requested_mtu (if at least 576) and "
          "max_body minus the cipher's overhead",
          "[core][protocol][server][mtu]") {
  Rig rig;
  rig.establish(1, hello(9216, 1300));
  CHECK(rig.welcome_sent(1)->assignment.mtu == 1300);
  rig.establish(2, hello(9216, 500));  // below 576: ignored
  CHECK(rig.welcome_sent(2)->assignment.mtu == kDerivedMtu);
  rig.establish(3, hello(1001));  // 1001 - the 1-byte tag
  CHECK(rig.welcome_sent(3)->assignment.mtu == 1000);
  rig.establish(4, hello(577));  // exactly 576 + the overhead
  CHECK(rig.welcome_sent(4)->assignment.mtu == 576);
  rig.establish(5, hello(0));  // no limit of the client's own
  CHECK(rig.welcome_sent(5)->assignment.mtu == kDerivedMtu);

  Rig capped({.router_options = {{"mtu", std::int64_t{1200}}}});
  capped.establish(1, hello());
  CHECK(capped.welcome_sent(1)->assignment.mtu == 1200);
}

// §4.1: the version check; §7: "HELLO version ≠ 1 | REJECT 2, session closed".
TEST_CASE("HELLO with another protocol version gets REJECT 2 and the session ends, no address assigned",
          "[core][protocol][server]") {
  Rig rig;
  rig.open(1);
  rig.mark();
  rig.send_hello(1, hello(9216, 0, 2));
  CHECK(rig.reject_sent(1) ==
        proto::Reject{proto::RejectCode::version, "protocol version 2 is not supported; this server speaks 1"});
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.transport.frames_to(1, FrameType::welcome).empty());
  rig.core.poll();
  CHECK(rig.core.session_count() == 0);
  CHECK(rig.moved() == Moved{{"host.sessions_closed", 1}});
}

// §4.1: "max_body ... at least 576 + the cipher's overhead | REJECT code 5 ... (the address goes back to the pool)".
TEST_CASE("HELLO whose max_body is below 576 plus the cipher's overhead gets REJECT 5 and its address goes back",
          "[core][protocol][server][mtu]") {
  Rig rig;
  rig.open(1);
  rig.mark();
  rig.send_hello(1, hello(576));  // 576 < 576 + 1
  CHECK(rig.reject_sent(1) ==
        proto::Reject{proto::RejectCode::protocol, "HELLO max_body 576 is below the minimum MTU 576"});
  CHECK(rig.transport.frames_to(1, FrameType::welcome).empty());
  rig.core.poll();
  CHECK(rig.core.session_count() == 0);
  CHECK(rig.moved() ==
        Moved{{"host.sessions_closed", 1}, {"router_hub.assigned", 1}, {"router_hub.released", 1}});
  rig.establish(2);
  CHECK(rig.address(2) == "10.10.0.2");  // the address that was assigned and given back
}

// §5.2: "ESTABLISHED | HELLO | violation `HELLO twice`"; §7: host.protocol_errors, drop.protocol_violation.
TEST_CASE("HELLO twice on an established session of an authenticating cipher ends it and frees its address",
          "[core][protocol][server]") {
  Rig rig({.cipher = kAuthenticating});
  rig.establish(1);
  rig.mark();
  rig.send_hello(1, hello());
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.transport.frames_to(1, FrameType::welcome).size() == 1);  // no second WELCOME
  CHECK(rig.log.contains("protocol violation: HELLO twice"));
  rig.core.poll();
  CHECK(rig.moved() == Moved{{"host.protocol_errors", 1},
                             {"drop.protocol_violation", 1},
                             {"host.sessions_closed", 1},
                             {"router_hub.released", 1}});
}

// §4.3: "DATA before WELCOME" is a violation; §5.2: WELCOME or REJECT to a server too.
TEST_CASE("DATA before HELLO, and WELCOME or REJECT sent to a server, are violations that end the session",
          "[core][protocol][server]") {
  const std::byte packet[20] = {};
  for (auto [type, what] : {std::pair{FrameType::data, "DATA before WELCOME"},
                            std::pair{FrameType::welcome, "unexpected WELCOME"},
                            std::pair{FrameType::reject, "REJECT sent to a server"}}) {
    INFO(what);
    Rig rig({.cipher = kAuthenticating});
    rig.open(1);
    rig.mark();
    rig.receive(type, packet, 0, 1);
    CHECK(rig.closes_of(1) == 1);
    CHECK(rig.log.contains(std::string("protocol violation: ") + what));
    CHECK(rig.moved() == Moved{{"host.protocol_errors", 1}, {"drop.protocol_violation", 1}});
  }
}

// §4.4: "KEEPALIVE is accepted in every state after the cipher handshake, including before HELLO/WELCOME".
TEST_CASE("a KEEPALIVE before HELLO is accepted and changes nothing", "[core][protocol][server]") {
  Rig rig;
  rig.open(1);
  rig.mark();
  const std::byte junk[3] = {std::byte{1}, std::byte{2}, std::byte{3}};  // its body is ignored
  rig.receive(FrameType::keepalive, junk, 0, 1);
  CHECK(rig.state(1) == "awaiting_hello");
  CHECK(rig.transport.sent.empty());
  CHECK(rig.closes_of(1) == 0);
  CHECK(rig.moved().empty());
  rig.send_hello(1, hello());
  CHECK(rig.state(1) == "established");
}

// §4.5: "The server accepts BYE in any state (also before HELLO) and frees the client's address."
TEST_CASE("BYE from a client ends its session without a frame and frees its address, in any state",
          "[core][protocol][server]") {
  Rig rig;
  rig.establish(1);
  rig.open(2);
  rig.mark();
  rig.bye(1, proto::ByeReason::leaving, "SIGINT");
  rig.bye(2, proto::ByeReason::leaving);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.closes_of(2) == 1);
  CHECK(rig.transport.sent.size() == 1);  // only session 1's WELCOME, from before
  rig.core.poll();
  CHECK(rig.core.session_count() == 0);
  CHECK(rig.moved() == Moved{{"host.sessions_closed", 2}, {"router_hub.released", 1}});
  rig.establish(3);
  CHECK(rig.address(3) == "10.10.0.2");
}

// §11.2: a late copy of a BYE is the transport's to count (transport_udp's
// late_byes, tests/unit/transport_udp/test_server.cpp); the core ignores a
// BYE for a session that is ending or gone.
TEST_CASE("a late duplicate BYE, in the same batch or after the session is gone, changes nothing",
          "[core][protocol][server]") {
  Rig rig;
  rig.establish(1);
  rig.mark();
  std::vector<vpnsdk::PacketPtr> batch;
  batch.push_back(rig.frame(FrameType::bye, proto::encode(proto::Bye{proto::ByeReason::leaving, ""}), 1));
  batch.push_back(rig.frame(FrameType::bye, proto::encode(proto::Bye{proto::ByeReason::leaving, ""}), 1));
  rig.transport.deliver(std::move(batch));
  CHECK(rig.closes_of(1) == 1);
  rig.core.poll();
  CHECK(rig.core.session_count() == 0);
  const Moved after_close{{"host.sessions_closed", 1}, {"router_hub.released", 1}};
  CHECK(rig.moved() == after_close);
  rig.bye(1);  // the copy that comes after the session is gone
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.moved() == after_close);
  CHECK(rig.core.pool.in_use() == 0);
}

// §5.2: "HELLO while max_sessions sessions are ESTABLISHED | send REJECT 4, close (drop.session_limit)".
TEST_CASE("at max_sessions established sessions the next HELLO gets REJECT 4, and once one ends a HELLO is welcomed",
          "[core][protocol][server][limits]") {
  vpnhost::SessionLimits limits;
  limits.max_sessions = 2;
  Rig rig({.limits = limits});
  rig.establish(1);
  rig.establish(2);
  rig.open(3);  // a session in handshake does not count
  rig.open(4);
  rig.mark();
  rig.send_hello(3, hello());
  CHECK(rig.reject_sent(3) == proto::Reject{proto::RejectCode::busy, "server busy: session limit reached"});
  CHECK(rig.closes_of(3) == 1);
  CHECK(rig.moved() == Moved{{"drop.session_limit", 1}});
  rig.bye(1);
  rig.core.poll();
  rig.send_hello(4, hello());
  CHECK(rig.state(4) == "established");
  CHECK(rig.address(4) == "10.10.0.2");
}

// §5.2: "more than max_handshakes sessions are not yet ESTABLISHED | the oldest of them is closed without a frame".
TEST_CASE("beyond max_handshakes sessions in handshake the oldest of them is closed without a frame",
          "[core][protocol][server][limits]") {
  vpnhost::SessionLimits limits;
  limits.max_handshakes = 2;
  Rig rig({.limits = limits});
  rig.establish(9);  // established sessions do not count
  rig.open(1);
  rig.open(2);
  rig.mark();
  CHECK(rig.closes_of(1) == 0);
  rig.open(3);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.closes_of(2) == 0);
  CHECK(rig.closes_of(3) == 0);
  CHECK(rig.closes_of(9) == 0);
  CHECK(rig.transport.frames_to(1, FrameType::reject).empty());
  CHECK(rig.transport.frames_to(1, FrameType::bye).empty());
  rig.core.poll();
  CHECK(rig.moved() == Moved{{"host.sessions_opened", 1}, {"drop.handshake_evicted", 1}, {"host.sessions_closed", 1}});
  rig.send_hello(2, hello());
  CHECK(rig.state(2) == "established");
}

// §5.2: "At shutdown the server sends BYE only to ESTABLISHED sessions, closes every session, waits until all
// are closed ... and exits with status 0."
TEST_CASE("at shutdown the server says BYE shutdown to established sessions only, closes all, then finishes",
          "[core][protocol][server]") {
  Rig rig;
  rig.establish(1);
  rig.open(2);
  rig.core.shutdown(0, "SIGTERM");
  CHECK(rig.bye_sent(1) == proto::Bye{proto::ByeReason::shutdown, "SIGTERM"});
  CHECK(rig.transport.frames_to(2, FrameType::bye).empty());
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.closes_of(2) == 1);
  REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
  CHECK(rig.core.exit_code == 0);
  CHECK(rig.transport.stopped);
  CHECK(rig.core.session_count() == 0);
}
