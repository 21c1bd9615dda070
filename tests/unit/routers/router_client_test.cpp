#include <catch2/catch.hpp>

#include <string>

#include "packets.hpp"
#include "vpnsdk/testkit/harness.hpp"

using routers_test::addr;
using routers_test::ipv4_packet;
using Kind = vpnsdk::RouteDecision::Kind;

namespace {

const std::string kClient = std::string(VPNHOST_TEST_PLUGIN_DIR) + "/router_client.so";

struct Client {
  Client() : h(kClient) { REQUIRE(h.status().ok()); }
  explicit Client(std::map<std::string, vpnsdk::OptionValue> o) : h(kClient, std::move(o)) {}
  vpnsdk::Router& router() { return h.get<vpnsdk::Router>(); }
  vpnsdk::RouteDecision route(std::uint32_t src, std::uint32_t dst, vpnsdk::SessionId from) {
    auto bytes = ipv4_packet(src, dst);
    auto p = h.packet(bytes);
    return router().route(*p, from);
  }
  vpnsdk::testkit::Harness h;
};

vpnsdk::Assignment assignment(const char* address, std::uint8_t prefix_len = 24, const char* server = "10.10.0.1") {
  vpnsdk::Assignment a;
  a.address = addr(address);
  a.prefix_len = prefix_len;
  a.server = addr(server);
  a.mtu = 1400;
  return a;
}

}  // namespace

TEST_CASE("router_client: descriptor needs a device") {
  Client c;
  const auto& d = c.h.descriptor();
  CHECK(std::string(d.name) == "router_client");
  CHECK(d.stage == vpnsdk::Stage::router);
  REQUIRE(d.needs != nullptr);
  CHECK(std::string(d.needs[0]) == "device");
  CHECK(d.needs[1] == nullptr);
  CHECK(d.option_count == 2);
}

TEST_CASE("router_client: nothing is routed before the assignment") {
  Client c;
  CHECK_FALSE(c.router().local().has_value());
  auto r = c.route(addr("10.10.0.2"), addr("10.10.0.1"), 0);
  CHECK(r.kind == Kind::drop);
  CHECK(r.reason == std::string("not_connected"));
  CHECK(c.route(addr("10.10.0.1"), addr("10.10.0.2"), 7).reason == std::string("not_connected"));
  vpnsdk::Assignment out;
  CHECK(c.router().assign({}, nullptr, out).code == vpnsdk::Code::refused);  // not a hub
}

TEST_CASE("router_client: routes between the device and the server session") {
  Client c;
  REQUIRE(c.router().assigned(7, assignment("10.10.0.2")).ok());
  auto self = c.router().local();
  REQUIRE(self);
  CHECK(self->address == addr("10.10.0.2"));
  CHECK(self->server == addr("10.10.0.1"));

  // Device -> server session, whatever the destination.
  auto r = c.route(addr("10.10.0.2"), addr("10.10.0.1"), 0);
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 7);
  r = c.route(addr("10.10.0.2"), addr("10.10.0.3"), 0);
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 7);
  r = c.route(addr("192.168.0.9"), addr("10.10.0.3"), 0);
  CHECK(r.kind == Kind::drop);
  CHECK(r.reason == std::string("foreign_source"));

  // Server -> device: echo replies from the hub and packets of other clients.
  r = c.route(addr("10.10.0.1"), addr("10.10.0.2"), 7);
  CHECK(r.kind == Kind::device);
  r = c.route(addr("10.10.0.3"), addr("10.10.0.2"), 7);
  CHECK(r.kind == Kind::device);
  r = c.route(addr("10.10.0.3"), addr("10.10.0.4"), 7);
  CHECK(r.kind == Kind::drop);
  CHECK(r.reason == std::string("not_for_us"));
  r = c.route(addr("10.10.0.1"), addr("10.10.0.2"), 6);  // some other (old) session
  CHECK(r.kind == Kind::drop);
}

TEST_CASE("router_client: a reconnect replaces session and address") {
  Client c;
  REQUIRE(c.router().assigned(7, assignment("10.10.0.2")).ok());
  c.router().release(7);
  CHECK_FALSE(c.router().local().has_value());
  CHECK(c.route(addr("10.10.0.2"), addr("10.10.0.1"), 0).reason == std::string("not_connected"));

  REQUIRE(c.router().assigned(8, assignment("10.10.0.9")).ok());
  CHECK(c.router().local()->address == addr("10.10.0.9"));
  CHECK(c.route(addr("10.10.0.2"), addr("10.10.0.1"), 0).reason == std::string("foreign_source"));
  auto r = c.route(addr("10.10.0.9"), addr("10.10.0.1"), 0);
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 8);
  CHECK(c.route(addr("10.10.0.1"), addr("10.10.0.9"), 8).kind == Kind::device);
  CHECK(c.h.counters().value("assignments") == 2);

  vpnsdk::Assignment none = assignment("10.10.0.9");
  none.address = 0;
  CHECK_FALSE(c.router().assigned(9, none).ok());
}

TEST_CASE("router_client: by default only private networks of at least a /16 are accepted") {
  Client c;
  CHECK(c.router().assigned(7, assignment("10.10.0.2")).ok());
  CHECK(c.router().assigned(7, assignment("172.16.5.2", 16, "172.16.0.1")).ok());
  CHECK(c.router().assigned(7, assignment("192.168.1.2", 24, "192.168.1.1")).ok());
  CHECK(c.router().assigned(7, assignment("100.64.0.2", 24, "100.64.0.1")).ok());
  CHECK(c.h.counters().value("assignments_refused") == 0);
}

TEST_CASE("router_client: an assignment that would route the internet through the tunnel is refused, saying why") {
  Client c;
  // The example: 200.8.8.8/1 routes 128.0.0.0/1 through the tunnel.
  auto st = c.router().assigned(7, assignment("200.8.8.8", 1, "200.8.8.1"));
  CHECK(st.code == vpnsdk::Code::refused);
  CHECK(st.message.find("200.8.8.8/1") != std::string::npos);
  CHECK(st.message.find("128.0.0.0/1") != std::string::npos);
  CHECK(st.message.find("min_prefix_len 16") != std::string::npos);
  CHECK_FALSE(c.router().local().has_value());  // nothing is routed
  CHECK(c.route(addr("200.8.8.8"), addr("8.8.8.8"), 0).reason == std::string("not_connected"));

  // A private address with a short prefix: refused by min_prefix_len as well.
  st = c.router().assigned(7, assignment("10.0.0.2", 8, "10.0.0.1"));
  CHECK(st.code == vpnsdk::Code::refused);
  CHECK(st.message.find("min_prefix_len") != std::string::npos);

  // A public /24: the prefix is fine, the network is not allowed.
  st = c.router().assigned(7, assignment("200.8.8.8", 24, "200.8.8.1"));
  CHECK(st.code == vpnsdk::Code::refused);
  CHECK(st.message.find("200.8.8.0/24") != std::string::npos);
  CHECK(st.message.find("accept_networks (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10)") !=
        std::string::npos);

  // The address inside, the server outside the same allowed network.
  st = c.router().assigned(7, assignment("10.10.0.2", 24, "192.168.0.1"));
  CHECK(st.code == vpnsdk::Code::refused);
  // A private network that only starts inside an allowed one: 10.0.0.0/7 covers 11.0.0.0/8.
  CHECK(c.router().assigned(7, assignment("10.0.0.2", 7, "10.0.0.1")).code == vpnsdk::Code::refused);
  CHECK(c.h.counters().value("assignments_refused") == 5);
  CHECK(c.h.counters().value("assignments") == 0);
}

TEST_CASE("router_client: accept_networks and min_prefix_len widen or narrow what is accepted") {
  Client c({{"accept_networks", std::vector<std::string>{"200.8.0.0/16"}}, {"min_prefix_len", std::int64_t{24}}});
  REQUIRE(c.h.status().ok());
  CHECK(c.router().assigned(7, assignment("200.8.8.8", 24, "200.8.8.1")).ok());
  CHECK(c.router().assigned(7, assignment("200.8.8.8", 20, "200.8.0.1")).code == vpnsdk::Code::refused);
  CHECK(c.router().assigned(7, assignment("10.10.0.2")).code == vpnsdk::Code::refused);
}

TEST_CASE("router_client: a malformed accept_networks entry is a configuration error naming the option") {
  Client c({{"accept_networks", std::vector<std::string>{"10.0.0.1/8"}}});
  CHECK_FALSE(c.h.status().ok());
  CHECK(c.h.status().message.find("accept_networks") != std::string::npos);
  Client d({{"min_prefix_len", std::int64_t{33}}});
  CHECK_FALSE(d.h.status().ok());
  CHECK(d.h.status().message.find("min_prefix_len") != std::string::npos);
}
