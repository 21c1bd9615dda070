// device_tun as a gateway (masquerade): its own nftables table, ip_forward,
// the crash-recovery state file, against the real kernel in a private
// network namespace per case (nft and ip run in the test's namespace).
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "host_tools.hpp"

using namespace tun_test;
using vpnsdk::Code;
using Opts = std::map<std::string, vpnsdk::OptionValue>;

namespace {

// The hub's own assignment: what the host hands a server's device.
vpnsdk::Assignment hub() { return assignment("10.10.0.1"); }

bool nft_available() {
  int rc = 0;
  sh("nft --version", &rc);
  return rc == 0;
}

#define NEEDS_NFT()                                              \
  do {                                                           \
    if (!nft_available()) {                                      \
      if (std::getenv("CI")) FAIL("needs nft (package nftables)"); \
      WARN("SKIPPED: needs nft");                                \
      return;                                                    \
    }                                                            \
  } while (0)

}  // namespace

TEST_CASE("masquerade: its own nftables table and ip_forward, both restored on stop") {
  ENTER_NETNS();
  NEEDS_NFT();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  write_file("/proc/sys/net/ipv4/ip_forward", "0\n");  // a new namespace may inherit 1
  const std::string ruleset_before = sh("nft list ruleset");
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("vhB")}, {"state_dir", tmp / "state"}});
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, hub());
  INFO(s.message);
  REQUIRE(s.ok());

  const std::string table = sh("nft list table inet vpnhost_vpn0");
  INFO(table);
  CHECK_THAT(table, Catch::Contains("type nat hook postrouting priority srcnat; policy accept;"));
  CHECK_THAT(table, Catch::Contains("ip saddr 10.10.0.0/24 oifname \"vhB\" masquerade"));
  CHECK_THAT(table, Catch::Contains("iifname \"vpn0\" oifname \"vhB\" ip saddr 10.10.0.0/24 accept"));
  CHECK_THAT(table, Catch::Contains("iifname != \"vpn0\" oifname \"vpn0\" ct state established,related accept"));
  CHECK_THAT(table, Catch::Contains("iifname != \"vpn0\" oifname \"vpn0\" drop"));
  CHECK(ip_forward() == "1");
  const std::string state = read_file(state_path(tmp / "state", "vpn0"));
  CHECK_THAT(state, Catch::Contains("ip_forward 0") && Catch::Contains("nft_table vpnhost_vpn0") &&
                        Catch::Contains("pid " + std::to_string(::getpid())));

  dev.stop();
  CHECK(ip_forward() == "0");
  CHECK(sh("nft list ruleset") == ruleset_before);
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("ip_forward that was on already stays on") {
  ENTER_NETNS();
  NEEDS_NFT();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  write_file("/proc/sys/net/ipv4/ip_forward", "1\n");
  REQUIRE(ip_forward() == "1");
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("vhB")}, {"state_dir", tmp / "state"}});
  Sink sink;
  REQUIRE(h.get<vpnsdk::Device>().start(sink, hub()).ok());
  CHECK_THAT(read_file(state_path(tmp / "state", "vpn0")), Catch::Contains("ip_forward 1"));
  h.get<vpnsdk::Device>().stop();
  CHECK(ip_forward() == "1");
}

TEST_CASE("a stale table and state file of a crashed run are undone first") {
  ENTER_NETNS();
  NEEDS_NFT();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  // What a gateway killed with SIGKILL leaves: its table (here with a chain
  // the new one does not have), ip_forward on, its state file.
  REQUIRE(sh("nft add table inet vpnhost_vpn0 && nft add chain inet vpnhost_vpn0 leftover && echo ok") == "ok\n");
  write_file("/proc/sys/net/ipv4/ip_forward", "1\n");
  std::filesystem::create_directories(tmp / "state");
  write_file(state_path(tmp / "state", "vpn0"), "pid 999999999\nip_forward 0\nnft_table vpnhost_vpn0\n");

  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("vhB")}, {"state_dir", tmp / "state"}}, {}, ".",
                             log.logger);
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, hub());
  INFO(s.message);
  REQUIRE(s.ok());
  CHECK(h.counters().value("stale_state_recovered") == 1);
  CHECK_THAT(log.str(), Catch::Contains("pid 999999999") && Catch::Contains("undoing it"));
  const std::string table = sh("nft list table inet vpnhost_vpn0");
  CHECK_THAT(table, !Catch::Contains("leftover"));
  CHECK_THAT(table, Catch::Contains("masquerade"));
  // The original value is the one the crashed run recorded, not today's 1.
  CHECK_THAT(read_file(state_path(tmp / "state", "vpn0")), Catch::Contains("ip_forward 0"));

  dev.stop();
  CHECK(ip_forward() == "0");
  CHECK(sh("nft list ruleset").empty());
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("two gateways in one namespace: ip_forward goes back only when the last one stops") {
  ENTER_NETNS();
  NEEDS_NFT();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  write_file("/proc/sys/net/ipv4/ip_forward", "0\n");
  vpnsdk::testkit::Harness a(kTun, Opts{{"name", std::string("gwa")}, {"masquerade", std::string("vhB")},
                                        {"state_dir", tmp / "state"}});
  vpnsdk::testkit::Harness b(kTun, Opts{{"name", std::string("gwb")}, {"masquerade", std::string("vhB")},
                                        {"state_dir", tmp / "state"}});
  Sink sink;
  REQUIRE(a.get<vpnsdk::Device>().start(sink, hub()).ok());
  vpnsdk::Assignment other = hub();
  other.address = other.server = addr("10.20.0.1");
  REQUIRE(b.get<vpnsdk::Device>().start(sink, other).ok());
  CHECK(ip_forward() == "1");
  CHECK_THAT(read_file(state_path(tmp / "state", "gwb")), Catch::Contains("ip_forward 0"));  // the true original

  a.get<vpnsdk::Device>().stop();
  CHECK(ip_forward() == "1");  // b still forwards
  CHECK_THAT(sh("nft list tables"), Catch::Contains("vpnhost_gwb") && !Catch::Contains("vpnhost_gwa"));
  CHECK_THAT(sh("nft list table inet vpnhost_gwb"), Catch::Contains("ip saddr 10.20.0.0/24"));
  b.get<vpnsdk::Device>().stop();
  CHECK(ip_forward() == "0");
  CHECK(sh("nft list ruleset").empty());
}

TEST_CASE("masquerade without the nft command is a clear start error, and nothing is changed") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  write_file("/proc/sys/net/ipv4/ip_forward", "0\n");
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("vhB")},
                                        {"nft", std::string("/nonexistent/nft")},
                                        {"state_dir", tmp / "state"}});
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, hub());
  CHECK(s.code == Code::config);
  CHECK_THAT(s.message, Catch::Contains("/nonexistent/nft") && Catch::Contains("nftables"));
  CHECK(ip_forward() == "0");
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("nft refusing the table is a start error with nft's message, and nothing is changed") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  write_file("/proc/sys/net/ipv4/ip_forward", "0\n");
  const std::string fake = tmp / "nft";
  write_file(fake, "#!/bin/sh\ncat >/dev/null\necho '/dev/stdin:3:5-8: Error: Could not process rule: No such file or directory' >&2\nexit 1\n", 0755);
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("vhB")}, {"nft", fake}, {"state_dir", tmp / "state"}});
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, hub());
  CHECK(s.code == Code::io);
  CHECK_THAT(s.message, Catch::Contains("exited with status 1") && Catch::Contains("Error: Could not process rule"));
  CHECK(ip_forward() == "0");
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(tmp.empty_dir("state"));
}

TEST_CASE("masquerade out of an interface that does not exist is refused") {
  ENTER_NETNS();
  TempDir tmp;
  write_file("/proc/sys/net/ipv4/ip_forward", "0\n");
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("nosuch0")}, {"state_dir", tmp / "state"}});
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, hub());
  CHECK(s.code == Code::config);
  CHECK_THAT(s.message, Catch::Contains("'nosuch0'"));
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(ip_forward() == "0");
}

TEST_CASE("gateway and client options are checked at construction") {
  TempDir tmp;
  write_file(tmp / "plain", "#!/bin/sh\n", 0644);
  auto error = [](Opts opts) {
    vpnsdk::testkit::Harness h(kTun, std::move(opts));
    CHECK(h.status().code == Code::config);
    return h.status().message;
  };
  using List = std::vector<std::string>;
  CHECK_THAT(error({{"routes", List{"192.0.2.0/33"}}}), Catch::Contains("'routes'") && Catch::Contains("192.0.2.0/33"));
  CHECK_THAT(error({{"routes", List{"192.0.2.1/24"}}}), Catch::Contains("host bits zero"));
  CHECK_THAT(error({{"routes", List{"0.0.0.0/0"}}}), Catch::Contains("route_all"));
  CHECK_THAT(error({{"keep_route_to", List{"vpn.example.net"}}}), Catch::Contains("'keep_route_to'"));
  CHECK_THAT(error({{"on_tunnel_down", std::string("leak")}}), Catch::Contains("'on_tunnel_down'") && Catch::Contains("block"));
  CHECK_THAT(error({{"up", tmp / "missing"}}), Catch::Contains("'up'") && Catch::Contains("no such file"));
  CHECK_THAT(error({{"down", tmp / "plain"}}), Catch::Contains("'down'") && Catch::Contains("not executable"));
  CHECK_THAT(error({{"script_timeout", std::int64_t{0}}}), Catch::Contains("'script_timeout'"));
  CHECK_THAT(error({{"masquerade", std::string("eth%d")}}), Catch::Contains("'masquerade'"));
  CHECK_THAT(error({{"masquerade", std::string("eth0\"; flush ruleset")}}), Catch::Contains("'masquerade'"));
  CHECK_THAT(error({{"state_dir", std::string("")}}), Catch::Contains("'state_dir'"));
  CHECK_THAT(error({{"nft", std::string("")}}), Catch::Contains("'nft'"));
  for (std::int64_t table : {0LL, 253LL, 254LL, 255LL, -1LL, 4294967296LL})
    CHECK_THAT(error({{"route_table", table}}), Catch::Contains("'route_table'") && Catch::Contains("main"));
  for (std::int64_t priority : {0LL, 32764LL, 32766LL, -1LL})
    CHECK_THAT(error({{"route_rule_priority", priority}}), Catch::Contains("'route_rule_priority'"));
  for (const Opts& fine : {Opts{{"route_table", std::int64_t{4294967295}}}, Opts{{"route_table", std::int64_t{252}}},
                           Opts{{"route_rule_priority", std::int64_t{32763}}},
                           Opts{{"route_rule_priority", std::int64_t{1}}}}) {
    vpnsdk::testkit::Harness h(kTun, fine);
    CHECK(h.status().ok());
  }
}

TEST_CASE("a relative hook path is taken from the manifest's directory, and the error says so") {
  // The stock route-all manifest says up = "../scripts/vpnhost-resolv": a
  // copy of it in /etc/vpnhost points at /etc/scripts/, which does not exist.
  TempDir tmp;
  const std::string dir = tmp / "etc-vpnhost";
  std::filesystem::create_directories(dir);
  vpnsdk::testkit::Harness h(kTun, Opts{{"up", std::string("../scripts/vpnhost-resolv")}}, {}, dir);
  REQUIRE(h.status().code == Code::config);
  CHECK_THAT(h.status().message, Catch::Contains(dir + "/../scripts/vpnhost-resolv") &&
                                     Catch::Contains("manifest's directory") &&
                                     Catch::Contains("/usr/share/vpnhost/scripts/vpnhost-resolv"));
}
