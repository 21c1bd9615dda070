// UDP GSO/GRO through the plugin: the options, and a burst of equal-size
// DATA frames from a server to a client over loopback (GSO on the server's
// send, GRO on the client's receive) arriving as separate frames, intact and
// in order, with the offloads on and off.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace udptest;

namespace {

constexpr std::uint8_t HELLO = 1, WELCOME = 2, DATA = 3;

const vpnsdk::OptionSpec* option(const vpnsdk::PluginDescriptor& d, const std::string& name) {
  for (std::size_t i = 0; i < d.option_count; ++i)
    if (d.options[i].name == name) return &d.options[i];
  return nullptr;
}

}  // namespace

TEST_CASE("options gso and gro: booleans, on by default, each can be turned off", "[transport_udp][config][gso]") {
  Rig rig;
  for (const char* name : {"gso", "gro"}) {
    INFO(name);
    const vpnsdk::OptionSpec* o = option(rig.descriptor(), name);
    REQUIRE(o != nullptr);
    CHECK(o->type == vpnsdk::OptionType::boolean);
    CHECK(std::string(o->default_value) == "true");
  }
  Instance& off = rig.make({{"listen", std::string("127.0.0.1")}, {"gso", false}, {"gro", false}});
  CHECK(off.plugin != nullptr);
  CHECK(off.create_status.ok());
}

TEST_CASE("a burst of equal-size frames from server to client arrives intact and in order, GSO/GRO on and off",
          "[transport_udp][gso][gro]") {
  for (const bool offload : {true, false}) {
    INFO("gso and gro = " << offload);
    Rig rig;
    const std::uint16_t port = free_port();
    Instance& srv = rig.server(port, {{"gso", offload}, {"gro", offload}});
    Instance& cli = rig.client(port, {{"gso", offload}, {"gro", offload}});
    REQUIRE(srv.plugin != nullptr);
    REQUIRE(cli.plugin != nullptr);
    cli.sink.on_opened = [&](const vpnsdk::SessionInfo& i) {
      std::vector<PacketPtr> v;
      v.push_back(cli.frame(HELLO, pattern(12, 1)));
      cli.t().send(i.id, vpnsdk::Batch(v.data(), v.size()));
    };
    REQUIRE(srv.start().ok());
    REQUIRE(cli.start().ok());
    REQUIRE(rig.run_until([&] { return srv.sink.count_type(HELLO) == 1; }));
    const SessionId sid = srv.session();
    REQUIRE(srv.send(sid, WELCOME, pattern(8, 2)).ok());
    REQUIRE(rig.run_until([&] { return cli.sink.count_type(WELCOME) == 1; }));

    // Two bursts of 50 equal-size frames, the last of each shorter.
    std::vector<Bytes> bodies;
    for (int burst = 0; burst < 2; ++burst) {
      std::vector<PacketPtr> frames;
      for (unsigned i = 0; i < 50; ++i) {
        bodies.push_back(pattern(i == 49 ? 700 : 1300, static_cast<unsigned>(bodies.size())));
        frames.push_back(srv.frame(DATA, bodies.back()));
      }
      REQUIRE(srv.send(sid, frames).ok());
    }
    REQUIRE(rig.run_until([&] { return cli.sink.count_type(DATA) == static_cast<int>(bodies.size()); }));
    std::vector<Bytes> got;
    for (const Frame& f : cli.sink.frames_)
      if (f.type == DATA) got.push_back(f.body);
    CHECK(got == bodies);
    CHECK(cli.counter("bad_datagrams") == 0);
    CHECK(cli.counter("oversize") == 0);
    if (offload) {
      CHECK(srv.counter("gso_sends") == 2);
      CHECK(srv.counter("gso_datagrams") == 100);
      CHECK(cli.counter("gro_trains") == 2);  // loopback hands a GSO train to a GRO socket whole
      CHECK(cli.counter("gro_datagrams") == 100);
    } else {
      CHECK(srv.counter("gso_sends") == 0);
      CHECK(cli.counter("gro_trains") == 0);
    }
    CHECK(srv.sink.violations.empty());
    CHECK(cli.sink.violations.empty());
  }
}
