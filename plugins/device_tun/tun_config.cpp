#include "tun_config.hpp"

#include <net/if.h>

#include <algorithm>
#include <cctype>

#include "vpnsdk/status.hpp"

namespace device_tun {
namespace {

[[noreturn]] void fail(const vpnsdk::Options& opts, const std::string& name, const std::string& shown,
                       const std::string& why) {
  std::string where = opts.where(name);
  if (where == "default") where = "default value";
  throw vpnsdk::ConfigError("device_tun: option '" + name + "' = \"" + shown + "\" (" + where + "): " + why);
}

// The kernel's dev_valid_name() rules, plus its "%d" template rule.
const char* name_problem(const std::string& n) {
  if (n.empty()) return "an interface name cannot be empty";
  if (n.size() >= IFNAMSIZ) return "too long: an interface name has at most 15 characters (IFNAMSIZ 16)";
  if (n == "." || n == "..") return "not a valid interface name";
  for (char c : n)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)))
      return "an interface name may not contain '/', ':' or white space";
  auto pct = n.find('%');
  if (pct != std::string::npos && (n.compare(pct, 2, "%d") != 0 || n.find('%', pct + 1) != std::string::npos))
    return "the only template allowed is one \"%d\" (the kernel picks the number)";
  return nullptr;
}

}  // namespace

TunConfig parse_tun_config(const vpnsdk::Options& opts) {
  TunConfig c;
  c.name = opts.str("name");
  if (const char* why = name_problem(c.name)) fail(opts, "name", c.name, why);

  const std::int64_t mtu = opts.integer("mtu");
  if (mtu != 0 && (mtu < 576 || mtu > 65535))
    fail(opts, "mtu", std::to_string(mtu), "must be 0 (use the assigned MTU) or between 576 and 65535");
  c.mtu = static_cast<std::uint16_t>(mtu);

  const std::int64_t qlen = opts.integer("txqueuelen");
  if (qlen < 1 || qlen > 1000000) fail(opts, "txqueuelen", std::to_string(qlen), "must be between 1 and 1000000");
  c.txqueuelen = static_cast<int>(qlen);
  return c;
}

}  // namespace device_tun
