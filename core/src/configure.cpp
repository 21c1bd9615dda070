#include "vpnhost/configure.hpp"
#include "vpnhost/privileges.hpp"

#include "vpnhost/text.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <set>

namespace vpnhost {
namespace {

using vpnsdk::OptionSpec;

using vpnsdk::OptionType;

constexpr std::array<OptionSpec, 21> kHostOptions{{
    {"plugin_path", OptionType::string_list, "", "directories searched for plugins before $VPNHOST_PLUGIN_PATH and the stock directory; relative to the manifest"},
    {"log_level", OptionType::string, "info", "trace, debug, info, warn, error, critical or off"},
    {"stats_interval", OptionType::integer, "0", "seconds between counter dumps to the log/stats file (0: only on SIGUSR1 and at exit)"},
    {"stats_file", OptionType::string, "", "write counters to this file (atomically) on SIGUSR1, every stats_interval and at exit"},
    {"stdin_eof_exits", OptionType::boolean, "false", "end of file on standard input shuts down cleanly (BYE to every session)"},
    {"keepalive", OptionType::integer, "10", "seconds without sending before a KEEPALIVE is sent (0: never)"},
    {"session_timeout", OptionType::integer, "60", "seconds without receiving before a session is dropped (0: never)"},
    {"handshake_timeout", OptionType::integer, "5", "seconds a new session has to complete its handshake and HELLO/WELCOME"},
    {"max_sessions", OptionType::integer, "1024", "established sessions at once; a HELLO beyond it gets REJECT busy"},
    {"max_handshakes", OptionType::integer, "256", "sessions at once still in handshake; beyond it the oldest one is closed"},
    {"reconnect", OptionType::boolean, "true", "client: reconnect after a lost connection or a transient REJECT (pool full, busy)"},
    {"reconnect_min", OptionType::integer, "1000", "client: first reconnect delay in milliseconds (doubles per attempt, with jitter)"},
    {"reconnect_max", OptionType::integer, "30000", "client: longest reconnect delay in milliseconds"},
    {"on_server_bye", OptionType::string, "exit", "client: when the server shuts down (BYE shutdown): exit (status 0) or reconnect"},
    {"packet_buffers", OptionType::integer, "8192", "packet buffers in the pool (each ~9.4 KiB, allocated on demand)"},
    {"control_socket", OptionType::string, "", "UNIX socket (mode 0600) for `vpnhost status`; not set: /run/vpnhost/<manifest name>.sock; \"\": none"},
    {"metrics", OptionType::string, "", "serve Prometheus metrics on loopback: \"PORT\" is http://127.0.0.1:PORT/metrics; \"HOST:PORT\" binds HOST instead (\"\": off)"},
    {"mtu", OptionType::integer, "0", "tunnel MTU: 0 derives it per session from the underlay (docs/mtu.md); 576..9000 fixes it"},
    {"mss_clamp", OptionType::boolean, "true", "lower the MSS option of TCP SYNs through the tunnel to its MTU - 40"},
    {"user", OptionType::string, "", "after setup run as this user (name or uid), keeping only CAP_NET_ADMIN (\"\": stay who started it)"},
    {"group", OptionType::string, "", "with user: run as this group (name or gid; \"\": the user's primary group)"},
}};

std::string valid_names(std::span<const OptionSpec> schema) {
  if (schema.empty()) return "(this plugin takes no options)";
  std::string out;
  for (const auto& s : schema) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

// Integer given for a number option is fine; nothing else converts.
std::optional<vpnsdk::OptionValue> coerce(OptionType want, const vpnsdk::OptionValue& v) {
  switch (want) {
    case OptionType::string:
      if (std::holds_alternative<std::string>(v)) return v;
      break;
    case OptionType::integer:
      if (std::holds_alternative<std::int64_t>(v)) return v;
      break;
    case OptionType::boolean:
      if (std::holds_alternative<bool>(v)) return v;
      break;
    case OptionType::number:
      if (std::holds_alternative<double>(v)) return v;
      if (auto i = std::get_if<std::int64_t>(&v)) return vpnsdk::OptionValue{static_cast<double>(*i)};
      break;
    case OptionType::string_list:
      if (std::holds_alternative<std::vector<std::string>>(v)) return v;
      break;
  }
  return std::nullopt;
}

std::string describe(const RawValue& raw) {
  if (raw.value) {
    if (auto s = std::get_if<std::string>(&*raw.value)) return "the string \"" + *s + "\"";
  }
  return with_article(raw.type_name);
}

vpnsdk::Stage stage_from_capability(const std::string& cap, bool& is_stage) {
  static const std::array<std::pair<const char*, vpnsdk::Stage>, 5> stages{{{"transport", vpnsdk::Stage::transport},
                                                                             {"cipher", vpnsdk::Stage::cipher},
                                                                             {"device", vpnsdk::Stage::device},
                                                                             {"router", vpnsdk::Stage::router},
                                                                             {"responder", vpnsdk::Stage::responder}}};
  for (const auto& [name, s] : stages)
    if (cap == name) {
      is_stage = true;
      return s;
    }
  is_stage = false;
  return vpnsdk::Stage::transport;
}

}  // namespace

std::span<const OptionSpec> host_option_specs() { return kHostOptions; }

vpnsdk::Options build_options(std::span<const OptionSpec> schema, const RawTable& raw, const std::string& owner,
                              const Position& table_where, Diagnostics& diag) {
  vpnsdk::Options out;
  std::set<std::string> given;  // also the ones in error: no "needs option" for them
  for (const auto& entry : raw) {
    const std::string& name = entry.first;  // (not a structured binding: clang < 16 cannot capture those)
    const RawValue& value = entry.second;
    auto spec = std::find_if(schema.begin(), schema.end(), [&](const OptionSpec& s) { return name == s.name; });
    if (spec == schema.end()) {
      diag.add(ManifestError(value.where,
                             "unknown option '" + name + "' for " + owner + "; valid options: " + valid_names(schema)));
      continue;
    }
    given.insert(name);
    std::optional<vpnsdk::OptionValue> v;
    if (value.value) v = coerce(spec->type, *value.value);
    // --set key_file=1234: the option wants a string, the text is one.
    if (!v && value.text && spec->type == OptionType::string) v = vpnsdk::OptionValue{*value.text};
    if (!v) {
      diag.add(ManifestError(value.where, "option '" + name + "' of " + owner + " expects " +
                                              with_article(vpnsdk::option_type_name(spec->type)) + ", got " +
                                              describe(value)));
      continue;
    }
    out.set(name, {*v, true, value.where.str()});
  }
  for (const auto& spec : schema) {
    if (out.has(spec.name)) continue;
    if (spec.required || spec.default_value == nullptr) {
      if (!given.count(spec.name))
        diag.add(ManifestError(table_where, owner + " needs option '" + std::string(spec.name) + "' (" +
                                                vpnsdk::option_type_name(spec.type) + "): " + spec.help));
      continue;
    }
    out.set(spec.name, {*vpnsdk::parse_option_text(spec.type, spec.default_value), false, ""});
  }
  return out;
}

vpnsdk::Options build_options(std::span<const OptionSpec> schema, const RawTable& raw, const std::string& owner,
                              const Position& table_where) {
  Diagnostics diag;
  vpnsdk::Options out = build_options(schema, raw, owner, table_where, diag);
  diag.throw_first();
  return out;
}

std::string parse_listen_address(const std::string& text, std::string& host, std::uint16_t& port) {
  const std::string want = "expected HOST:PORT with a numeric address, e.g. \"127.0.0.1:9586\" or \"[::1]:9586\"";
  std::size_t colon;
  unsigned char buf[sizeof(in6_addr)];
  if (!text.empty() && text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return want;
    host = text.substr(1, close - 1);
    colon = close + 1;
    if (::inet_pton(AF_INET6, host.c_str(), buf) != 1) return want + " ('" + host + "' is not an IPv6 address)";
  } else {
    colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return want;
    host = text.substr(0, colon);
    if (host.find(':') != std::string::npos) return want + " (put an IPv6 address in brackets)";
    if (::inet_pton(AF_INET, host.c_str(), buf) != 1) return want + " ('" + host + "' is not a numeric IPv4 address)";
  }
  const std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return want;
  const int n = std::stoi(p);
  if (n < 1 || n > 65535) return "port " + p + " is outside 1..65535";
  port = static_cast<std::uint16_t>(n);
  return "";
}

std::string default_control_socket(const std::filesystem::path& manifest_file) {
  return "/run/vpnhost/" + manifest_file.stem().string() + ".sock";
}

HostSettings host_settings(const Manifest& m, Diagnostics& diag) {
  vpnsdk::Options o = build_options(kHostOptions, m.host, "[host]", m.host_where, diag);
  HostSettings h;
  for (const auto& dir : o.list("plugin_path")) {
    std::filesystem::path p(dir);
    h.plugin_path.push_back(p.is_absolute() ? p : (m.base_dir / p).lexically_normal());
  }
  h.log_level = o.str("log_level");
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.count(h.log_level))
    diag.add(ManifestError(m.host.at("log_level").where,
                        "log_level '" + h.log_level + "' is not one of trace, debug, info, warn, error, critical, off"));
  auto non_negative = [&](const char* name, std::int64_t max) {
    std::int64_t v = o.integer(name);
    if (v < 0 || v > max)
      diag.add(ManifestError(m.host.at(name).where, std::string(name) + " must be between 0 and " + std::to_string(max)));
    return std::clamp<std::int64_t>(v, 0, max);
  };
  h.stats_interval = non_negative("stats_interval", 86400);
  h.stats_file = o.str("stats_file");
  if (!h.stats_file.empty() && std::filesystem::path(h.stats_file).is_relative())
    h.stats_file = (m.base_dir / h.stats_file).string();
  h.stdin_eof_exits = o.boolean("stdin_eof_exits");
  h.keepalive = non_negative("keepalive", 65535);
  h.session_timeout = non_negative("session_timeout", 65535);
  h.handshake_timeout = non_negative("handshake_timeout", 3600);
  h.max_sessions = non_negative("max_sessions", 1 << 20);
  h.max_handshakes = non_negative("max_handshakes", 1 << 20);
  h.packet_buffers = non_negative("packet_buffers", 1 << 22);
  h.reconnect = o.boolean("reconnect");
  h.reconnect_min = non_negative("reconnect_min", 3600 * 1000);
  h.reconnect_max = non_negative("reconnect_max", 3600 * 1000);
  if (o.integer("reconnect_min") >= 0 && h.reconnect_min < 10)
    diag.add(ManifestError(m.host.at("reconnect_min").where, "reconnect_min must be at least 10 (milliseconds)"));
  if (h.reconnect_max < h.reconnect_min)
    diag.add(ManifestError(m.host.count("reconnect_max") ? m.host.at("reconnect_max").where : m.host.at("reconnect_min").where,
                        "reconnect_max must not be below reconnect_min"));
  const std::string bye = o.str("on_server_bye");
  if (bye != "exit" && bye != "reconnect")
    diag.add(ManifestError(m.host.at("on_server_bye").where, "on_server_bye must be \"exit\" or \"reconnect\""));
  h.exit_on_server_bye = bye == "exit";
  if (o.integer("handshake_timeout") == 0) diag.add(ManifestError(m.host.at("handshake_timeout").where, "handshake_timeout must be at least 1"));
  if (o.integer("packet_buffers") >= 0 && h.packet_buffers < 64) diag.add(ManifestError(m.host.at("packet_buffers").where, "packet_buffers must be at least 64"));
  if (m.host.count("control_socket")) {
    h.control_socket_explicit = true;
    h.control_socket = o.str("control_socket");
    if (!h.control_socket.empty() && std::filesystem::path(h.control_socket).is_relative())
      h.control_socket = (m.base_dir / h.control_socket).string();
    if (h.control_socket.size() > 107)
      diag.add(ManifestError(m.host.at("control_socket").where, "control_socket path is longer than 107 bytes (a UNIX socket limit)"));
  } else {
    h.control_socket = default_control_socket(m.file);
  }
  h.mtu = o.integer("mtu");
  if (h.mtu != 0 && (h.mtu < 576 || h.mtu > 9000))
    diag.add(ManifestError(m.host.at("mtu").where, "mtu must be 0 (derive it from the underlay) or between 576 and 9000"));
  h.mss_clamp = o.boolean("mss_clamp");
  h.metrics = o.str("metrics");
  if (!h.metrics.empty()) {
    // A bare port binds loopback: the endpoint names clients (docs/operations.md).
    if (h.metrics.find_first_not_of("0123456789") == std::string::npos) h.metrics = "127.0.0.1:" + h.metrics;
    if (std::string err = parse_listen_address(h.metrics, h.metrics_host, h.metrics_port); !err.empty())
      diag.add(ManifestError(m.host.at("metrics").where, "metrics: " + err));
  }
  h.user = o.str("user");
  h.group = o.str("group");
  if (!h.user.empty()) {
    RunAs r;
    if (std::string err = resolve_run_as(h.user, h.group, r); !err.empty())
      diag.add(ManifestError(m.host.at("user").where, "user: " + err));
    else
      h.run_as = r;
  } else if (!h.group.empty()) {
    diag.add(ManifestError(m.host.at("group").where, "group needs user: set [host] user as well"));
  }
  return h;
}

HostSettings host_settings(const Manifest& m) {
  Diagnostics diag;
  HostSettings h = host_settings(m, diag);
  diag.throw_first();
  return h;
}

const ResolvedStage* Configuration::find(vpnsdk::Stage s) const {
  for (const auto& r : stages)
    if (r.entry->stage == s) return &r;
  return nullptr;
}

Configuration configure(Manifest m, PluginLoader& loader, Diagnostics& diag) {
  Configuration c;
  c.manifest = std::move(m);
  const Manifest& man = c.manifest;
  c.host = host_settings(man, diag);

  for (auto required : {vpnsdk::Stage::transport, vpnsdk::Stage::cipher, vpnsdk::Stage::router})
    if (man.find(required) == nullptr && !man.tables_in_error.count(vpnsdk::stage_name(required)))
      diag.add(ManifestError(Position{man.file.string(), 1, 1},
                             std::string("missing stage: every manifest needs a [") + vpnsdk::stage_name(required) +
                                 "] table (`vpnhost plugins` lists the " + vpnsdk::stage_name(required) + " plugins)"));

  // Every stage whose plugin loads takes part in the needs check below;
  // only those whose options are valid too go into c.stages.
  std::vector<std::pair<const StageEntry*, const LoadedPlugin*>> loaded;
  for (const auto& entry : man.stages) {
    const LoadedPlugin* p = nullptr;
    try {
      p = &loader.load(entry.plugin);
    } catch (const LoadError& e) {
      diag.add(ManifestError(entry.where, "[" + entry.table + "]: " + e.what()));
      continue;
    }
    const auto* d = p->descriptor;
    if (d->stage != entry.stage) {
      diag.add(ManifestError(entry.where, "plugin '" + entry.plugin + "' is a " + vpnsdk::stage_name(d->stage) +
                                              " plugin, but [" + entry.table + "] needs a " +
                                              vpnsdk::stage_name(entry.stage) + " plugin"));
      continue;
    }
    loaded.emplace_back(&entry, p);
    std::span<const OptionSpec> schema(d->options, d->option_count);
    const std::size_t before = diag.size();
    vpnsdk::Options options = build_options(schema, entry.options, "[" + entry.table + "] " + entry.plugin, entry.where, diag);
    if (diag.size() == before) c.stages.push_back(ResolvedStage{&entry, p, std::move(options)});
  }

  // Every capability some stage needs must be provided by another (a stage
  // in error counts as there: its own error is reported).
  std::set<std::string> provided(man.tables_in_error.begin(), man.tables_in_error.end());
  for (const auto& [entry, plugin] : loaded) {
    provided.insert(vpnsdk::stage_name(plugin->descriptor->stage));
    for (auto p = plugin->descriptor->provides; p && *p; ++p) provided.insert(*p);
  }
  for (const auto& [entry, plugin] : loaded) {
    for (auto n = plugin->descriptor->needs; n && *n; ++n) {
      if (provided.count(*n)) continue;
      bool is_stage = false;
      vpnsdk::Stage s = stage_from_capability(*n, is_stage);
      std::string hint = is_stage ? "; add a [" + std::string(vpnsdk::stage_name(s)) + "] table" : "";
      diag.add(ManifestError(entry->where, "missing stage: [" + entry->table + "] " + entry->plugin + " needs '" + *n +
                                               "', which no stage in this manifest provides" + hint));
    }
  }
  return c;
}

Configuration configure(Manifest m, PluginLoader& loader) {
  Diagnostics diag;
  Configuration c = configure(std::move(m), loader, diag);
  diag.throw_first();
  return c;
}

}  // namespace vpnhost
