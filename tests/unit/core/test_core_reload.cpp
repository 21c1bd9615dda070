// What a live reload changes in the running core, in process (kit/rig.hpp):
// the responders, the limits for new sessions, and sessions whose
// authorization the reload withdrew. docs/operations.md ("Reload");
// reload_host() itself, on a host's real stages, is in test_reload.cpp.
#include <catch2/catch.hpp>

#include "../responder_icmp_echo/vectors.hpp"
#include "ipv4_builder.hpp"
#include "kit/rig.hpp"

using namespace coretest;

namespace {

std::vector<std::byte> echo_request() { return bytes_of(icmp_vectors::kReqOdd); }  // 10.10.0.2 -> 10.10.0.1

}  // namespace

TEST_CASE("reload: replace_responders puts the new responders in place from the next packet on and hands back the "
          "old ones",
          "[core][reload]") {
  Rig rig({.responders = {"responder_icmp_echo"}});
  rig.establish(1);
  rig.send_packet(1, echo_request());
  CHECK(rig.sent(1, FrameType::data).size() == 1);

  auto old = rig.core.replace_responders({});
  REQUIRE(old.size() == 1);
  CHECK(old[0]->name == "responder_icmp_echo");
  rig.mark();
  rig.send_packet(1, echo_request());
  CHECK(rig.sent(1, FrameType::data).size() == 1);
  CHECK(rig.counter("drop.local_unclaimed") == 1);

  std::vector<std::unique_ptr<vpnhost::StageInstance>> next;
  next.push_back(rig.responder_stage("responder_icmp_echo"));
  CHECK(rig.core.replace_responders(std::move(next)).empty());
  rig.send_packet(1, echo_request());
  CHECK(rig.sent(1, FrameType::data).size() == 2);
  CHECK(rig.core.stages.responders.size() == 1);
  CHECK(rig.state(1) == "established");
}

TEST_CASE("reload: set_limits applies to new sessions: a lower max_sessions refuses the next HELLO, ends no "
          "established session, and WELCOME carries the new keepalive",
          "[core][reload]") {
  Rig rig;
  rig.establish(1);
  rig.establish(2);
  vpnhost::SessionLimits l = rig.core.limits();
  l.max_sessions = 1;
  l.keepalive = std::chrono::seconds(4);
  rig.core.set_limits(l);
  CHECK(rig.core.limits().max_sessions == 1);
  CHECK(rig.state(1) == "established");
  CHECK(rig.state(2) == "established");
  rig.mark();
  rig.open(3);
  rig.send_hello(3);
  CHECK(rig.reject_sent(3) == proto::Reject{proto::RejectCode::busy, "server busy: session limit reached"});
  CHECK(rig.moved() == Moved{{"host.sessions_opened", 1}, {"drop.session_limit", 1}});
  CHECK(rig.transport.closes_of(1) == 0);
  CHECK(rig.transport.closes_of(2) == 0);

  l.max_sessions = 3;
  rig.core.set_limits(l);
  rig.establish(4);
  CHECK(rig.welcome_sent(4)->assignment.keepalive_s == 4);
  CHECK(rig.welcome_sent(1)->assignment.keepalive_s == 10);  // what session 1 was told stays
}

// docs/protocol.md §4.5: BYE reason 0, "also to a client whose key a reload removed from authorized_clients, text
// `no longer authorized`"; sessions not yet established end without a frame.
TEST_CASE("reload: end_revoked says BYE shutdown with the reason to revoked established sessions, ends revoked ones in "
          "handshake without a frame, counts both and leaves the others",
          "[core][reload]") {
  Rig rig;
  rig.establish(1);
  rig.establish(2);
  rig.open(3);
  rig.cipher.behaviour.revoked = {1, 3};
  rig.mark();
  CHECK(rig.core.end_revoked("no longer authorized") == 2);
  CHECK(rig.bye_sent(1) == proto::Bye{proto::ByeReason::shutdown, "no longer authorized"});
  CHECK(rig.transport.frames_to(3, FrameType::bye).empty());
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.closes_of(3) == 1);
  CHECK(rig.closes_of(2) == 0);
  CHECK(rig.transport.frames_to(2, FrameType::bye).empty());
  rig.core.poll();
  CHECK(rig.moved() ==
        Moved{{"host.sessions_revoked", 2}, {"host.sessions_closed", 2}, {"router_hub.released", 1}});
  CHECK(rig.core.end_revoked("no longer authorized") == 0);  // nothing left to end
  CHECK(rig.state(2) == "established");
}

TEST_CASE("reload: a cipher that throws in revoked() ends that session, counted, and end_revoked goes on",
          "[core][reload][containment]") {
  Rig rig;
  rig.establish(1);
  rig.establish(2);
  rig.cipher.behaviour.faults.throw_in("revoked", 1);
  rig.cipher.behaviour.revoked = {2};
  rig.mark();
  CHECK(rig.core.end_revoked("no longer authorized") == 1);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.closes_of(2) == 1);
  CHECK(rig.transport.frames_to(1, FrameType::bye).empty());
  CHECK(rig.bye_sent(2) == proto::Bye{proto::ByeReason::shutdown, "no longer authorized"});
  CHECK(rig.moved() == Moved{{"host.plugin_exceptions", 1}, {"host.sessions_revoked", 1}});
}
