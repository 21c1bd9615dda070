// Renderings of a StatusSnapshot: JSON, the readable table, Prometheus text.
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "vpnhost/ops.hpp"

namespace vpnhost {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  // No overlong forms, no surrogates, nothing beyond U+10FFFF.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return n;
}

std::string fixed3(double v) { return fmt::format("{:.3f}", v < 0 ? 0.0 : v); }

// Counters split by owner: host.*, drop.*, one group per stage plugin, the rest.
struct Grouped {
  std::vector<std::pair<std::string, std::uint64_t>> host, drops, other;
  // per stage, in the snapshot's stage order
  std::vector<std::vector<std::pair<std::string, std::uint64_t>>> stages;
};

Grouped group_counters(const StatusSnapshot& s) {
  Grouped g;
  g.stages.resize(s.stages.size());
  for (const auto& [name, value] : s.counters) {
    std::uint64_t v = value;
    if (name == "host.sessions_active") v = s.sessions.size();  // a gauge: always current here
    if (name.starts_with("host.")) {
      g.host.emplace_back(name.substr(5), v);
      continue;
    }
    if (name.starts_with("drop.")) {
      g.drops.emplace_back(name.substr(5), v);
      continue;
    }
    bool placed = false;
    for (std::size_t i = 0; i < s.stages.size(); ++i) {
      const std::string prefix = s.stages[i].plugin + ".";
      if (name.starts_with(prefix)) {
        g.stages[i].emplace_back(name.substr(prefix.size()), v);
        placed = true;  // (two responders of one plugin share its counters: listed under both)
      }
    }
    if (!placed) g.other.emplace_back(name, v);
  }
  return g;
}

void json_object(std::string& out, const std::vector<std::pair<std::string, std::uint64_t>>& kv) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : kv) {
    if (!first) out += ',';
    first = false;
    out += json_string(k) + ':' + std::to_string(v);
  }
  out += '}';
}

std::string utc_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return "?";
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) return "?";
  return buf;
}

// Prometheus: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, anything else becomes '_'.
std::string metric_part(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

std::string label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

struct Family {
  std::string type, help;
  std::vector<std::pair<std::string, std::string>> series;  // labels ("" or {…}), value
};

class Families {
 public:
  void add(const std::string& name, const std::string& type, const std::string& help, std::string labels,
           std::string value) {
    auto [it, fresh] = map_.try_emplace(name);
    if (fresh) {
      order_.push_back(name);
      it->second.type = type;
      it->second.help = help;
    }
    for (const auto& s : it->second.series)
      if (s.first == labels) return;  // the same series twice (a plugin in two [[responder]]s)
    it->second.series.emplace_back(std::move(labels), std::move(value));
  }
  std::string render() const {
    std::string out;
    for (const auto& name : order_) {
      const Family& f = map_.at(name);
      out += "# HELP " + name + " " + f.help + "\n";
      out += "# TYPE " + name + " " + f.type + "\n";
      for (const auto& [labels, value] : f.series) out += name + labels + " " + value + "\n";
    }
    return out;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, Family> map_;
};

std::string counter_metric(std::string base) {
  if (!base.ends_with("_total")) base += "_total";
  return base;
}

// HELP text: backslash and newline escaped.
std::string help_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

std::string json_string(std::string_view s) {
  std::string out = "\"";
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\u{:04x}", c);
    else if (c < 0x80) out += static_cast<char>(c);
    else {
      const std::size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
        continue;
      }
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  return out + "\"";
}

std::string render_status_json(const StatusSnapshot& s) {
  const Grouped g = group_counters(s);
  std::string out = "{";
  out += "\"version\":" + json_string(s.version);
  out += ",\"manifest\":" + json_string(s.manifest);
  out += ",\"pid\":" + std::to_string(s.pid);
  out += ",\"now\":" + std::to_string(s.now);
  out += ",\"uptime_seconds\":" + fixed3(s.uptime_seconds);
  out += ",\"sessions\":[";
  for (std::size_t i = 0; i < s.sessions.size(); ++i) {
    const SessionSnapshot& x = s.sessions[i];
    if (i) out += ',';
    out += "{\"id\":" + std::to_string(x.id);
    out += ",\"address\":" + (x.address.empty() ? std::string("null") : json_string(x.address));
    out += ",\"prefix_len\":" + (x.address.empty() ? std::string("null") : std::to_string(x.prefix_len));
    out += ",\"peer\":" + json_string(x.peer);
    out += ",\"role\":" + json_string(x.role);
    out += ",\"state\":" + json_string(x.state);
    out += ",\"name\":" + (x.name ? json_string(*x.name) : std::string("null"));
    out += ",\"connected_seconds\":" + fixed3(x.connected_seconds);
    out += ",\"connected_since\":" + std::to_string(x.connected_since);
    out += ",\"last_rx_seconds\":" + fixed3(x.last_rx_seconds);
    out += ",\"last_tx_seconds\":" + fixed3(x.last_tx_seconds);
    out += ",\"rx_packets\":" + std::to_string(x.rx_packets);
    out += ",\"rx_bytes\":" + std::to_string(x.rx_bytes);
    out += ",\"tx_packets\":" + std::to_string(x.tx_packets);
    out += ",\"tx_bytes\":" + std::to_string(x.tx_bytes);
    out += ",\"drops\":" + std::to_string(x.drops);
    out += '}';
  }
  out += "],\"host\":";
  json_object(out, g.host);
  out += ",\"drops\":";
  json_object(out, g.drops);
  out += ",\"stages\":[";
  for (std::size_t i = 0; i < s.stages.size(); ++i) {
    if (i) out += ',';
    out += "{\"stage\":" + json_string(s.stages[i].stage) + ",\"table\":" + json_string(s.stages[i].table) +
           ",\"plugin\":" + json_string(s.stages[i].plugin) + ",\"counters\":";
    json_object(out, g.stages[i]);
    out += '}';
  }
  out += "],\"other\":";
  json_object(out, g.other);
  out += "}\n";
  return out;
}

std::string human_bytes(std::uint64_t n) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n);
  int u = -1;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  return fmt::format("{:.2f} {}", v, units[u]);
}

std::string human_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  auto t = static_cast<std::uint64_t>(seconds);
  const std::uint64_t d = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, sec = t % 60;
  if (d > 0) return fmt::format("{}d {}h", d, h);
  if (h > 0) return fmt::format("{}h {}m", h, m);
  if (m > 0) return fmt::format("{}m {}s", m, sec);
  return fmt::format("{}s", sec);
}

std::string render_status_table(const StatusSnapshot& s) {
  const Grouped g = group_counters(s);
  std::size_t established = 0;
  for (const auto& x : s.sessions)
    if (x.state == "established") ++established;
  std::string out;
  out += fmt::format("vpnhost {} (pid {}), up {}\n", s.version, s.pid, human_duration(s.uptime_seconds));
  out += fmt::format("  manifest: {}\n", s.manifest);
  std::string stages;
  for (const auto& st : s.stages) stages += (stages.empty() ? "" : ", ") + st.table + "=" + st.plugin;
  out += fmt::format("  stages: {}\n", stages);
  out += fmt::format("  sessions: {} ({} established)\n", s.sessions.size(), established);
  for (const auto& x : s.sessions) {
    out += fmt::format("\nsession {}: {}\n", x.id,
                       x.address.empty() ? std::string("(no address yet)") : x.address + "/" + std::to_string(x.prefix_len));
    if (x.name) out += fmt::format("  identity: {}\n", *x.name);
    out += fmt::format("  peer: {} ({})\n", x.peer, x.role == "initiator" ? "we connected" : "it connected");
    out += fmt::format("  state: {}, connected {} (since {})\n", x.state, human_duration(x.connected_seconds),
                       utc_time(x.connected_since));
    out += fmt::format("  last received: {} ago, last sent: {} ago\n", human_duration(x.last_rx_seconds),
                       human_duration(x.last_tx_seconds));
    out += fmt::format("  transfer: {} received ({} packets), {} sent ({} packets)\n", human_bytes(x.rx_bytes),
                       x.rx_packets, human_bytes(x.tx_bytes), x.tx_packets);
    out += fmt::format("  drops: {}\n", x.drops);
  }
  auto block = [&](const std::string& title, const std::vector<std::pair<std::string, std::uint64_t>>& kv) {
    if (kv.empty()) return;
    out += "\n" + title + ":\n";
    for (const auto& [k, v] : kv) out += fmt::format("  {:<32} {}\n", k, v);
  };
  block("host", g.host);
  block("drops", g.drops);
  for (std::size_t i = 0; i < s.stages.size(); ++i)
    block(s.stages[i].table + " " + s.stages[i].plugin, g.stages[i]);
  block("other", g.other);
  return out;
}

std::string render_metrics(const StatusSnapshot& s) {
  const Grouped g = group_counters(s);
  Families f;
  f.add("vpnhost_info", "gauge", "vpnhost version (always 1)", "{version=\"" + label_value(s.version) + "\"}", "1");
  f.add("vpnhost_uptime_seconds", "gauge", "seconds since this host started", "", fixed3(s.uptime_seconds));
  std::size_t established = 0;
  for (const auto& x : s.sessions)
    if (x.state == "established") ++established;
  f.add("vpnhost_sessions", "gauge", "sessions open now (any state)", "", std::to_string(s.sessions.size()));
  f.add("vpnhost_sessions_established", "gauge", "sessions established now", "", std::to_string(established));
  for (const auto& [k, v] : g.host) {
    if (k == "sessions_active") continue;  // vpnhost_sessions
    f.add(counter_metric("vpnhost_host_" + metric_part(k)), "counter", help_text("host counter host." + k), "",
          std::to_string(v));
  }
  for (const auto& [k, v] : g.drops)
    f.add("vpnhost_drops_total", "counter", "packets or frames dropped, by reason",
          "{reason=\"" + label_value(k) + "\"}", std::to_string(v));
  for (std::size_t i = 0; i < s.stages.size(); ++i) {
    const StageSnapshot& st = s.stages[i];
    const std::string plugin = "plugin=\"" + label_value(st.plugin) + "\"";
    // "KIND.VALUE.NAME" (e.g. cipher_noise's client.alice.handshakes): one
    // family vpnhost_<stage>_KIND_NAME_total with the label KIND="VALUE".
    // Such values come from configuration (authorized_clients), not from
    // traffic; still, beyond kMaxLabelValues per family the rest are summed
    // as KIND="_other".
    constexpr std::size_t kMaxLabelValues = 256;
    std::map<std::string, std::vector<std::pair<std::string, std::uint64_t>>> labelled;  // family -> (value, n)
    std::map<std::string, std::string> label_of, help_of;
    for (const auto& [k, v] : g.stages[i]) {
      const std::size_t first = k.find('.'), last = k.rfind('.');
      if (first == std::string::npos || first == last) {
        f.add(counter_metric("vpnhost_" + metric_part(st.stage) + "_" + metric_part(k)), "counter",
              help_text(st.stage + " counter " + k), "{" + plugin + "}", std::to_string(v));
        continue;
      }
      const std::string kind = k.substr(0, first), value = k.substr(first + 1, last - first - 1),
                        name = k.substr(last + 1);
      const std::string family = counter_metric("vpnhost_" + metric_part(st.stage) + "_" + metric_part(kind) + "_" +
                                                metric_part(name));
      std::string label = metric_part(kind);
      if (label.empty() || (label[0] >= '0' && label[0] <= '9')) label = "_" + label;
      if (label == "plugin") label = "plugin_" + label;
      label_of[family] = label;
      help_of[family] = help_text(st.stage + " counter " + kind + ".<" + kind + ">." + name);
      labelled[family].emplace_back(value, v);
    }
    for (auto& [family, values] : labelled) {
      std::uint64_t other = 0;
      const bool fold = values.size() > kMaxLabelValues;
      for (std::size_t n = 0; n < values.size(); ++n) {
        if (fold && n >= kMaxLabelValues - 1) {
          other += values[n].second;
          continue;
        }
        f.add(family, "counter", help_of[family],
              "{" + plugin + "," + label_of[family] + "=\"" + label_value(values[n].first) + "\"}",
              std::to_string(values[n].second));
      }
      if (fold)
        f.add(family, "counter", help_of[family], "{" + plugin + "," + label_of[family] + "=\"_other\"}",
              std::to_string(other));
    }
  }
  for (const auto& [k, v] : g.other)
    f.add("vpnhost_other_total", "counter", "counters of no stage in this manifest",
          "{counter=\"" + label_value(k) + "\"}", std::to_string(v));
  return f.render();
}

}  // namespace vpnhost
