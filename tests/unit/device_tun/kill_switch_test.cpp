// device_tun's kill switch (route_all + on_tunnel_down = "block"): the
// nftables table inet vpnhostks_<name>, against the real kernel, each case
// in a private network namespace of its own.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "host_tools.hpp"

using namespace tun_test;
using Opts = std::map<std::string, vpnsdk::OptionValue>;

TEST_CASE("kill switch: made when the host runs (not at construction), kept up to date, removed by stop") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  const Opts opts{{"route_all", true},
                  {"keep_route_to", std::vector<std::string>{"203.0.113.5"}},
                  {"state_dir", tmp / "state"}};
  {
    // Constructed, never run: what `vpnhost check` does. Nothing is made.
    vpnsdk::testkit::Harness h(kTun, opts);
    REQUIRE(h.status().ok());
  }
  CHECK_THAT(sh("nft list tables"), !Catch::Contains("vpnhostks_"));

  vpnsdk::testkit::Harness h(kTun, opts);
  REQUIRE(h.status().ok());
  h.io().poll();  // the host starts running: before any connection
  // The default name "vpn%d": the table is named after it, and until the
  // device exists the rule matches any "vpn*".
  std::string table = sh("nft list table inet vpnhostks_vpn_d");
  INFO(table);
  CHECK_THAT(table, Catch::Contains("type filter hook output priority filter; policy drop;"));
  CHECK_THAT(table, Catch::Contains("oifname \"lo\" accept"));
  CHECK_THAT(table, Catch::Contains("oifname \"vpn*\" accept"));
  CHECK_THAT(table, Catch::Contains("ip daddr 203.0.113.5 accept"));

  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());
  CHECK(sh("nft list tables") == "table inet vpnhostks_vpn_d\n");
  table = sh("nft list table inet vpnhostks_vpn_d");
  CHECK_THAT(table, Catch::Contains("oifname \"vpn0\" accept"));  // the device's own name now
  CHECK_THAT(table, Catch::Contains("ip daddr 203.0.113.5 accept"));
  dev.stop();
  CHECK_THAT(sh("nft list tables"), !Catch::Contains("vpnhostks_"));
}

TEST_CASE("kill switch: none with fallback, with kill_switch = false, or in a split tunnel") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  for (const Opts& opts :
       {Opts{{"route_all", true}, {"on_tunnel_down", std::string("fallback")},
             {"keep_route_to", std::vector<std::string>{"203.0.113.5"}}, {"state_dir", tmp / "a"}},
        Opts{{"route_all", true}, {"kill_switch", false},
             {"keep_route_to", std::vector<std::string>{"203.0.113.5"}}, {"state_dir", tmp / "b"}},
        Opts{{"routes", std::vector<std::string>{"192.0.2.0/24"}}, {"state_dir", tmp / "c"}}}) {
    vpnsdk::testkit::Harness h(kTun, opts);
    REQUIRE(h.status().ok());
    h.io().poll();
    Sink sink;
    auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
    INFO(s.message);
    REQUIRE(s.ok());
    CHECK_THAT(sh("nft list tables"), !Catch::Contains("vpnhostks_"));
    h.get<vpnsdk::Device>().stop();
  }
}
