// The SDK's transport loopback kit, as a datagram transport.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "rig.hpp"
#include "vpnsdk/testkit/rig.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"

namespace {

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("transport_udp passes the transport loopback kit", "[transport_udp][conformance]") {
  const auto port = vpnsdk::testkit::free_udp_port();
  vpnsdk::testkit::PluginRig rig(udptest::plugin_path());
  // The kit's client speaks first with a KEEPALIVE, which by default opens no
  // server session (only HELLO/HANDSHAKE do): let any frame type open one.
  auto& server = rig.create({{"listen", std::string("127.0.0.1")},
                             {"port", std::int64_t{port}},
                             {"open_on", std::vector<std::string>{"any"}}});
  auto& client = rig.create({{"connect", std::string("127.0.0.1")}, {"port", std::int64_t{port}}});
  REQUIRE(server.status.ok());
  REQUIRE(client.status.ok());
  vpnsdk::testkit::TransportLoopback c;
  c.reliable = false;             // datagrams may be lost
  c.connection_oriented = false;  // the server does not learn of the client's close()
  const auto r = vpnsdk::testkit::check_transport_loopback(server.get<vpnsdk::Transport>(),
                                                           client.get<vpnsdk::Transport>(), rig.io(), rig.pool(), c);
  INFO(r.text());
  CHECK(r.ok());
  CHECK(r.checks() > 400);
  // The kit sends frames of every type in turn. A client drops a WELCOME
  // after the first one (a duplicate to it): in "server->client sizes and
  // types" 3 WELCOMEs go out, 2 are dropped on purpose and counted. Every
  // BYE goes out twice and its copy is dropped: 2 BYEs to the client, 2 + 1
  // (before close()) to the server.
  CHECK(client.counters.value("duplicates") == 2 + 2);
  CHECK(client.counters.value("early_frames") == 0);
  CHECK(server.counters.value("duplicates") == 3);
  CHECK(count_of(r.text(), "server->client sizes and types: 2 of 16 frames lost") == 1);
  // Nothing else is lost on loopback, given socket buffers large enough for
  // the kit's bursts of 300 frames (4 MiB by default, which needs root:
  // otherwise net.core.rmem_max caps them and a burst may overflow).
  if (geteuid() == 0) CHECK(count_of(r.text(), " lost ") == 1);
  CHECK(server.counters.value("bad_datagrams") == 0);
  CHECK(client.counters.value("bad_datagrams") == 0);
}
