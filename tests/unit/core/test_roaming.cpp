// Pipeline roaming (core/src/roaming.cpp) with fake stages: a frame marked
// with meta.path moves its session only after the cipher opened it and only
// if the cipher authenticates its peer; otherwise nothing moves.
#include <catch2/catch.hpp>

#include "pipeline_rig.hpp"

namespace {

using coretest::kForged;

// The rig (pipeline_rig.hpp) with one server-side session, receiving KEEPALIVEs.
struct Fixture : coretest::PipelineRig {
  explicit Fixture(bool authenticates) : PipelineRig(coretest::CipherBehaviour{authenticates}) { open(); }
  void receive(std::uint32_t path, std::byte first = std::byte{0}) {
    const std::byte body[4] = {first, std::byte{1}, std::byte{2}, std::byte{3}};
    PipelineRig::receive(coretest::FrameType::keepalive, body, path);
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
  CHECK(fx.counters.value("host.roams") == 1);
  CHECK(fx.pipeline->session_count() == 1);

  // A stale token (the transport answers nullopt): nothing moves, the frame still counts.
  fx.transport.adopt_answer.reset();
  fx.receive(41);
  CHECK(fx.transport.adopt_calls.size() == 2);
  CHECK(fx.peer_shown() == "172.31.9.9:40000");
  CHECK(fx.counters.value("host.roams") == 1);
  CHECK(fx.counters.value("drop.roaming_unauthenticated") == 0);
}

TEST_CASE("a frame from a new path that fails to open moves nothing", "[core][roaming]") {
  Fixture fx(true);
  fx.receive(42, kForged);
  CHECK(fx.transport.adopt_calls.empty());
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  CHECK(fx.counters.value("host.roams") == 0);
  CHECK(fx.counters.value("drop.auth") == 1);
  CHECK(fx.pipeline->session_count() == 1);
}

TEST_CASE("with a cipher that authenticates nobody a frame from a new path is dropped and counted",
          "[core][roaming]") {
  Fixture fx(false);
  fx.receive(42);
  CHECK(fx.transport.adopt_calls.empty());
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  CHECK(fx.counters.value("drop.roaming_unauthenticated") == 1);
  CHECK(fx.counters.value("host.roams") == 0);
  CHECK(fx.pipeline->session_count() == 1);  // dropped, not ended
  fx.receive(0);  // from its own endpoint it is fine
  CHECK(fx.counters.value("drop.roaming_unauthenticated") == 1);
}

TEST_CASE("a transport that throws in adopt_path() is contained: counted, that session ends", "[core][roaming]") {
  Fixture fx(true);
  fx.transport.throw_in_adopt = true;
  fx.receive(42);
  CHECK(fx.counters.value("host.plugin_exceptions") == 1);
  CHECK(fx.counters.value("host.roams") == 0);
}
