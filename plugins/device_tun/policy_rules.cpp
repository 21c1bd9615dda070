#include "policy_rules.hpp"

#include <algorithm>

#include "vpnsdk/ipv4.hpp"

namespace device_tun {

namespace {
constexpr std::uint32_t kMain = 254;
}

Rule server_rule(const PolicyPlace& p, std::uint32_t server) {
  return Rule{false, p.priority, kMain, vpnsdk::ipv4::to_string(server) + "/32"};
}

std::vector<Rule> ipv6_exception_rules(const PolicyPlace& p) {
  return {Rule{true, p.priority, kMain, "fe80::/10"}, Rule{true, p.priority, kMain, "ff00::/8"}};
}

Rule table_rule(const PolicyPlace& p, bool ipv6) { return Rule{ipv6, p.priority + 2, p.table, ""}; }

Unreachable6 ipv6_block(const PolicyPlace& p) { return Unreachable6{"::/0", p.table}; }

bool is_policy_rule(const PolicyPlace& p, const Rule& r) {
  if (r == table_rule(p, false) || r == table_rule(p, true)) return true;
  const std::vector<Rule> exceptions = ipv6_exception_rules(p);
  if (std::find(exceptions.begin(), exceptions.end(), r) != exceptions.end()) return true;
  if (r.ipv6 || r.to.size() < 4 || r.to.compare(r.to.size() - 3, 3, "/32") != 0) return false;
  const auto server = vpnsdk::ipv4::parse_address(r.to.substr(0, r.to.size() - 3));
  return server && r == server_rule(p, *server);
}

}  // namespace device_tun
