// route_all's policy rules as data (plugins/device_tun/policy_rules.hpp) and
// the state file that lists them: what the rules are, how they read, which
// ones a state file may name, and that what is saved is read back as it was.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "../../../plugins/device_tun/policy_rules.hpp"
#include "../../../plugins/device_tun/state_file.hpp"
#include "host_tools.hpp"
#include "vpnsdk/ipv4.hpp"

using namespace device_tun;

namespace {
std::uint32_t a4(const char* text) { return *vpnsdk::ipv4::parse_address(text); }
}  // namespace

TEST_CASE("policy rules: the rules and their text, at the default and at another place") {
  const PolicyPlace defaults;
  CHECK(defaults.table == 10010);
  CHECK(defaults.priority == 10000);
  CHECK(server_rule(defaults, a4("203.0.113.7")).text() == "priority 10000 to 203.0.113.7/32 lookup main");
  CHECK(table_rule(defaults, false).text() == "priority 10002 lookup 10010");
  CHECK(table_rule(defaults, true).text() == "priority 10002 lookup 10010 (IPv6)");
  const std::vector<Rule> exceptions = ipv6_exception_rules(defaults);
  REQUIRE(exceptions.size() == 2);
  CHECK(exceptions[0].text() == "priority 10000 to fe80::/10 lookup main (IPv6)");
  CHECK(exceptions[1].text() == "priority 10000 to ff00::/8 lookup main (IPv6)");
  CHECK(ipv6_block(defaults).text() == "unreachable ::/0 table 10010");
  CHECK(Unreachable6{"::/1", 254}.text() == "unreachable ::/1");

  const PolicyPlace other{77, 500};
  CHECK(server_rule(other, a4("10.1.2.3")).text() == "priority 500 to 10.1.2.3/32 lookup main");
  CHECK(table_rule(other, false).text() == "priority 502 lookup 77");
  CHECK(ipv6_block(other).text() == "unreachable ::/0 table 77");
}

TEST_CASE("policy rules: only device_tun's own, at its own place, are recognised") {
  const PolicyPlace p;
  CHECK(is_policy_rule(p, server_rule(p, a4("203.0.113.7"))));
  CHECK(is_policy_rule(p, server_rule(p, a4("0.0.0.1"))));
  CHECK(is_policy_rule(p, table_rule(p, false)));
  CHECK(is_policy_rule(p, table_rule(p, true)));
  for (const Rule& r : ipv6_exception_rules(p)) CHECK(is_policy_rule(p, r));

  const std::vector<Rule> foreign = {
      {false, 10002, 254, ""},                  // everything to main, ahead of other rules
      {false, 10001, 10010, ""},                // P+1 is never used
      {false, 10002, 10011, ""},                // another table
      {false, 10000, 254, "0.0.0.0/0"},         // "the server" as every address
      {false, 10000, 254, "203.0.113.0/24"},
      {false, 10000, 254, "203.0.113.07/32"},   // not as device_tun writes it
      {false, 10000, 254, "203.0.113.7"},
      {false, 10000, 10010, "203.0.113.7/32"},  // a server to the tunnel's table
      {false, 10002, 254, "203.0.113.7/32"},
      {true, 10000, 254, "203.0.113.7/32"},
      {true, 10000, 254, "2001:db8::1/128"},    // no IPv6 server rules: IPv6 servers are not policy routed
      {true, 10000, 254, "fe80::/64"},
      {false, 10000, 254, "fe80::/10"},
      {true, 10002, 254, ""},
  };
  for (const Rule& r : foreign) {
    INFO((r.ipv6 ? "IPv6 " : "IPv4 ") << r.text());
    CHECK_FALSE(is_policy_rule(p, r));
  }
  CHECK_FALSE(is_policy_rule(PolicyPlace{77, 500}, table_rule(p, false)));
}

TEST_CASE("state file: rules, the IPv6 block and the rest are read back as they were saved") {
  tun_test::TempDir tmp;
  const PolicyPlace place{77, 500};
  StateFile file(tmp / "state", "vpn0", ::getuid(), place);
  State s;
  s.pid = 4242;
  s.ip_forward = "0";
  s.nft_table = "vpnhost_vpn0";
  Route host;
  host.dst = a4("203.0.113.7");
  host.gateway = a4("172.31.9.1");
  host.oif = 3;
  s.routes.push_back(host);
  s.rules = {server_rule(place, a4("203.0.113.7")), ipv6_exception_rules(place)[0], ipv6_exception_rules(place)[1],
             table_rule(place, false), table_rule(place, true)};
  s.unreachable6 = {ipv6_block(place), Unreachable6{"::/1", 254}};
  REQUIRE(file.save(s).empty());
  const std::string text = tun_test::read_file(file.path());
  INFO(text);
  CHECK_THAT(text, Catch::Contains("rule 4 500 254 203.0.113.7/32\nrule 6 500 254 fe80::/10\n"
                                   "rule 6 500 254 ff00::/8\nrule 4 502 77 all\nrule 6 502 77 all\n"
                                   "unreachable6 ::/0 77\nunreachable6 ::/1\n"));

  std::string error;
  const std::optional<State> back = file.load(error);
  INFO(error);
  REQUIRE(back);
  CHECK(error.empty());
  CHECK(back->pid == s.pid);
  CHECK(back->ip_forward == s.ip_forward);
  CHECK(back->nft_table == s.nft_table);
  CHECK(back->routes == s.routes);
  CHECK(back->rules == s.rules);
  CHECK(back->unreachable6 == s.unreachable6);

  // The same file with other route_table/route_rule_priority values is refused.
  StateFile elsewhere(tmp / "state", "vpn0", ::getuid(), PolicyPlace{});
  const std::optional<State> refused = elsewhere.load(error);
  REQUIRE(refused);
  CHECK(refused->empty());
  CHECK_THAT(error, Catch::Contains("'rule' must be one of route_all's policy rules with route_table 10010"));
}
