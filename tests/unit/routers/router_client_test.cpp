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
  vpnsdk::Router& router() { return h.get<vpnsdk::Router>(); }
  vpnsdk::RouteDecision route(std::uint32_t src, std::uint32_t dst, vpnsdk::SessionId from) {
    auto bytes = ipv4_packet(src, dst);
    auto p = h.packet(bytes);
    return router().route(*p, from);
  }
  vpnsdk::testkit::Harness h;
};

vpnsdk::Assignment assignment(const char* address) {
  vpnsdk::Assignment a;
  a.address = addr(address);
  a.prefix_len = 24;
  a.server = addr("10.10.0.1");
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
  CHECK(d.option_count == 0);
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
