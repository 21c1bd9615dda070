#include "hub_config.hpp"

#include <string>

#include "vpnsdk/status.hpp"

namespace router_hub {
namespace {

using vpnsdk::ipv4::to_string;

[[noreturn]] void fail(const vpnsdk::Options& opts, const std::string& name, const std::string& shown,
                       const std::string& why) {
  std::string where = opts.where(name);
  if (where == "default") where = "default value";
  throw vpnsdk::ConfigError("option '" + name + "' = \"" + shown + "\" (" + where + "): " + why);
}

std::uint32_t address_option(const vpnsdk::Options& opts, const std::string& name) {
  const std::string& text = opts.str(name);
  auto a = vpnsdk::ipv4::parse_address(text);
  if (!a) fail(opts, name, text, "not an IPv4 address such as 10.10.0.1");
  return *a;
}

// A host address of the network: inside it, and neither its network nor broadcast address.
void require_host(const vpnsdk::Options& opts, const std::string& name, std::uint32_t a, const HubConfig& c) {
  const std::string net = to_string(c.network.network) + "/" + std::to_string(c.network.length);
  if (!c.network.contains(a)) fail(opts, name, to_string(a), "outside the network " + net);
  if (a == c.network.network) fail(opts, name, to_string(a), "is the network address of " + net);
  if (a == (c.network.network | ~c.network.mask()))
    fail(opts, name, to_string(a), "is the broadcast address of " + net);
}

}  // namespace

HubConfig parse_hub_config(const vpnsdk::Options& opts) {
  HubConfig c;

  const std::string& net_text = opts.str("network");
  auto net = vpnsdk::ipv4::parse_prefix(net_text);
  if (!net) fail(opts, "network", net_text, "not an IPv4 network such as 10.10.0.0/24 (prefix 0..32, host bits zero)");
  if (net->length < kMinPrefixLen)
    fail(opts, "network", net_text, "too large: at most a /16 (65534 addresses) is supported");
  if (net->length > kMaxPrefixLen)
    fail(opts, "network", net_text, "too small: a /30 at least, to hold the server and one client");
  c.network = *net;

  c.server = address_option(opts, "server_address");
  require_host(opts, "server_address", c.server, c);

  const std::uint32_t first_host = c.network.network + 1;
  const std::uint32_t last_host = (c.network.network | ~c.network.mask()) - 1;
  if (opts.str("pool_start").empty()) {
    c.pool_start = first_host == c.server ? first_host + 1 : first_host;
  } else {
    c.pool_start = address_option(opts, "pool_start");
    require_host(opts, "pool_start", c.pool_start, c);
  }
  if (opts.str("pool_end").empty()) {
    c.pool_end = last_host == c.server ? last_host - 1 : last_host;
  } else {
    c.pool_end = address_option(opts, "pool_end");
    require_host(opts, "pool_end", c.pool_end, c);
  }
  if (c.pool_end < c.pool_start)
    fail(opts, "pool_end", to_string(c.pool_end), "below pool_start " + to_string(c.pool_start));
  if (c.pool_start == c.pool_end && c.pool_start == c.server)
    fail(opts, "pool_start", to_string(c.pool_start), "the pool holds only the server address");

  const std::int64_t mtu = opts.integer("mtu");
  if (mtu != 0 && (mtu < 576 || mtu > 9000))
    fail(opts, "mtu", std::to_string(mtu), "must be 0 (the host derives it) or between 576 and 9000");
  c.mtu = static_cast<std::uint16_t>(mtu);

  for (const std::string& item : opts.list("dns")) {
    auto a = vpnsdk::ipv4::parse_address(item);
    if (!a) fail(opts, "dns", item, "not an IPv4 address such as 10.10.0.1");
    c.dns.push_back(*a);
  }
  return c;
}

}  // namespace router_hub
