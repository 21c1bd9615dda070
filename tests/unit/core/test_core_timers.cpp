// The session protocol's timers, in process (kit/rig.hpp): handshake_timeout,
// the idle timeout and keepalives. docs/protocol.md §6. The core checks its
// timers once a second on the real clock (kit/core_under_test.hpp), so these
// tests set the smallest limits (0 or 1 s) and wait with a bounded poll: each
// takes one to two seconds.
#include <catch2/catch.hpp>

#include "kit/rig.hpp"

using namespace coretest;

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

vpnhost::SessionLimits no_handshake_time() {
  vpnhost::SessionLimits l;
  l.handshake_timeout = seconds(0);  // a session not established at the next check is too late
  return l;
}

}  // namespace

// §6: "a session that is not ESTABLISHED more than handshake_timeout seconds after the TCP connection was made
// is closed without a frame"; §5.2: drop.handshake_timeout.
TEST_CASE("handshake_timeout ends a server session that has not said HELLO, without a frame, and an established one stays",
          "[core][protocol][timers]") {
  Rig rig({.limits = no_handshake_time()});
  rig.open(1);
  rig.establish(2);
  rig.mark();
  REQUIRE(rig.core.run_until([&] { return rig.closes_of(1) == 1; }, milliseconds(3000)));
  CHECK(rig.transport.frames_to(1, FrameType::bye).empty());
  CHECK(rig.transport.frames_to(1, FrameType::reject).empty());
  CHECK(rig.closes_of(2) == 0);
  CHECK(rig.state(2) == "established");
  rig.core.poll();
  CHECK(rig.moved() == Moved{{"drop.handshake_timeout", 1}, {"host.sessions_closed", 1}});
}

// §5.1: "HELLO_SENT | no WELCOME within handshake_timeout of the TCP connect | close | WAITING".
TEST_CASE("handshake_timeout ends a client session still waiting for WELCOME, and the client reconnects",
          "[core][protocol][timers][client]") {
  Rig rig({.limits = no_handshake_time(), .client = true});
  rig.open_client();
  REQUIRE(rig.state() == "hello_sent");
  rig.mark();
  REQUIRE(rig.core.run_until([&] { return rig.closes_of() == 1; }, milliseconds(3000)));
  rig.core.poll();
  CHECK_FALSE(rig.core.finished);
  CHECK(rig.moved() ==
        Moved{{"drop.handshake_timeout", 1}, {"host.sessions_closed", 1}, {"host.reconnects", 1}});
}

// §6: session_timeout counts only what the cipher opened (§5.3: forged frames do not keep a session alive);
// keepalive: "when nothing has been sent for keepalive seconds, send a KEEPALIVE".
TEST_CASE("the idle timeout sends BYE timeout to a silent session and ends it, also one that receives only forged "
          "frames, while one that receives KEEPALIVEs stays and is sent a KEEPALIVE",
          "[core][protocol][timers]") {
  vpnhost::SessionLimits limits;
  limits.keepalive = seconds(1);
  limits.session_timeout = seconds(1);
  Rig rig({.limits = limits});
  rig.establish(1);  // silent
  rig.establish(2);  // KEEPALIVEs from its peer
  rig.establish(3);  // only forged frames
  rig.mark();
  int forged = 0;
  auto next = std::chrono::steady_clock::now();
  const bool done = rig.core.run_until(
      [&] {
        if (std::chrono::steady_clock::now() >= next) {
          rig.receive(FrameType::keepalive, {}, 0, 2);
          if (rig.state(3) == "established") {
            rig.receive_forged(FrameType::keepalive, {}, 3);
            ++forged;
          }
          next += milliseconds(100);
        }
        return rig.closes_of(1) == 1 && rig.closes_of(3) == 1 && rig.transport.count(FrameType::keepalive, 2) >= 1;
      },
      milliseconds(4000));
  REQUIRE(done);
  CHECK(rig.bye_sent(1) == proto::Bye{proto::ByeReason::timeout, "idle timeout"});
  CHECK(rig.bye_sent(3) == proto::Bye{proto::ByeReason::timeout, "idle timeout"});
  CHECK(rig.closes_of(2) == 0);
  CHECK(rig.transport.frames_to(2, FrameType::bye).empty());
  CHECK(rig.state(2) == "established");
  rig.core.poll();
  CHECK(rig.moved() == Moved{{"drop.session_timeout", 2},
                             {"drop.auth", forged},
                             {"host.sessions_closed", 2},
                             {"router_hub.released", 2}});
}
