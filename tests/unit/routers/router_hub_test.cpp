#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "packets.hpp"
#include "vpnsdk/testkit/harness.hpp"

using routers_test::addr;
using routers_test::ipv4_packet;
using vpnsdk::Code;
using vpnsdk::RouteDecision;
using Kind = vpnsdk::RouteDecision::Kind;

namespace {

const std::string kHub = std::string(VPNHOST_TEST_PLUGIN_DIR) + "/router_hub.so";

vpnsdk::SessionInfo session(vpnsdk::SessionId id) {
  vpnsdk::SessionInfo s;
  s.id = id;
  s.peer = {"127.0.0.1", static_cast<std::uint16_t>(40000 + id % 20000)};
  return s;
}

struct Hub {
  explicit Hub(std::map<std::string, vpnsdk::OptionValue> opts = {}) : h(kHub, std::move(opts)) {
    REQUIRE(h.status().ok());
  }
  vpnsdk::Router& router() { return h.get<vpnsdk::Router>(); }
  vpnsdk::Assignment assign(vpnsdk::SessionId id, const vpnsdk::PeerIdentity* who = nullptr) {
    vpnsdk::Assignment a;
    auto s = router().assign(session(id), who, a);
    INFO(s.message);
    REQUIRE(s.ok());
    return a;
  }
  RouteDecision route(std::uint32_t src, std::uint32_t dst, vpnsdk::SessionId from) {
    auto bytes = ipv4_packet(src, dst);
    auto p = h.packet(bytes);
    return router().route(*p, from);
  }
  vpnsdk::testkit::Harness h;
};

std::string config_error(std::map<std::string, vpnsdk::OptionValue> opts) {
  vpnsdk::testkit::Harness h(kHub, std::move(opts));
  CHECK(h.status().code == Code::config);
  return h.status().message;
}

}  // namespace

TEST_CASE("router_hub: descriptor provides the address pool") {
  Hub hub;
  const auto& d = hub.h.descriptor();
  CHECK(std::string(d.name) == "router_hub");
  CHECK(d.stage == vpnsdk::Stage::router);
  REQUIRE(d.provides != nullptr);
  CHECK(std::string(d.provides[0]) == "address-pool");
  CHECK(d.provides[1] == nullptr);
}

TEST_CASE("router_hub: default pool hands out 10.10.0.2..254 in order, then refuses") {
  Hub hub;
  auto first = hub.assign(1);
  CHECK(first.address == addr("10.10.0.2"));
  CHECK(first.prefix_len == 24);
  CHECK(first.server == addr("10.10.0.1"));
  CHECK(first.mtu == 0);  // the host derives the tunnel MTU (docs/mtu.md)
  CHECK(first.dns.empty());

  std::set<std::uint32_t> seen{first.address};
  for (vpnsdk::SessionId id = 2; id <= 253; ++id) {
    auto a = hub.assign(id);
    CHECK(a.address == addr("10.10.0.1") + static_cast<std::uint32_t>(id));  // lowest first
    seen.insert(a.address);
  }
  CHECK(seen.size() == 253);
  CHECK(*seen.rbegin() == addr("10.10.0.254"));
  CHECK(seen.count(addr("10.10.0.1")) == 0);

  vpnsdk::Assignment out;
  auto full = hub.router().assign(session(254), nullptr, out);
  CHECK(full.code == Code::refused);
  CHECK(full.message == "address pool full");
  CHECK(hub.h.counters().value("pool_full") == 1);
  CHECK(hub.h.counters().value("assigned") == 253);

  // Freed addresses come back lowest first.
  hub.router().release(100);  // held 10.10.0.101
  hub.router().release(7);    // held 10.10.0.8
  CHECK(hub.assign(300).address == addr("10.10.0.8"));
  CHECK(hub.assign(301).address == addr("10.10.0.101"));
  CHECK(hub.router().assign(session(302), nullptr, out).code == Code::refused);

  // Release everything: the whole pool is there again, from the bottom.
  for (vpnsdk::SessionId id = 1; id <= 301; ++id) hub.router().release(id);
  CHECK(hub.h.counters().value("released") == 255);
  for (vpnsdk::SessionId id = 1000; id < 1253; ++id)
    CHECK(hub.assign(id).address == addr("10.10.0.2") + static_cast<std::uint32_t>(id - 1000));
}

TEST_CASE("router_hub: assigning a session twice keeps its address, releasing an unknown one is harmless") {
  Hub hub;
  auto a = hub.assign(5);
  auto b = hub.assign(5);
  CHECK(a.address == b.address);
  CHECK(hub.h.counters().value("assigned") == 1);
  hub.router().release(999);
  CHECK(hub.h.counters().value("released") == 0);
  vpnsdk::Assignment out;
  CHECK(hub.router().assign(session(0), nullptr, out).code == Code::internal);
}

TEST_CASE("router_hub: a reconnecting session gets an address afresh") {
  Hub hub;
  CHECK(hub.assign(1).address == addr("10.10.0.2"));
  CHECK(hub.assign(2).address == addr("10.10.0.3"));
  hub.router().release(1);
  CHECK(hub.assign(3).address == addr("10.10.0.2"));  // lowest free, to the new session
  // The old session's traffic is not routed any more.
  CHECK(hub.route(addr("10.10.0.2"), addr("10.10.0.1"), 1).reason == std::string("unassigned_session"));
}

TEST_CASE("router_hub: fixed addresses from the peer identity") {
  Hub hub;
  vpnsdk::PeerIdentity alice;
  alice.name = "alice";
  alice.fixed_address = addr("10.10.0.50");
  CHECK(hub.assign(1, &alice).address == addr("10.10.0.50"));
  CHECK(hub.assign(2).address == addr("10.10.0.2"));

  vpnsdk::Assignment out;
  vpnsdk::PeerIdentity bob{"bob", {}, addr("10.10.0.50")};  // alice has it
  auto s = hub.router().assign(session(3), &bob, out);
  CHECK(s.code == Code::refused);
  CHECK_THAT(s.message, Catch::Contains("10.10.0.50") && Catch::Contains("in use"));
  bob.fixed_address = addr("10.20.0.5");
  CHECK(hub.router().assign(session(3), &bob, out).code == Code::refused);
  bob.fixed_address = addr("10.10.0.1");
  CHECK(hub.router().assign(session(3), &bob, out).code == Code::refused);
  bob.fixed_address = addr("10.10.0.255");
  CHECK(hub.router().assign(session(3), &bob, out).code == Code::refused);
  CHECK(hub.h.counters().value("fixed_refused") == 4);
  CHECK(hub.route(addr("10.10.0.2"), addr("10.10.0.50"), 2).session == 1);
}

TEST_CASE("router_hub: custom network, server, pool, mtu and dns") {
  Hub hub({{"network", std::string("172.16.0.0/16")},
           {"server_address", std::string("172.16.255.254")},
           {"pool_start", std::string("172.16.1.10")},
           {"pool_end", std::string("172.16.1.11")},
           {"mtu", std::int64_t{1280}},
           {"dns", std::vector<std::string>{"172.16.0.53", "9.9.9.9"}}});
  auto a = hub.assign(1);
  CHECK(a.address == addr("172.16.1.10"));
  CHECK(a.prefix_len == 16);
  CHECK(a.server == addr("172.16.255.254"));
  CHECK(a.mtu == 1280);
  CHECK(a.dns == std::vector<std::uint32_t>{addr("172.16.0.53"), addr("9.9.9.9")});
  CHECK(hub.assign(2).address == addr("172.16.1.11"));
  vpnsdk::Assignment out;
  CHECK(hub.router().assign(session(3), nullptr, out).message == "address pool full");

  auto self = hub.router().local();
  REQUIRE(self);
  CHECK(self->address == addr("172.16.255.254"));
  CHECK(self->server == addr("172.16.255.254"));
  CHECK(self->prefix_len == 16);
  CHECK(self->mtu == 1280);
  CHECK(self->dns.size() == 2);
}

TEST_CASE("router_hub: default pool skips a server at the bottom or top of the network") {
  Hub top({{"network", std::string("10.1.2.0/29")}, {"server_address", std::string("10.1.2.6")}});
  for (std::uint32_t i = 1; i <= 5; ++i) CHECK(top.assign(i).address == addr("10.1.2.0") + i);
  vpnsdk::Assignment out;
  CHECK(top.router().assign(session(6), nullptr, out).code == Code::refused);

  Hub mid({{"network", std::string("10.1.2.0/29")}, {"server_address", std::string("10.1.2.3")}});
  std::vector<std::uint32_t> got;
  for (std::uint32_t i = 1; i <= 5; ++i) got.push_back(mid.assign(i).address);
  CHECK(got == std::vector<std::uint32_t>{addr("10.1.2.1"), addr("10.1.2.2"), addr("10.1.2.4"), addr("10.1.2.5"),
                                          addr("10.1.2.6")});
}

TEST_CASE("router_hub: bad options are refused with the option named") {
  CHECK_THAT(config_error({{"network", std::string("10.10.0.0/33")}}),
             Catch::Contains("'network'") && Catch::Contains("10.10.0.0/33") && Catch::Contains("(test)"));
  CHECK_THAT(config_error({{"network", std::string("10.10.0.1/24")}}), Catch::Contains("'network'"));
  CHECK_THAT(config_error({{"network", std::string("10.0.0.0/8")}}),
             Catch::Contains("'network'") && Catch::Contains("/16"));
  CHECK_THAT(config_error({{"network", std::string("10.10.0.0/31")}}), Catch::Contains("'network'"));
  CHECK_THAT(config_error({{"server_address", std::string("10.20.0.1")}}),
             Catch::Contains("'server_address'") && Catch::Contains("outside the network 10.10.0.0/24"));
  CHECK_THAT(config_error({{"server_address", std::string("10.10.0.255")}}),
             Catch::Contains("'server_address'") && Catch::Contains("broadcast"));
  CHECK_THAT(config_error({{"server_address", std::string("hub")}}), Catch::Contains("'server_address'"));
  CHECK_THAT(config_error({{"pool_start", std::string("10.10.0.0")}}), Catch::Contains("'pool_start'"));
  CHECK_THAT(config_error({{"pool_end", std::string("10.10.1.9")}}), Catch::Contains("'pool_end'"));
  CHECK_THAT(config_error({{"pool_start", std::string("10.10.0.100")}, {"pool_end", std::string("10.10.0.99")}}),
             Catch::Contains("'pool_end'") && Catch::Contains("below pool_start"));
  CHECK_THAT(config_error({{"mtu", std::int64_t{575}}}), Catch::Contains("'mtu'") && Catch::Contains("576"));
  CHECK_THAT(config_error({{"mtu", std::int64_t{9001}}}), Catch::Contains("'mtu'"));
  CHECK_THAT(config_error({{"mtu", std::int64_t{1}}}), Catch::Contains("'mtu'") && Catch::Contains("0 (the host derives it)"));
  CHECK_THAT(config_error({{"dns", std::vector<std::string>{"1.1.1.1", "one.one"}}}),
             Catch::Contains("'dns'") && Catch::Contains("one.one"));
}

TEST_CASE("router_hub: route decisions") {
  Hub hub;
  const std::uint32_t a = hub.assign(11).address;  // 10.10.0.2
  const std::uint32_t b = hub.assign(12).address;  // 10.10.0.3
  const std::uint32_t server = addr("10.10.0.1");

  auto r = hub.route(a, server, 11);
  CHECK(r.kind == Kind::local);

  r = hub.route(a, b, 11);
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 12);
  r = hub.route(b, a, 12);
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 11);
  r = hub.route(a, a, 11);  // to itself: back to the same session
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 11);

  r = hub.route(b, b, 11);  // A pretending to be B
  CHECK(r.kind == Kind::drop);
  CHECK(r.reason == std::string("spoofed_source"));
  r = hub.route(addr("192.168.1.1"), b, 11);
  CHECK(r.reason == std::string("spoofed_source"));
  r = hub.route(a, b, 99);  // a session that holds no address
  CHECK(r.reason == std::string("unassigned_session"));

  r = hub.route(a, addr("10.10.0.200"), 11);
  CHECK(r.kind == Kind::drop);
  CHECK(r.reason == std::string("no_route"));
  CHECK(hub.route(a, addr("10.10.0.255"), 11).reason == std::string("no_route"));
  CHECK(hub.route(a, addr("10.10.0.0"), 11).reason == std::string("no_route"));

  r = hub.route(a, addr("198.51.100.1"), 11);  // the gateway case
  CHECK(r.kind == Kind::device);

  // From the device or a responder (from == 0): no source rule.
  r = hub.route(addr("198.51.100.1"), a, 0);
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 11);
  r = hub.route(server, b, 0);  // an echo reply from the hub itself
  CHECK(r.kind == Kind::session);
  CHECK(r.session == 12);

  // After release, B's address is no route and B's session is unknown.
  hub.router().release(12);
  CHECK(hub.route(a, b, 11).reason == std::string("no_route"));
  CHECK(hub.route(b, a, 12).reason == std::string("unassigned_session"));

  // Route drops are the host's to count.
  CHECK(hub.h.counters().value("no_route") == 0);
  CHECK(hub.h.counters().value("spoofed_source") == 0);
}

TEST_CASE("router_hub: a runt buffer is dropped, not read past its end") {
  Hub hub;
  hub.assign(1);
  std::vector<std::byte> runt(12, std::byte{0x45});
  auto p = hub.h.packet(runt);
  auto r = hub.router().route(*p, 1);
  CHECK(r.kind == Kind::drop);
}

TEST_CASE("router_hub: an authenticated key gets its last address again when it is free") {
  Hub hub;
  vpnsdk::PeerIdentity alice{"alice", {1, 2, 3}, std::nullopt};
  vpnsdk::PeerIdentity bob{"bob", {4, 5, 6}, std::nullopt};
  CHECK(hub.assign(1).address == addr("10.10.0.2"));  // an anonymous session
  CHECK(hub.assign(2, &alice).address == addr("10.10.0.3"));
  CHECK(hub.assign(3, &bob).address == addr("10.10.0.4"));
  hub.router().release(1);
  hub.router().release(2);
  // alice reconnects: not the lowest free address (.2) but her own (.3).
  CHECK(hub.assign(4, &alice).address == addr("10.10.0.3"));
  CHECK(hub.h.counters().value("sticky_reused") == 1);
  // Anonymous sessions and other keys still get the lowest free one.
  CHECK(hub.assign(5).address == addr("10.10.0.2"));
  // When her address went to someone else meanwhile, she gets another.
  hub.router().release(4);
  CHECK(hub.assign(6).address == addr("10.10.0.3"));
  CHECK(hub.assign(7, &alice).address == addr("10.10.0.5"));
  CHECK(hub.h.counters().value("sticky_reused") == 1);
}

TEST_CASE("router_hub: a new session of the same key takes its address over from the old one") {
  Hub hub;
  vpnsdk::PeerIdentity alice{"alice", {1, 2, 3}, std::nullopt};
  const auto first = hub.assign(1, &alice).address;
  CHECK(first == addr("10.10.0.2"));
  // alice reconnects while the server still has her old session.
  CHECK(hub.assign(2, &alice).address == first);
  CHECK(hub.h.counters().value("reclaimed") == 1);
  CHECK(hub.route(addr("10.10.0.9"), first, 0).session == 2);  // traffic goes to the new session
  CHECK(hub.route(first, addr("10.10.0.1"), 2).kind == Kind::local);
  CHECK(hub.route(first, addr("10.10.0.1"), 1).reason == std::string("unassigned_session"));
  // The old session's end does not free the address the new one holds.
  hub.router().release(1);
  CHECK(hub.h.counters().value("released") == 0);
  CHECK(hub.route(addr("10.10.0.9"), first, 0).session == 2);
  CHECK(hub.assign(3).address == addr("10.10.0.3"));

  // Another key never takes an address over.
  vpnsdk::PeerIdentity mallory{"mallory", {9, 9, 9}, first};
  vpnsdk::Assignment out;
  CHECK(hub.router().assign(session(4), &mallory, out).code == Code::refused);
  // Nor does a fixed-address identity without a key (no authentication).
  vpnsdk::PeerIdentity nokey{"nokey", {}, first};
  CHECK(hub.router().assign(session(5), &nokey, out).code == Code::refused);
}

TEST_CASE("router_hub: a fixed address moves to the newest session of its key") {
  Hub hub;
  vpnsdk::PeerIdentity alice{"alice", {7}, addr("10.10.0.50")};
  CHECK(hub.assign(1, &alice).address == addr("10.10.0.50"));
  CHECK(hub.assign(2, &alice).address == addr("10.10.0.50"));
  CHECK(hub.h.counters().value("reclaimed") == 1);
  CHECK(hub.route(addr("10.10.0.50"), addr("10.10.0.1"), 2).kind == Kind::local);
  CHECK(hub.route(addr("10.10.0.50"), addr("10.10.0.1"), 1).reason == std::string("unassigned_session"));
  hub.router().release(2);
  CHECK(hub.assign(3, &alice).address == addr("10.10.0.50"));
}
