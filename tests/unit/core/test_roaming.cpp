// Pipeline roaming (core/src/roaming.cpp) with fake stages: a frame marked
// with meta.path moves its session only after the cipher opened it and only
// if the cipher authenticates its peer; otherwise nothing moves.
#include <catch2/catch.hpp>

#include "kit/rig.hpp"

namespace {

// The rig (kit/rig.hpp) with one server-side session, receiving KEEPALIVEs:
// sealed, or `forged` (they fail to open).
struct Fixture : coretest::Rig {
  explicit Fixture(bool authenticates) : Rig({.cipher = {.authenticates = authenticates}}) { open(); }
  void receive(std::uint32_t path, bool forged = false) {
    const std::byte body[4] = {std::byte{0}, std::byte{1}, std::byte{2}, std::byte{3}};
    if (forged)
      receive_forged(coretest::FrameType::keepalive, body, kId, path);
    else
      Rig::receive(coretest::FrameType::keepalive, body, path);
  }
};

}  // namespace

TEST_CASE("an authenticated frame from a new path moves the session: status shows the new endpoint",
          "[core][roaming]") {
  Fixture fx(true);
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  fx.receive(0);  // from the current endpoint: nothing to do
  CHECK(fx.transport.adopt_calls.empty());
  fx.receive(42);
  REQUIRE(fx.transport.adopt_calls.size() == 1);
  CHECK(fx.transport.adopt_calls[0] == std::make_pair(Fixture::kId, std::uint32_t{42}));
  CHECK(fx.peer_shown() == "172.31.9.9:40000");
  CHECK(fx.counter("host.roams") == 1);
  CHECK(fx.core.session_count() == 1);

  // A stale token (the transport answers nullopt): nothing moves, the frame still counts.
  fx.transport.adopt_answer.reset();
  fx.receive(41);
  CHECK(fx.transport.adopt_calls.size() == 2);
  CHECK(fx.peer_shown() == "172.31.9.9:40000");
  CHECK(fx.counter("host.roams") == 1);
  CHECK(fx.counter("drop.roaming_unauthenticated") == 0);
}

TEST_CASE("a frame from a new path that fails to open moves nothing", "[core][roaming]") {
  Fixture fx(true);
  fx.receive(42, /*forged=*/true);
  CHECK(fx.transport.adopt_calls.empty());
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  CHECK(fx.counter("host.roams") == 0);
  CHECK(fx.counter("drop.auth") == 1);
  CHECK(fx.core.session_count() == 1);
}

TEST_CASE("with a cipher that authenticates nobody a frame from a new path is dropped and counted",
          "[core][roaming]") {
  Fixture fx(false);
  fx.receive(42);
  CHECK(fx.transport.adopt_calls.empty());
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  CHECK(fx.counter("drop.roaming_unauthenticated") == 1);
  CHECK(fx.counter("host.roams") == 0);
  CHECK(fx.core.session_count() == 1);  // dropped, not ended
  fx.receive(0);  // from its own endpoint it is fine
  CHECK(fx.counter("drop.roaming_unauthenticated") == 1);
}

TEST_CASE("a transport that throws in adopt_path() is contained: counted, that session ends", "[core][roaming]") {
  Fixture fx(true);
  fx.transport.faults.throw_in("adopt_path");
  fx.receive(42);
  CHECK(fx.counter("host.plugin_exceptions") == 1);
  CHECK(fx.counter("host.roams") == 0);
  CHECK(fx.closes_of() == 1);
  fx.core.poll();  // the transport's closed()
  CHECK(fx.core.session_count() == 0);
}
