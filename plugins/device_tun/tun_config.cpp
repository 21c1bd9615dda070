#include "tun_config.hpp"

#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "vpnsdk/status.hpp"

namespace device_tun {
namespace {

[[noreturn]] void fail(const vpnsdk::Options& opts, const std::string& name, const std::string& shown,
                       const std::string& why) {
  std::string where = opts.where(name);
  if (where == "default") where = "default value";
  throw vpnsdk::ConfigError("option '" + name + "' = \"" + shown + "\" (" + where + "): " + why);
}

// The kernel's dev_valid_name() rules, plus its "%d" template rule.
const char* name_problem(const std::string& n, bool template_allowed) {
  if (n.empty()) return "an interface name cannot be empty";
  if (n.size() >= IFNAMSIZ) return "too long: an interface name has at most 15 characters (IFNAMSIZ 16)";
  if (n == "." || n == "..") return "not a valid interface name";
  for (char c : n)
    if (c == '/' || c == ':' || c == '"' || c == '\\' || std::isspace(static_cast<unsigned char>(c)))
      return "an interface name may not contain '/', ':', quotes, backslashes or white space";
  auto pct = n.find('%');
  if (pct != std::string::npos && !template_allowed) return "must be a real interface name (no \"%d\")";
  if (pct != std::string::npos && (n.compare(pct, 2, "%d") != 0 || n.find('%', pct + 1) != std::string::npos))
    return "the only template allowed is one \"%d\" (the kernel picks the number)";
  return nullptr;
}

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir.back() == '/' ? base_dir + path : base_dir + "/" + path;
}

std::string script_option(const vpnsdk::Options& opts, const std::string& name, const std::string& base_dir) {
  const std::string& text = opts.str(name);
  if (text.empty()) return {};
  std::string path = resolve(text, base_dir);
  if (::access(path.c_str(), F_OK) != 0)
    fail(opts, name, text,
         "no such file: " + path +
             (path == text ? std::string()
                           : " (a relative path is taken from the manifest's directory, " + base_dir +
                                 "; a manifest copied elsewhere needs the absolute path, e.g. "
                                 "/usr/share/vpnhost/scripts/vpnhost-resolv, or /usr/local/share/... after "
                                 "cmake --install)"));
  if (::access(path.c_str(), X_OK) != 0) fail(opts, name, text, path + " is not executable (chmod +x)");
  return path;
}

}  // namespace

std::string prefix_text(const vpnsdk::ipv4::Prefix& p) {
  return vpnsdk::ipv4::to_string(p.network) + "/" + std::to_string(p.length);
}

TunConfig parse_tun_config(const vpnsdk::Options& opts, const std::string& base_dir) {
  TunConfig c;
  c.name = opts.str("name");
  if (const char* why = name_problem(c.name, true)) fail(opts, "name", c.name, why);

  const std::int64_t mtu = opts.integer("mtu");
  if (mtu != 0 && (mtu < 576 || mtu > 65535))
    fail(opts, "mtu", std::to_string(mtu), "must be 0 (use the assigned MTU) or between 576 and 65535");
  c.mtu = static_cast<std::uint16_t>(mtu);

  const std::int64_t qlen = opts.integer("txqueuelen");
  if (qlen < 1 || qlen > 1000000) fail(opts, "txqueuelen", std::to_string(qlen), "must be between 1 and 1000000");
  c.txqueuelen = static_cast<int>(qlen);

  c.masquerade = opts.str("masquerade");
  if (!c.masquerade.empty())
    if (const char* why = name_problem(c.masquerade, false)) fail(opts, "masquerade", c.masquerade, why);
  c.nft = opts.str("nft");
  if (c.nft.empty()) fail(opts, "nft", c.nft, "the nft command cannot be empty");
  c.state_dir = resolve(opts.str("state_dir"), base_dir);
  if (c.state_dir.empty()) fail(opts, "state_dir", c.state_dir, "cannot be empty");

  c.route_all = opts.boolean("route_all");
  for (const std::string& item : opts.list("routes")) {
    auto p = vpnsdk::ipv4::parse_prefix(item);
    if (!p) fail(opts, "routes", item, "not an IPv4 network such as 192.168.10.0/24 (prefix 1..32, host bits zero)");
    if (p->length == 0) fail(opts, "routes", item, "a default route is what route_all = true does (as two /1 routes)");
    c.routes.push_back(*p);
  }
  for (const std::string& item : opts.list("keep_route_to")) {
    auto a = vpnsdk::ipv4::parse_address(item);
    if (!a) fail(opts, "keep_route_to", item, "not an IPv4 address such as 203.0.113.7 (the server's own address)");
    c.keep_route_to.push_back(*a);
  }
  const std::string& down_mode = opts.str("on_tunnel_down");
  if (down_mode == "block")
    c.on_tunnel_down = OnTunnelDown::block;
  else if (down_mode == "fallback")
    c.on_tunnel_down = OnTunnelDown::fallback;
  else
    fail(opts, "on_tunnel_down", down_mode,
         "must be \"block\" (the default: while the client reconnects, nothing leaves around the tunnel) or "
         "\"fallback\"");

  c.block_ipv6 = opts.boolean("block_ipv6");
  c.kill_switch = opts.boolean("kill_switch");

  const std::int64_t table = opts.integer("route_table");
  if (table < 1 || table > 0xffffffffLL || (table >= 253 && table <= 255))
    fail(opts, "route_table", std::to_string(table),
         "must be a routing table of route_all's own, 1-4294967295 but 253, 254 and 255 (the kernel's default, "
         "main and local tables)");
  c.policy.table = static_cast<std::uint32_t>(table);
  const std::int64_t priority = opts.integer("route_rule_priority");
  if (priority < 1 || priority > 32763)
    fail(opts, "route_rule_priority", std::to_string(priority),
         "must be between 1 and 32763: route_all's rules take this priority and the next two, after the local "
         "table's rule (0) and before the main table's (32766)");
  c.policy.priority = static_cast<std::uint32_t>(priority);

  c.up = script_option(opts, "up", base_dir);
  c.down = script_option(opts, "down", base_dir);
  const std::int64_t timeout = opts.integer("script_timeout");
  if (timeout < 1 || timeout > 300) fail(opts, "script_timeout", std::to_string(timeout), "must be between 1 and 300 seconds");
  c.script_timeout_s = static_cast<int>(timeout);
  return c;
}

}  // namespace device_tun
