// transport_udp_demo tests: the SDK's loopback kit, plus what is particular
// to this transport (option errors, bad datagrams are counted and open no
// session). The plugin is loaded from its .so, as the host loads it.
#include <catch2/catch.hpp>

#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/udp.hpp>

#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/testkit/rig.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"

using vpnsdk::OptionValue;
using Opts = std::map<std::string, OptionValue>;

namespace {

Opts server_opts(std::uint16_t port) { return {{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{port}}}; }
Opts client_opts(std::uint16_t port) { return {{"connect", std::string("127.0.0.1")}, {"port", std::int64_t{port}}}; }

// Records what a server instance reports.
struct Sink final : vpnsdk::TransportSink {
  void opened(const vpnsdk::SessionInfo& i) override { opened_ids.push_back(i.id); }
  void received(vpnsdk::SessionId, vpnsdk::Batch f) override { frames += f.size(); }
  void closed(vpnsdk::SessionId, const vpnsdk::Status&) override { ++closed_count; }
  void failed(const vpnsdk::Status&) override {}
  std::vector<vpnsdk::SessionId> opened_ids;
  std::size_t frames = 0;
  int closed_count = 0;
};

}  // namespace

TEST_CASE("passes the SDK transport loopback kit (as a datagram transport)", "[transport_udp_demo]") {
  const auto port = vpnsdk::testkit::free_udp_port();
  vpnsdk::testkit::TransportLoopback c;
  c.reliable = false;             // UDP may lose datagrams (on loopback it rarely does)
  c.connection_oriented = false;  // the peer does not see a close()
  c.burst = 100;
  const auto r = vpnsdk::testkit::check_transport_loopback(TRANSPORT_UDP_DEMO_SO, server_opts(port),
                                                           client_opts(port), c);
  INFO(r.text());
  CHECK(r.ok());
  CHECK(r.checks() > 300);
}

TEST_CASE("bad datagrams are counted and open no session", "[transport_udp_demo]") {
  const auto port = vpnsdk::testkit::free_udp_port();
  vpnsdk::testkit::PluginRig rig(TRANSPORT_UDP_DEMO_SO);
  auto& server = rig.create(server_opts(port));
  REQUIRE(server.status.ok());
  Sink sink;
  REQUIRE(server.get<vpnsdk::Transport>().start(sink).ok());

  using boost::asio::ip::udp;
  udp::socket raw(rig.io(), udp::endpoint(udp::v4(), 0));
  const udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), port);
  const std::vector<std::vector<unsigned char>> bad{
      {0x00},                          // shorter than a header
      {0x00, 0x02, 0x03, 0x00, 0xaa},  // length 2, one byte of body
      {0x00, 0x00, 0x09, 0x00},        // type 9 does not exist
      {0x00, 0x00, 0x03, 0x01},        // flags not 0
  };
  for (const auto& d : bad) raw.send_to(boost::asio::buffer(d), to);
  REQUIRE(rig.run_until([&] { return server.counters.value("protocol_errors") == bad.size(); }));
  CHECK(sink.opened_ids.empty());
  CHECK(sink.frames == 0);

  // A good one opens a session and is delivered.
  const std::vector<unsigned char> good{0x00, 0x01, 0x04, 0x00, 0x7f};
  raw.send_to(boost::asio::buffer(good), to);
  REQUIRE(rig.run_until([&] { return sink.frames == 1; }));
  CHECK(sink.opened_ids == std::vector<vpnsdk::SessionId>{1});
  CHECK(server.counters.value("sessions_opened") == 1);
  server.get<vpnsdk::Transport>().stop();
}

TEST_CASE("options: exactly one of listen/connect, numeric addresses, port range", "[transport_udp_demo]") {
  using vpnsdk::testkit::Harness;
  {
    Harness h(TRANSPORT_UDP_DEMO_SO);
    CHECK(h.status().code == vpnsdk::Code::config);
    CHECK(h.status().message == "give exactly one of the options listen (server) and connect (client); neither is set");
  }
  {
    Harness h(TRANSPORT_UDP_DEMO_SO, {{"listen", std::string("0.0.0.0")}, {"connect", std::string("10.0.0.1")}});
    CHECK(h.status().message ==
          "give exactly one of the options listen (server) and connect (client); both are set (listen at test, "
          "connect at test)");
  }
  {
    Harness h(TRANSPORT_UDP_DEMO_SO, {{"connect", std::string("vpn.example.net")}});
    CHECK(h.status().message == "option connect at test: 'vpn.example.net' is not a numeric IPv4 or IPv6 address");
  }
  {
    Harness h(TRANSPORT_UDP_DEMO_SO, {{"connect", std::string("::1")}, {"port", std::int64_t{70000}}});
    CHECK(h.status().message == "option port at test: 70000 is not in 1..65535");
  }
  {
    Harness h(TRANSPORT_UDP_DEMO_SO, {{"connect", std::string("::1")}});
    CHECK(h.status().ok());
  }
}

TEST_CASE("start() reports a port that is taken", "[transport_udp_demo]") {
  const auto port = vpnsdk::testkit::free_udp_port();
  vpnsdk::testkit::PluginRig rig(TRANSPORT_UDP_DEMO_SO);
  auto& a = rig.create(server_opts(port));
  auto& b = rig.create(server_opts(port));
  Sink sa, sb;
  REQUIRE(a.get<vpnsdk::Transport>().start(sa).ok());
  const auto st = b.get<vpnsdk::Transport>().start(sb);
  CHECK(st.code == vpnsdk::Code::io);
  CHECK(st.message.find("cannot listen on udp 127.0.0.1:" + std::to_string(port)) == 0);
  a.get<vpnsdk::Transport>().stop();
}
