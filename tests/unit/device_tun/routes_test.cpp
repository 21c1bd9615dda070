// device_tun's client routing (route_all, routes, keep_route_to,
// on_tunnel_down) against the real kernel, each case in a private network
// namespace of its own. Routes are read back with `ip`, which runs in the
// test process's namespace.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fixture.hpp"
#include "host_tools.hpp"

using namespace tun_test;
using vpnsdk::Code;
using Opts = std::map<std::string, vpnsdk::OptionValue>;

namespace {

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_in in4(const char* a, std::uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(addr(a));
  return s;
}

// An established TCP connection standing in for the transport's: to
// 172.31.9.2 (our own underlay address, so no host route is needed).
struct TransportStandIn {
  Socket listener, client, accepted;
  void connect() {
    listener.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at = in4("172.31.9.2", 0);
    REQUIRE(::bind(listener.fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    REQUIRE(::listen(listener.fd, 1) == 0);
    socklen_t len = sizeof at;
    REQUIRE(::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&at), &len) == 0);
    client.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(::connect(client.fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    accepted.fd = ::accept(listener.fd, nullptr, nullptr);
    REQUIRE(accepted.fd >= 0);
  }
  // The connection to the server is gone.
  void hang_up() {
    ::close(client.fd);
    client.fd = -1;
    ::close(accepted.fd);
    accepted.fd = -1;
  }
};

// A connected UDP socket: what a transport's connection to the server looks
// like to device_tun (no packet is sent).
void connect_udp(Socket& s, const char* peer) {
  s.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(s.fd >= 0);
  sockaddr_in to = in4(peer, 5000);
  REQUIRE(::connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
}

}  // namespace

TEST_CASE("split tunnel: the listed networks go through the device, and go again on stop") {
  ENTER_NETNS();
  TempDir tmp;
  const std::string before = routes_snapshot();
  vpnsdk::testkit::Harness h(kTun, Opts{{"routes", std::vector<std::string>{"192.0.2.0/24", "198.51.100.0/25"}},
                                        {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());
  const std::string routes = sh("ip -4 route show");
  INFO(routes);
  CHECK(has_line(routes, "192.0.2.0/24 dev vpn0 proto static scope link src 10.10.0.2"));
  CHECK(has_line(routes, "198.51.100.0/25 dev vpn0 proto static scope link src 10.10.0.2"));
  CHECK_FALSE(has_line(routes, "0.0.0.0/1"));
  CHECK_THAT(sh("ip -4 route get 192.0.2.77"), Catch::Contains("dev vpn0"));
  CHECK(h.counters().value("routes_added") == 2);
  CHECK(tmp.empty_dir("state"));  // nothing that outlives the TUN device: no state file

  dev.stop();
  CHECK(routes_snapshot() == before);
}

TEST_CASE("route_all: rules ahead of the main table, a table of its own, the server kept, all undone on stop") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  REQUIRE(sh("ip -6 addr add 2001:db8:9::2/64 dev vhA nodad && ip -6 route add default via 2001:db8:9::1 dev vhA && echo ok") ==
          "ok\n");
  TempDir tmp;
  const std::string before = routes_snapshot();
  const std::string before6 = routes6_snapshot();
  const std::string rules_before = rules_snapshot();
  vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true},
                                        {"keep_route_to", std::vector<std::string>{"203.0.113.5"}},
                                        {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());

  const std::string rules = sh("ip -4 rule show");
  INFO(rules);
  CHECK(has_line(rules, "10000:\tfrom all to 203.0.113.5 lookup main proto 118"));
  CHECK(has_line(rules, "10002:\tfrom all lookup 10010 proto 118"));
  CHECK(has_line(sh("ip -4 route show table 10010"), "default dev vpn0 proto 118 scope link src 10.10.0.2"));
  const std::string routes = sh("ip -4 route show");
  INFO(routes);
  CHECK_FALSE(has_line(routes, "0.0.0.0/1"));  // no def1 routes: the rules do it
  CHECK(has_line(routes, "203.0.113.5 via 172.31.9.1 dev vhA proto static"));
  CHECK(has_line(routes, "default via 172.31.9.1 dev vhA"));  // untouched
  CHECK_THAT(sh("ip -4 route get 8.8.8.8"), Catch::Contains("dev vpn0 table 10010"));
  CHECK_THAT(sh("ip -4 route get 172.31.9.77"), Catch::Contains("dev vpn0 table 10010"));  // the local network too
  CHECK_THAT(sh("ip -4 route get 203.0.113.5"), Catch::Contains("via 172.31.9.1 dev vhA"));
  // TunnelVision: a more specific route in main changes nothing.
  REQUIRE(sh("ip route add 8.8.8.0/24 via 172.31.9.1 dev vhA && echo ok") == "ok\n");
  CHECK_THAT(sh("ip -4 route get 8.8.8.8"), Catch::Contains("dev vpn0 table 10010"));
  // A socket bound to the underlay interface (a DHCP client's) still gets main's route.
  CHECK_THAT(sh("ip -4 route get 8.8.4.4 oif vhA"), Catch::Contains("via 172.31.9.1 dev vhA"));
  REQUIRE(sh("ip route del 8.8.8.0/24 && echo ok") == "ok\n");
  CHECK(h.counters().value("routes_added") == 3);  // the host route, the table's default and IPv6 block
  // IPv6 cannot use this IPv4 tunnel: blocked ahead of main, but link-local and multicast.
  const std::string rules6 = sh("ip -6 rule show");
  INFO(rules6);
  CHECK(has_line(rules6, "10000:\tfrom all to fe80::/10 lookup main proto 118"));
  CHECK(has_line(rules6, "10000:\tfrom all to ff00::/8 lookup main proto 118"));
  CHECK(has_line(rules6, "10002:\tfrom all lookup 10010 proto 118"));
  CHECK(has_line(sh("ip -6 route show table 10010"), "unreachable default dev lo proto 118"));
  CHECK_THAT(sh("ip -6 route get 2001:db8:ffff::1"), Catch::Contains("No route to host"));  // the unreachable route
  CHECK_THAT(sh("ip -6 route get 2001:db8:9::77"), Catch::Contains("No route to host"));  // an RA's /64 as well
  CHECK_THAT(sh("ip -6 route get fe80::1 oif vhA"), Catch::Contains("dev vhA"));
  // Everything that outlives the TUN device is listed.
  const std::string state = read_file(state_path(tmp / "state", "vpn0"));
  INFO(state);
  CHECK_THAT(state, Catch::Contains("route 203.0.113.5 32 172.31.9.1") &&
                        Catch::Contains("rule 4 10000 254 203.0.113.5/32\n") &&
                        Catch::Contains("rule 4 10002 10010 all\n") && Catch::Contains("rule 6 10000 254 fe80::/10\n") &&
                        Catch::Contains("rule 6 10000 254 ff00::/8\n") && Catch::Contains("rule 6 10002 10010 all\n") &&
                        Catch::Contains("unreachable6 ::/0 10010\n"));

  dev.stop();
  CHECK(routes_snapshot() == before);
  CHECK(routes6_snapshot() == before6);
  CHECK(sh("ip -6 route show table all | grep -c 'proto 118'") == "0\n");
  CHECK(rules_snapshot() == rules_before);
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("route_all: route_table and route_rule_priority place the rules and the table") {
  ENTER_NETNS();
  TempDir tmp;
  const std::string rules_before = rules_snapshot();
  vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true},
                                        {"route_table", std::int64_t{77}},
                                        {"route_rule_priority", std::int64_t{500}},
                                        {"keep_route_to", std::vector<std::string>{"127.0.0.1"}},  // local: no host route
                                        {"state_dir", tmp / "s"}});
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());
  const std::string rules = sh("ip -4 rule show") + sh("ip -6 rule show");
  INFO(rules);
  CHECK(has_line(rules, "500:\tfrom all to 127.0.0.1 lookup main proto 118"));
  CHECK(has_line(rules, "502:\tfrom all lookup 77 proto 118"));
  CHECK(has_line(rules, "500:\tfrom all to fe80::/10 lookup main proto 118"));
  CHECK(has_line(sh("ip -4 route show table 77"), "default dev vpn0"));
  CHECK_THAT(read_file(state_path(tmp / "s", "vpn0")), Catch::Contains("rule 4 502 77 all") &&
                                                           Catch::Contains("unreachable6 ::/0 77"));
  h.get<vpnsdk::Device>().stop();
  CHECK(rules_snapshot() == rules_before);
}

TEST_CASE("route_all: a rule or table route of that place that exists already is refused, and nothing is left") {
  ENTER_NETNS();
  TempDir tmp;
  for (const char* taken : {"ip rule add priority 10002 lookup 10010 protocol 118",
                            "ip link add vhX type veth peer name vhY && ip link set vhX up && ip route add default dev vhX table 10010"}) {
    INFO(taken);
    REQUIRE(sh(std::string(taken) + " && echo ok") == "ok\n");
    const std::string rules = rules_snapshot();
    const std::string routes = routes_snapshot();
    vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true},
                                          {"keep_route_to", std::vector<std::string>{"127.0.0.1"}},
                                          {"state_dir", tmp / "s"}});
    Sink sink;
    auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
    CHECK(s.code == Code::io);
    CHECK_THAT(s.message, Catch::Contains("exists already") && Catch::Contains("device.route_table"));
    CHECK(if_nametoindex("vpn0") == 0);
    CHECK(rules_snapshot() == rules);
    CHECK(routes_snapshot() == routes);
    CHECK(tmp.empty_dir("s"));
    sh("ip rule del priority 10002 lookup 10010; ip link del vhX");
  }
}

TEST_CASE("route_all: a crashed run's rules and IPv6 block are deleted at start, and only this run's remain") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  const std::string rules_before = rules_snapshot();
  // What a route_all client that was killed leaves: its rules, its IPv6 block (its table's
  // default route went with its TUN device), its host route, and the state file listing them.
  REQUIRE(sh("ip rule add priority 10000 to 203.0.113.5 lookup main protocol 118 && "
             "ip rule add priority 10002 lookup 10010 protocol 118 && "
             "ip -6 rule add priority 10000 to fe80::/10 lookup main protocol 118 && "
             "ip -6 rule add priority 10000 to ff00::/8 lookup main protocol 118 && "
             "ip -6 rule add priority 10002 lookup 10010 protocol 118 && "
             "ip -6 route add unreachable default table 10010 proto 118 && "
             "ip route add 203.0.113.5 via 172.31.9.1 dev vhA proto static && echo ok") == "ok\n");
  const std::string crashed_rules = rules_snapshot();
  const std::string oif = std::to_string(if_nametoindex("vhA"));
  std::filesystem::create_directories(tmp / "state");
  write_file(state_path(tmp / "state", "vpn0"),
             "pid 999999999\nroute 203.0.113.5 32 172.31.9.1 " + oif + " 254\nrule 4 10000 254 203.0.113.5/32\n"
             "rule 4 10002 10010 all\nrule 6 10000 254 fe80::/10\nrule 6 10000 254 ff00::/8\n"
             "rule 6 10002 10010 all\nunreachable6 ::/0 10010\n");

  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true},
                                        {"keep_route_to", std::vector<std::string>{"203.0.113.5"}},
                                        {"state_dir", tmp / "state"}},
                             {}, ".", log.logger);
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  INFO(s.message << "\n" << log.str());
  REQUIRE(s.ok());
  CHECK(h.counters().value("stale_state_recovered") == 1);
  CHECK_THAT(log.str(), Catch::Contains("policy routing removed: 5 rule(s)"));
  CHECK(rules_snapshot() == crashed_rules);  // the same rules again, each once
  CHECK(sh("ip -6 route show table 10010") == "unreachable default dev lo proto 118 metric 1024 pref medium\n");
  h.get<vpnsdk::Device>().stop();
  CHECK(rules_snapshot() == rules_before);
  CHECK_THAT(sh("ip -6 route show table all"), !Catch::Contains("table 10010"));
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("route_all finds the transport's peer by itself") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  Socket transport;
  connect_udp(transport, "203.0.113.7");
  Socket local_peer;  // a peer on loopback is never "the server's underlay address"
  connect_udp(local_peer, "127.0.0.1");
  vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true}, {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());
  const std::string routes = sh("ip -4 route show");
  INFO(routes);
  CHECK(has_line(routes, "203.0.113.7 via 172.31.9.1 dev vhA proto static"));
  CHECK_FALSE(has_line(routes, "127.0.0.1"));
  const std::string rules = sh("ip -4 rule show");
  INFO(rules);
  CHECK(has_line(rules, "10000:\tfrom all to 203.0.113.7 lookup main proto 118"));
  CHECK_FALSE(has_line(rules, "10000:\tfrom all to 127.0.0.1"));
  CHECK(has_line(rules, "10002:\tfrom all lookup 10010 proto 118"));
}

TEST_CASE("route_all with no server address to keep is refused, and nothing is left") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  const std::string before = routes_snapshot();
  vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true}, {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  CHECK(s.code == Code::config);
  CHECK_THAT(s.message, Catch::Contains("keep_route_to"));
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(routes_snapshot() == before);
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("a route that exists already is refused with a clear message, and nothing is left") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  const std::string before = routes_snapshot();
  vpnsdk::testkit::Harness h(
      kTun, Opts{{"routes", std::vector<std::string>{"192.0.2.0/24", "172.31.9.0/24"}}, {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  CHECK(s.code == Code::io);
  CHECK_THAT(s.message, Catch::Contains("172.31.9.0/24") && Catch::Contains("exists already"));
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(routes_snapshot() == before);  // 192.0.2.0/24, added first, is gone again
}

TEST_CASE("route_all and routes are refused on the hub's own address") {
  ENTER_NETNS();
  TempDir tmp;
  vpnsdk::testkit::Harness h(kTun, Opts{{"routes", std::vector<std::string>{"192.0.2.0/24"}}, {"state_dir", tmp / "s"}});
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.1"));  // address == server: the hub
  CHECK(s.code == Code::config);
  CHECK_THAT(s.message, Catch::Contains("client options"));
  CHECK(if_nametoindex("vpn0") == 0);
}

TEST_CASE("a stale host route from a crashed run is deleted at start") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  const std::string before = routes_snapshot();
  REQUIRE(sh("ip route add 203.0.113.9 via 172.31.9.1 dev vhA proto static && echo ok") == "ok\n");
  const std::string oif = std::to_string(if_nametoindex("vhA"));
  std::filesystem::create_directories(tmp / "state");
  write_file(state_path(tmp / "state", "vpn0"), "pid 999999999\nroute 203.0.113.9 32 172.31.9.1 " + oif + " 254\n");

  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun, Opts{{"routes", std::vector<std::string>{"192.0.2.0/24"}}, {"state_dir", tmp / "state"}},
                             {}, ".", log.logger);
  REQUIRE(h.status().ok());
  Sink sink;
  REQUIRE(h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2")).ok());
  CHECK(h.counters().value("stale_state_recovered") == 1);
  CHECK_THAT(log.str(), Catch::Contains("left") && Catch::Contains("1 route(s)"));
  CHECK_FALSE(has_line(sh("ip -4 route show"), "203.0.113.9"));
  h.get<vpnsdk::Device>().stop();
  CHECK(routes_snapshot() == before);
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("a reconnect with the same assignment keeps routes and scripts, a new one redoes them") {
  ENTER_NETNS();
  TempDir tmp;
  const std::string script = tmp / "hook";
  write_file(script, "#!/bin/sh\necho \"$script_type $ifconfig_local\" >>" + (tmp / "runs") + "\n", 0755);
  vpnsdk::testkit::Harness h(kTun, Opts{{"routes", std::vector<std::string>{"192.0.2.0/24"}},
                                        {"up", script},
                                        {"down", script},
                                        {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());
  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());  // the host reconnected, same address
  CHECK(read_file(tmp / "runs") == "up 10.10.0.2\n");
  CHECK(has_line(sh("ip -4 route show"), "192.0.2.0/24 dev vpn0 proto static scope link src 10.10.0.2"));

  REQUIRE(dev.start(sink, assignment("10.10.0.7")).ok());  // another address this time
  CHECK(read_file(tmp / "runs") == "up 10.10.0.2\ndown 10.10.0.2\nup 10.10.0.7\n");
  const std::string routes = sh("ip -4 route show");
  INFO(routes);
  CHECK(has_line(routes, "192.0.2.0/24 dev vpn0 proto static scope link src 10.10.0.7"));
  CHECK(h.counters().value("scripts_run") == 3);
  dev.stop();
  CHECK(read_file(tmp / "runs") == "up 10.10.0.2\ndown 10.10.0.2\nup 10.10.0.7\ndown 10.10.0.7\n");
}

TEST_CASE("fallback: the tunnel routes go when the connection to the server does, and come back with it") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  TransportStandIn transport;
  transport.connect();

  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun,
                             Opts{{"routes", std::vector<std::string>{"192.0.2.0/24"}},
                                  {"on_tunnel_down", std::string("fallback")},
                                  {"state_dir", tmp / "state"}},
                             {}, ".", log.logger);
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());
  REQUIRE(has_line(sh("ip -4 route show"), "192.0.2.0/24 dev vpn0"));

  // Still connected: a few checks pass without effect.
  run_until(h, [] { return false; }, std::chrono::milliseconds(1200));
  CHECK(h.counters().value("tunnel_down") == 0);

  transport.hang_up();
  CHECK(run_until(h, [&] { return h.counters().value("tunnel_down") == 1; }, std::chrono::seconds(4)));
  CHECK_FALSE(has_line(sh("ip -4 route show"), "192.0.2.0/24"));
  CHECK_THAT(log.str(), Catch::Contains("tunnel down: routes through the tunnel removed"));
  CHECK(if_nametoindex("vpn0") != 0);  // the device stays for the reconnect

  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());  // reconnected
  CHECK(has_line(sh("ip -4 route show"), "192.0.2.0/24 dev vpn0 proto static scope link src 10.10.0.2"));
  dev.stop();
  CHECK_FALSE(has_line(sh("ip -4 route show"), "192.0.2.0/24"));
}

TEST_CASE("fallback with route_all: the rules to the table go with the connection, and come back with it") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  TransportStandIn transport;  // its address gets the server's rule (and, being ours, no host route)
  transport.connect();

  vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true},
                                        {"on_tunnel_down", std::string("fallback")},
                                        {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());
  const std::string up = rules_snapshot();
  INFO(up);
  REQUIRE(has_line(up, "10002:\tfrom all lookup 10010 proto 118"));
  CHECK(has_line(up, "10000:\tfrom all to 172.31.9.2 lookup main proto 118"));

  transport.hang_up();
  CHECK(run_until(h, [&] { return h.counters().value("tunnel_down") == 1; }, std::chrono::seconds(4)));
  const std::string down = rules_snapshot();
  INFO(down);
  CHECK_THAT(down, !Catch::Contains("lookup 10010"));  // IPv4 and IPv6: the main table routes again
  CHECK(has_line(down, "10000:\tfrom all to 172.31.9.2 lookup main proto 118"));
  CHECK_THAT(sh("ip -4 route get 8.8.8.8"), Catch::Contains("via 172.31.9.1 dev vhA"));
  CHECK_THAT(read_file(state_path(tmp / "state", "vpn0")), !Catch::Contains("10010 all"));

  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());  // reconnected
  CHECK(rules_snapshot() == up);
  CHECK_THAT(sh("ip -4 route get 8.8.8.8"), Catch::Contains("dev vpn0 table 10010"));
  dev.stop();
  CHECK_THAT(rules_snapshot(), !Catch::Contains("proto 118"));
}

TEST_CASE("block_ipv6 = false leaves IPv6 alone") {
  ENTER_NETNS();
  TempDir tmp;
  const std::string before6 = routes6_snapshot();
  vpnsdk::testkit::Harness h(kTun, Opts{{"route_all", true}, {"block_ipv6", false},
                                        {"keep_route_to", std::vector<std::string>{"127.0.0.1"}},  // local: nothing to keep
                                        {"state_dir", tmp / "s"}});
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());
  CHECK_FALSE(has_line(sh("ip -6 route show"), "unreachable"));
  CHECK_THAT(sh("ip -6 route show table all"), !Catch::Contains("table 10010"));
  CHECK_THAT(sh("ip -6 rule show"), !Catch::Contains("proto 118"));
  CHECK(has_line(sh("ip -4 rule show"), "10002:\tfrom all lookup 10010 proto 118"));  // IPv4 as always
  h.get<vpnsdk::Device>().stop();
  CHECK(routes6_snapshot() == before6);
}

TEST_CASE("block: the tunnel routes stay while the device lives") {
  ENTER_NETNS();
  TempDir tmp;
  vpnsdk::testkit::Harness h(kTun, Opts{{"routes", std::vector<std::string>{"192.0.2.0/24"}}, {"state_dir", tmp / "s"}});
  REQUIRE(h.status().ok());
  Sink sink;
  REQUIRE(h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2")).ok());
  run_until(h, [] { return false; }, std::chrono::milliseconds(1500));  // no socket at all: nothing to watch
  CHECK(has_line(sh("ip -4 route show"), "192.0.2.0/24 dev vpn0"));
  CHECK(h.counters().value("tunnel_down") == 0);
}

TEST_CASE("split tunnel: the hook's trusted_ip names the server even when no route to it is kept") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  Socket transport;  // the server, outside the split tunnel's networks
  connect_udp(transport, "203.0.113.7");
  const std::string hook = tmp / "hook";
  write_file(hook, "#!/bin/sh\nenv | grep -E '^(trusted_ip|route_net_gateway)=' > " + tmp.path() + "/$script_type.env\n",
             0755);
  vpnsdk::testkit::Harness h(kTun, Opts{{"routes", std::vector<std::string>{"192.0.2.0/24"}},
                                        {"up", hook},
                                        {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());
  const std::string env = read_file(tmp / "up.env");
  INFO(env);
  CHECK_THAT(env, Catch::Contains("trusted_ip=203.0.113.7"));
  CHECK_THAT(env, !Catch::Contains("route_net_gateway="));  // no host route was kept
  CHECK_FALSE(has_line(sh("ip -4 route show"), "203.0.113.7 via 172.31.9.1 dev vhA proto static"));
  h.get<vpnsdk::Device>().stop();
}
