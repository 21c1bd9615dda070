// A client whose router refuses the server's assignment with Code::refused
// (router_client: outside accept_networks / below min_prefix_len) ends as
// for a lasting REJECT: exit status 3, no reconnect. Another refusal (e.g.
// address 0.0.0.0, session_fatal) stays transient: the client reconnects.
#include <catch2/catch.hpp>

#include "kit/rig.hpp"

namespace {

using coretest::FrameType;
using coretest::Rig;

vpnhost::protocol::Bytes welcome() {
  vpnhost::protocol::Welcome w;
  w.max_body = 9216;
  w.assignment.address = 0xc8080808;  // 200.8.8.8
  w.assignment.prefix_len = 1;
  w.assignment.server = 0xc8080801;
  w.assignment.mtu = 1400;
  return vpnhost::protocol::encode(w);
}

}  // namespace

TEST_CASE("a client whose router refuses the assignment (Code::refused) exits with status 3", "[core][client]") {
  Rig rig({.client = true});
  rig.router->assigned_answer = vpnsdk::Status::error(vpnsdk::Code::refused, "outside accept_networks");
  rig.open_client();
  REQUIRE(rig.transport.count(FrameType::hello) == 1);
  rig.receive_bytes(FrameType::welcome, welcome());
  CHECK(rig.closes_of() == 1);
  rig.core.poll();  // the transport's closed()
  CHECK(rig.core.finished);
  CHECK(rig.core.exit_code == 3);
  CHECK(rig.counter("host.reconnects") == 0);
}

TEST_CASE("a client whose router refuses the assignment as transient reconnects", "[core][client]") {
  Rig rig({.client = true});
  rig.router->assigned_answer = vpnsdk::Status::error(vpnsdk::Code::session_fatal, "address 0.0.0.0");
  rig.open_client();
  rig.receive_bytes(FrameType::welcome, welcome());
  CHECK(rig.closes_of() == 1);
  rig.core.poll();  // the transport's closed()
  CHECK_FALSE(rig.core.finished);
  CHECK(rig.counter("host.reconnects") == 1);
}
