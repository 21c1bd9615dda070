// fuzz_manifest: the manifest loader (core/src/manifest.cpp, configure.cpp).
//
// Input: manifest text (TOML). Comment lines "#set TABLE.KEY=VALUE" are
// also passed as --set overrides, so the override parser is fuzzed too.
// Steps: parse_manifest_text -> host_settings -> build_options for every
// stage against a fixed schema (the stock plugins' options; any other
// plugin name gets a schema with one option of every type plus a required
// one) -> the option parsers of transport_tcp and router_hub (compiled in)
// -> configure() with a loader that has no directories (it checks the
// required stages, then fails to load the first plugin).
// Expected: the result, or vpnhost::ManifestError / vpnsdk::ConfigError
// (bad input, reported). Anything else that escapes (std::out_of_range,
// bad_variant_access, ...) is a finding: libFuzzer reports the uncaught
// exception as a crash. So is every broken invariant below.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "router_hub/hub_config.hpp"
#include "transport_tcp/config.hpp"
#include "vpnhost/configure.hpp"
#include "vpnhost/manifest.hpp"
#include "vpnhost/plugin_loader.hpp"
#include "vpnsdk/status.hpp"

namespace {

// FUZZ_VERBOSE=1: print how far an input got (for reading a corpus).
const bool kVerbose = std::getenv("FUZZ_VERBOSE") != nullptr;

using vpnsdk::OptionSpec;
using vpnsdk::OptionType;

// Copies of the stock schemas that are not reachable from outside their
// plugin's .cpp (transport_tcp's is the real one). Drift only changes which
// paths the seeds reach, not what is checked.
constexpr std::array<OptionSpec, 6> kRouterHub{{
    {"network", OptionType::string, "10.10.0.0/24", "the tunnel network"},
    {"server_address", OptionType::string, "10.10.0.1", "the hub's own address"},
    {"pool_start", OptionType::string, "", "first client address"},
    {"pool_end", OptionType::string, "", "last client address"},
    {"mtu", OptionType::integer, "1400", "tunnel MTU"},
    {"dns", OptionType::string_list, "", "resolvers"},
}};
constexpr std::array<OptionSpec, 1> kCipherXor{{{"key_file", OptionType::string, nullptr, "key file", true}}};
constexpr std::array<OptionSpec, 1> kResponderEcho{{{"ttl", OptionType::integer, "64", "reply TTL"}}};
constexpr std::array<OptionSpec, 3> kDeviceTun{{
    {"name", OptionType::string, "vpn%d", "interface name"},
    {"mtu", OptionType::integer, "0", "interface MTU"},
    {"txqueuelen", OptionType::integer, "500", "transmit queue length"},
}};
constexpr std::array<OptionSpec, 6> kGeneric{{
    {"text", OptionType::string, "x", "a string"},
    {"count", OptionType::integer, "1", "an integer"},
    {"flag", OptionType::boolean, "false", "a boolean"},
    {"ratio", OptionType::number, "1.5", "a number"},
    {"items", OptionType::string_list, "a, b", "a list"},
    {"must", OptionType::string, nullptr, "a required string", true},
}};

std::span<const OptionSpec> schema_for(const std::string& plugin) {
  if (plugin == "transport_tcp") return transport_tcp::kOptions;
  if (plugin == "router_hub") return kRouterHub;
  if (plugin == "router_client") return {};
  if (plugin == "cipher_xor") return kCipherXor;
  if (plugin == "responder_icmp_echo") return kResponderEcho;
  if (plugin == "device_tun") return kDeviceTun;
  return kGeneric;
}

// "#set transport.port=5001" lines become --set overrides (at most 8).
std::vector<std::string> overrides_in(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size() && out.size() < 8) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.substr(0, 5) == "#set ") out.emplace_back(line.substr(5));
    start = end + 1;
  }
  return out;
}

void check_host(const vpnhost::HostSettings& h) {
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  FUZZ_CHECK(levels.count(h.log_level) == 1);
  FUZZ_CHECK(h.stats_interval >= 0 && h.stats_interval <= 86400);
  FUZZ_CHECK(h.keepalive >= 0 && h.keepalive <= 65535);
  FUZZ_CHECK(h.session_timeout >= 0 && h.session_timeout <= 65535);
  FUZZ_CHECK(h.handshake_timeout >= 1 && h.handshake_timeout <= 3600);
  FUZZ_CHECK(h.max_sessions >= 0 && h.max_sessions <= (1 << 20));
  FUZZ_CHECK(h.max_handshakes >= 0 && h.max_handshakes <= (1 << 20));
  FUZZ_CHECK(h.packet_buffers >= 64 && h.packet_buffers <= (1 << 22));
  FUZZ_CHECK(h.reconnect_min >= 10 && h.reconnect_min <= h.reconnect_max && h.reconnect_max <= 3600 * 1000);
  for (const auto& p : h.plugin_path) FUZZ_CHECK(p.is_absolute());
}

// Every schema option is present with its declared type, given ones carry
// their position.
void check_options(std::span<const OptionSpec> schema, const vpnsdk::Options& o, const vpnhost::RawTable& raw) {
  FUZZ_CHECK(o.entries().size() == schema.size());
  for (const auto& s : schema) {
    FUZZ_CHECK(o.has(s.name));
    switch (s.type) {
      case OptionType::string: (void)o.str(s.name); break;  // throws (a finding) on the wrong type
      case OptionType::integer: (void)o.integer(s.name); break;
      case OptionType::boolean: (void)o.boolean(s.name); break;
      case OptionType::number: (void)o.number(s.name); break;
      case OptionType::string_list: (void)o.list(s.name); break;
    }
    FUZZ_CHECK(o.given(s.name) == (raw.count(s.name) == 1));
    if (o.given(s.name)) FUZZ_CHECK(o.where(s.name) == raw.at(s.name).where.str());
  }
}

void load(const std::string& text) {
  const vpnhost::Manifest m = vpnhost::parse_manifest_text(text, "fuzz.manifest", overrides_in(text));
  for (const auto& e : m.stages) {
    FUZZ_CHECK(e.options.count("plugin") == 0);
    FUZZ_CHECK(e.where.file == "fuzz.manifest");
  }
  check_host(vpnhost::host_settings(m));

  for (const auto& e : m.stages) {
    const auto schema = schema_for(e.plugin);
    const vpnsdk::Options opts = vpnhost::build_options(schema, e.options, "[" + e.table + "] " + e.plugin, e.where);
    check_options(schema, opts, e.options);
    try {
      if (e.plugin == "transport_tcp") {
        const transport_tcp::Config c = transport_tcp::parse_config(opts);
        FUZZ_CHECK(c.listen.empty() != c.connect.empty() && c.port != 0);
      } else if (e.plugin == "router_hub") {
        const router_hub::HubConfig c = router_hub::parse_hub_config(opts);
        FUZZ_CHECK(c.network.contains(c.server) && c.network.contains(c.pool_start) &&
                   c.network.contains(c.pool_end) && c.pool_start <= c.pool_end);
      }
    } catch (const vpnsdk::ConfigError&) {
      // A plugin would refuse these options at construction: fine.
    }
  }

  // No directories: configure() validates the host table and the required
  // stages, then cannot load the first plugin. It never succeeds here.
  static vpnhost::PluginLoader nowhere({});
  bool threw = false;
  try {
    (void)vpnhost::configure(m, nowhere);
  } catch (const vpnhost::ManifestError& e) {
    threw = true;
    if (kVerbose) std::fprintf(stderr, "options of %zu stage(s) accepted; configure(): %s\n", m.stages.size(), e.what());
  }
  FUZZ_CHECK(threw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    load(text);
  } catch (const vpnhost::ManifestError& e) {
    if (kVerbose) std::fprintf(stderr, "ManifestError: %s\n", e.what());
    FUZZ_CHECK(std::string_view(e.what()).substr(0, 13) == "fuzz.manifest" ||
               std::string_view(e.what()).substr(0, 6) == "--set ");  // messages say where
  } catch (const vpnsdk::ConfigError& e) {
    if (kVerbose) std::fprintf(stderr, "ConfigError: %s\n", e.what());
  }
  return 0;
}
