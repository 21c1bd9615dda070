// On an established session nothing that fails to authenticate changes its
// state (issue 15, item 1; docs/protocol.md §5): a HANDSHAKE the cipher
// refuses, a HANDSHAKE from a new underlay endpoint, a frame that fails
// open(), and (with a cipher that authenticates nobody) a control frame that
// does not parse are dropped and counted; the session stays, and its last_rx
// does not move. Sessions still in handshake keep ending on their failures.
#include <catch2/catch.hpp>

#include "kit/rig.hpp"

namespace {

using coretest::CipherBehaviour;
using coretest::FrameType;
using coretest::kForged;
using coretest::Rig;

// Authenticates nobody, has no handshake; authenticates, handshake first.
const CipherBehaviour kXorLike{.authenticates = false, .has_handshake = false, .starts_established = true};
const CipherBehaviour kNoiseLike{.authenticates = true, .has_handshake = true, .starts_established = false};

// The 9 bytes an attacker needs over UDP with cipher_xor: in the transport's
// datagram they carry the session index; here the body is what is left.
const std::byte kNineBytes[9] = {};

double last_rx(const Rig& rig) { return rig.snapshot()->last_rx_seconds; }

// Lets measurable time pass since the last authenticated frame.
void age_last_rx(Rig& rig) {
  REQUIRE(rig.core.run_until([&] { return last_rx(rig) >= 0.1; }));
}

}  // namespace

TEST_CASE("a 9-byte HANDSHAKE on an established session of a cipher without a handshake is dropped, not the session",
          "[core][unauthenticated]") {
  Rig rig({.cipher = kXorLike});
  rig.establish();
  rig.receive(FrameType::handshake, kNineBytes);
  CHECK(rig.closes_of() == 0);
  CHECK(rig.state() == "established");
  CHECK(rig.counter("drop.handshake_unauthenticated") == 1);
  CHECK(rig.counter("drop.handshake_failed") == 0);
  CHECK(rig.cipher.behaviour.handshake_calls == 1);
}

TEST_CASE("a HANDSHAKE the cipher refuses on an established session (a forged rekey) is dropped, not the session",
          "[core][unauthenticated]") {
  Rig rig({.cipher = kNoiseLike});
  rig.establish();
  const std::byte forged[32] = {kForged};
  for (int i = 0; i < 5; ++i) rig.receive(FrameType::handshake, forged);
  CHECK(rig.closes_of() == 0);
  CHECK(rig.state() == "established");
  CHECK(rig.counter("drop.handshake_unauthenticated") == 5);
  // A rekey the cipher accepts still works on the same session.
  const std::byte good[32] = {std::byte{1}};
  rig.receive(FrameType::handshake, good);
  CHECK(rig.state() == "established");
  CHECK(rig.counter("drop.handshake_unauthenticated") == 5);
}

TEST_CASE("a session still in handshake still ends when its handshake fails", "[core][unauthenticated]") {
  Rig rig({.cipher = kNoiseLike});
  rig.open();
  REQUIRE(rig.state() == "handshaking");
  const std::byte forged[32] = {kForged};
  rig.receive(FrameType::handshake, forged);
  CHECK(rig.closes_of() == 1);
  CHECK(rig.counter("drop.handshake_failed") == 1);
  CHECK(rig.counter("drop.handshake_unauthenticated") == 0);
}

TEST_CASE("a HANDSHAKE from a new underlay endpoint is dropped before the cipher sees it", "[core][unauthenticated]") {
  Rig rig({.cipher = kNoiseLike});
  rig.establish();
  const int calls = rig.cipher.behaviour.handshake_calls;
  const std::byte good[32] = {std::byte{1}};
  rig.receive(FrameType::handshake, good, /*path=*/42);
  CHECK(rig.cipher.behaviour.handshake_calls == calls);
  CHECK(rig.counter("drop.handshake_from_new_path") == 1);
  CHECK(rig.transport.adopt_calls.empty());
  CHECK(rig.state() == "established");
  CHECK(rig.peer_shown() == "172.31.1.2:33333");
  // Once an authenticated data frame moved the session, its rekey from there works.
  const std::byte data[4] = {std::byte{1}};
  rig.receive(FrameType::keepalive, data, 42);
  CHECK(rig.peer_shown() == "172.31.9.9:40000");
  rig.receive(FrameType::handshake, good, 0);
  CHECK(rig.cipher.behaviour.handshake_calls == calls + 1);
  CHECK(rig.counter("drop.handshake_from_new_path") == 1);
}

TEST_CASE("frames that fail open() or the handshake do not refresh last_rx, authenticated ones do",
          "[core][unauthenticated]") {
  Rig rig({.cipher = kNoiseLike});
  rig.establish();
  age_last_rx(rig);  // since the HELLO
  const std::byte forged[8] = {kForged};
  for (int i = 0; i < 10; ++i) rig.receive_forged(FrameType::keepalive, forged);
  rig.receive_forged(FrameType::data, forged);
  rig.receive(FrameType::handshake, forged);  // a HANDSHAKE the cipher refuses
  CHECK(rig.counter("drop.auth") == 11);
  CHECK(last_rx(rig) >= 0.1);  // today's code: ~0, every forged frame refreshed it
  const std::byte good[8] = {std::byte{1}};
  rig.receive(FrameType::keepalive, good);
  CHECK(last_rx(rig) < 0.1);
  CHECK(rig.state() == "established");
}

TEST_CASE("a HANDSHAKE from a new path does not refresh last_rx either", "[core][unauthenticated]") {
  Rig rig({.cipher = kNoiseLike});
  rig.establish();
  age_last_rx(rig);
  const std::byte good[32] = {std::byte{1}};
  rig.receive(FrameType::handshake, good, 42);
  CHECK(last_rx(rig) >= 0.1);
}

TEST_CASE("with a cipher that authenticates nobody, a control frame that does not parse on an established session "
          "is dropped and counted",
          "[core][unauthenticated]") {
  Rig rig({.cipher = kXorLike});
  rig.establish();
  rig.receive(FrameType::bye, {});                         // "empty BYE"
  const std::byte one[1] = {std::byte{1}};
  rig.receive(FrameType::hello, one);                      // HELLO twice, and truncated
  rig.receive(static_cast<FrameType>(9), one);             // unknown type
  rig.receive_bytes(FrameType::hello, vpnhost::protocol::encode(vpnhost::protocol::Hello{}));  // HELLO twice
  CHECK(rig.closes_of() == 0);
  CHECK(rig.state() == "established");
  CHECK(rig.counter("drop.violation_unauthenticated") == 4);
  CHECK(rig.counter("drop.protocol_violation") == 0);
  CHECK(rig.counter("host.protocol_errors") == 4);
  // A well-formed BYE still ends it: it parses, and cipher_xor cannot tell who sent it.
  rig.receive_bytes(FrameType::bye, vpnhost::protocol::encode(vpnhost::protocol::Bye{}));
  CHECK(rig.closes_of() == 1);
}

TEST_CASE("with an authenticating cipher a control frame that does not parse still ends the session",
          "[core][unauthenticated]") {
  Rig rig({.cipher = kNoiseLike});
  rig.establish();
  rig.receive(FrameType::bye, {});
  CHECK(rig.closes_of() == 1);
  CHECK(rig.counter("drop.protocol_violation") == 1);
  CHECK(rig.counter("drop.violation_unauthenticated") == 0);
}

TEST_CASE("with a cipher that authenticates nobody, a session before WELCOME still ends on a violation",
          "[core][unauthenticated]") {
  Rig rig({.cipher = kXorLike});
  rig.open();
  REQUIRE(rig.state() == "awaiting_hello");
  const std::byte one[1] = {std::byte{1}};
  rig.receive(FrameType::hello, one);  // truncated HELLO
  CHECK(rig.closes_of() == 1);
  CHECK(rig.counter("drop.protocol_violation") == 1);
}
